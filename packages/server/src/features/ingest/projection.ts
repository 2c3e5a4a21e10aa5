import type { CartSnapshot, TrackedEvent } from '@winback/shared';
import { type Kysely, sql } from 'kysely';
import type { CartStatus, ConsentChannel, Database } from '../../db/schema.js';

/*
 * Projects newly stored events onto `carts` and `shoppers`, inside the transaction that stored
 * them. Only events inserted for the first time reach here, so a resent event is never applied
 * twice.
 *
 * Convergence: every merge compares browser event times (ties broken by event id), never arrival
 * order, so any permutation or repetition of the same events gives the same rows:
 * - the snapshot (lines, value, line count, currency) is that of the latest `cart_updated`
 *   by (ts, id); `snapshot_ts`/`snapshot_event_id` remember which one it is;
 * - `checkout_at` is the latest checkout activity; the cart is in checkout while that is not
 *   older than its snapshot (a later edit of the cart brings it back to `active`/`emptied`);
 * - `converted_at` is the earliest `order_completed`; once set the status is `converted`, and
 *   `converted`/`recovered` are never left (the snapshot keeps following the latest event);
 * - `last_activity_at` is the latest event time; session and shopper follow that latest event;
 * - `device`/`utm` come from the earliest page view of the cart that carries them (first touch);
 * - `abandoned` (set by the abandonment worker) is left only for activity newer than the cart's.
 * Shoppers: consent flags follow the latest consent decision by time (`consent_updated_at`); an
 * older decision arriving late is logged in `consent_log` but does not overwrite the flags.
 */

type Trx = Kysely<Database>;

/** What one frame's events say about one cart, folded in time order. */
export interface CartFold {
  externalId: string;
  /** Latest event of the cart: its time, session and browser. */
  lastActivityTs: number;
  lastEventId: string;
  sessionId: string;
  anonymousId: string;
  snapshot?: { ts: number; eventId: string; cart: CartSnapshot };
  checkoutTs?: number;
  convertedTs?: number;
  context?: { ts: number; device: string | null; utm: Record<string, string> | null };
}

/** What one frame's events say about one shopper (browser). */
export interface ShopperFold {
  anonymousId: string;
  /** Latest consent decision time of the frame and the flags as they stand after it. */
  consentTs?: number;
  emailConsent?: boolean;
  smsConsent?: boolean;
  textVersion?: string;
  /** Addresses given with consent for their channel, latest first wins. */
  email?: string;
  phone?: string;
  /** One row per channel decision, in time order. */
  consentLog: { channel: ConsentChannel; granted: boolean; source: string; textVersion: string }[];
}

/** Time order, then id: the one order every node and every retry agrees on. */
export function byTime(a: TrackedEvent, b: TrackedEvent): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Groups the events that name a cart by cart and folds each group, in cart id order. */
export function foldCarts(events: readonly TrackedEvent[]): CartFold[] {
  const carts = new Map<string, CartFold>();
  for (const event of [...events].sort(byTime)) {
    if (event.cartId === undefined) continue;
    let cart = carts.get(event.cartId);
    if (!cart) {
      cart = {
        externalId: event.cartId,
        lastActivityTs: event.ts,
        lastEventId: event.id,
        sessionId: event.sessionId,
        anonymousId: event.anonymousId,
      };
      carts.set(event.cartId, cart);
    }
    // Sorted by (ts, id), so each event is the latest so far.
    cart.lastActivityTs = event.ts;
    cart.lastEventId = event.id;
    cart.sessionId = event.sessionId;
    cart.anonymousId = event.anonymousId;
    switch (event.type) {
      case 'cart_updated':
        cart.snapshot = { ts: event.ts, eventId: event.id, cart: event.cart };
        break;
      case 'checkout_started':
      case 'checkout_step':
        cart.checkoutTs = event.ts;
        break;
      case 'order_completed':
        cart.convertedTs ??= event.ts;
        break;
      case 'page_view': {
        const device = event.device?.type ?? null;
        const utm =
          event.page.utm && Object.keys(event.page.utm).length > 0 ? event.page.utm : null;
        if (cart.context === undefined && (device !== null || utm !== null)) {
          cart.context = { ts: event.ts, device, utm: utm as Record<string, string> | null };
        }
        break;
      }
      default:
        break;
    }
  }
  return [...carts.values()].sort((a, b) => compareText(a.externalId, b.externalId));
}

/** Groups events by browser and folds consent and identity, in anonymous id order. */
export function foldShoppers(events: readonly TrackedEvent[]): ShopperFold[] {
  const shoppers = new Map<string, ShopperFold>();
  for (const event of [...events].sort(byTime)) {
    let shopper = shoppers.get(event.anonymousId);
    if (!shopper) {
      shopper = { anonymousId: event.anonymousId, consentLog: [] };
      shoppers.set(event.anonymousId, shopper);
    }
    if (event.type !== 'identify' && event.type !== 'consent_changed') continue;
    const { consent } = event;
    const source = event.type === 'identify' ? 'identify' : event.source;
    shopper.consentTs = event.ts;
    shopper.textVersion = consent.textVersion;
    if (consent.email !== undefined) shopper.emailConsent = consent.email;
    if (consent.sms !== undefined) shopper.smsConsent = consent.sms;
    for (const channel of ['email', 'sms', 'push'] as const) {
      const granted = consent[channel];
      if (granted !== undefined) {
        shopper.consentLog.push({ channel, granted, source, textVersion: consent.textVersion });
      }
    }
    // An address is kept only when this very event grants its channel.
    if (event.type === 'identify') {
      if (event.email !== undefined && consent.email === true) shopper.email = event.email;
      if (event.phone !== undefined && consent.sms === true) shopper.phone = event.phone;
    }
  }
  return [...shoppers.values()].sort((a, b) => compareText(a.anonymousId, b.anonymousId));
}

/** A new cart's status from what its first events said (the update path does this in SQL). */
export function initialStatus(cart: CartFold): CartStatus {
  if (cart.convertedTs !== undefined) return 'converted';
  if (cart.checkoutTs !== undefined && (!cart.snapshot || cart.checkoutTs >= cart.snapshot.ts)) {
    return 'checkout';
  }
  if (cart.snapshot && cart.snapshot.cart.lines.length === 0) return 'emptied';
  return 'active';
}

/**
 * Applies newly stored events to carts and shoppers. Rows are written in key order (shoppers,
 * then carts) so concurrent transactions lock them in the same order.
 */
export async function projectEvents(
  trx: Trx,
  storeId: string,
  events: readonly TrackedEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const shopperIds = new Map<string, string>();
  for (const shopper of foldShoppers(events)) {
    shopperIds.set(shopper.anonymousId, await upsertShopper(trx, storeId, shopper));
  }
  for (const cart of foldCarts(events)) {
    await upsertCart(trx, storeId, cart, shopperIds.get(cart.anonymousId) ?? null);
  }
}

/**
 * Creates or updates one shopper and appends its consent decisions; returns the shopper's id.
 *
 * Withdrawing email consent keeps the address and sets `email_consent` false: every send checks
 * the flag, and the address is still needed to honour the withdrawal (suppression, erasure on
 * request) and to make the consent history readable. Erasure is the compliance feature's job.
 */
export async function upsertShopper(
  trx: Trx,
  storeId: string,
  shopper: ShopperFold,
): Promise<string> {
  const consentTs = shopper.consentTs === undefined ? null : iso(shopper.consentTs);
  // "newer" is true when this frame's latest decision is later than the stored one.
  const newer = sql`(excluded.consent_updated_at is not null and (shoppers.consent_updated_at is null or excluded.consent_updated_at > shoppers.consent_updated_at))`;
  const { rows } = await sql<{ id: string }>`
    insert into shoppers
      (store_id, anonymous_id, email, phone, email_consent, sms_consent, consent_text_version,
       consent_updated_at)
    values (
      ${storeId}::uuid, ${shopper.anonymousId}, ${shopper.email ?? null}, ${shopper.phone ?? null},
      ${shopper.emailConsent ?? false}, ${shopper.smsConsent ?? false},
      ${shopper.textVersion ?? null}, ${consentTs}::timestamptz
    )
    on conflict (store_id, anonymous_id) do update set
      email = case when excluded.email is not null and (${newer} or shoppers.email is null)
        then excluded.email else shoppers.email end,
      phone = case when excluded.phone is not null and (${newer} or shoppers.phone is null)
        then excluded.phone else shoppers.phone end,
      email_consent = case when ${newer} and ${shopper.emailConsent !== undefined}
        then excluded.email_consent else shoppers.email_consent end,
      sms_consent = case when ${newer} and ${shopper.smsConsent !== undefined}
        then excluded.sms_consent else shoppers.sms_consent end,
      consent_text_version = case when ${newer}
        then excluded.consent_text_version else shoppers.consent_text_version end,
      consent_updated_at = greatest(shoppers.consent_updated_at, excluded.consent_updated_at),
      updated_at = now()
    returning id
  `.execute(trx);
  const id = rows[0]?.id;
  if (id === undefined) throw new Error('shopper upsert returned no row');
  if (shopper.consentLog.length > 0) {
    await trx
      .insertInto('consent_log')
      .values(
        shopper.consentLog.map((entry) => ({
          store_id: storeId,
          shopper_id: id,
          channel: entry.channel,
          granted: entry.granted,
          source: entry.source,
          text_version: entry.textVersion,
        })),
      )
      .execute();
  }
  return id;
}

/** Creates or merges one cart; every rule compares event times (see the top of this file). */
export async function upsertCart(
  trx: Trx,
  storeId: string,
  cart: CartFold,
  shopperId: string | null,
): Promise<void> {
  const snapshot = cart.snapshot;
  const context = cart.context;
  // Merged values, as the update sees them.
  const snapshotWins = sql`(excluded.snapshot_ts is not null and (carts.snapshot_ts is null or (excluded.snapshot_ts, excluded.snapshot_event_id) > (carts.snapshot_ts, carts.snapshot_event_id)))`;
  const snapshotTs = sql`greatest(carts.snapshot_ts, excluded.snapshot_ts)`;
  const lineCount = sql`(case when ${snapshotWins} then excluded.line_count else carts.line_count end)`;
  const checkoutAt = sql`greatest(carts.checkout_at, excluded.checkout_at)`;
  const convertedAt = sql`least(carts.converted_at, excluded.converted_at)`;
  const newerActivity = sql`(excluded.last_activity_at >= carts.last_activity_at)`;
  const contextWins = sql`(excluded.context_ts is not null and (carts.context_ts is null or excluded.context_ts < carts.context_ts))`;
  await sql`
    insert into carts
      (store_id, external_id, shopper_id, session_id, status, snapshot, currency, value_minor,
       line_count, last_activity_at, converted_at, device, utm, snapshot_ts, snapshot_event_id,
       checkout_at, context_ts)
    values (
      ${storeId}::uuid, ${cart.externalId}, ${shopperId}::uuid, ${cart.sessionId},
      ${initialStatus(cart)},
      ${snapshot ? JSON.stringify(snapshot.cart) : '{}'}::jsonb,
      ${snapshot?.cart.currency ?? null},
      ${snapshot?.cart.subtotal ?? 0},
      ${snapshot?.cart.lines.length ?? 0},
      ${iso(cart.lastActivityTs)}::timestamptz,
      ${cart.convertedTs === undefined ? null : iso(cart.convertedTs)}::timestamptz,
      ${context?.device ?? null},
      ${context?.utm ? JSON.stringify(context.utm) : null}::jsonb,
      ${snapshot ? iso(snapshot.ts) : null}::timestamptz,
      ${snapshot?.eventId ?? null},
      ${cart.checkoutTs === undefined ? null : iso(cart.checkoutTs)}::timestamptz,
      ${context ? iso(context.ts) : null}::timestamptz
    )
    on conflict (store_id, external_id) do update set
      status = case
        when carts.status in ('converted', 'recovered') then carts.status
        when ${convertedAt} is not null then 'converted'
        when carts.status = 'abandoned' and excluded.last_activity_at <= carts.last_activity_at
          then 'abandoned'
        when ${checkoutAt} is not null and (${snapshotTs} is null or ${checkoutAt} >= ${snapshotTs})
          then 'checkout'
        when ${snapshotTs} is not null and ${lineCount} = 0 then 'emptied'
        else 'active'
      end,
      snapshot = case when ${snapshotWins} then excluded.snapshot else carts.snapshot end,
      currency = case when ${snapshotWins} then excluded.currency else carts.currency end,
      value_minor = case when ${snapshotWins} then excluded.value_minor else carts.value_minor end,
      line_count = ${lineCount},
      snapshot_event_id = case when ${snapshotWins}
        then excluded.snapshot_event_id else carts.snapshot_event_id end,
      snapshot_ts = ${snapshotTs},
      checkout_at = ${checkoutAt},
      converted_at = ${convertedAt},
      device = case when ${contextWins} then excluded.device else carts.device end,
      utm = case when ${contextWins} then excluded.utm else carts.utm end,
      context_ts = least(carts.context_ts, excluded.context_ts),
      session_id = case when ${newerActivity} then excluded.session_id else carts.session_id end,
      shopper_id = case when ${newerActivity} and excluded.shopper_id is not null
        then excluded.shopper_id else coalesce(carts.shopper_id, excluded.shopper_id) end,
      last_activity_at = greatest(carts.last_activity_at, excluded.last_activity_at),
      updated_at = now()
  `.execute(trx);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
