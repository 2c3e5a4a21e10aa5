import type { CartSnapshot, TrackedEvent } from '@winback/shared';
import type { CartStatus, ConsentChannel } from '../../db/schema.js';
import { lockForTransaction, sendLockKey } from '../../db/send-locks.js';
import {
  type Device,
  type ExitSignalKind,
  type ScoreFeatures,
  score,
  type TrafficSource,
} from '../../domain/score.js';
import { settlePurchase, stopShopperSequences } from '../carts/purchase.js';
import { returningShopperSql } from '../carts/returning.js';
import { readStoreSettings, type StoreSettings } from '../stores/settings.js';
import type { IngestSession } from './session.js';

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
 *
 * Score counters (`edits`, `removals`, `page_views`, `product_views`, `checkout_steps`, `exit_*`)
 * are sums over events, so they converge too: each new event adds its count once; `first_seen_at`
 * is the earliest event time. After the carts are merged, every touched cart is scored from its
 * merged row (see `cartFeatures`) and `carts.score` is written in the same transaction.
 */

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
  /** The earliest `order_completed` of the cart in this frame. */
  order?: { ts: number; id: string; valueMinor: number; currency: string };
  context?: { ts: number; device: string | null; utm: Record<string, string> | null };
  /** Earliest event time of the cart in this frame. */
  firstTs: number;
  /** What this frame's events add to the cart's score counters. */
  counts: CartCounts;
}

/** Score counters one frame adds to a cart; the names are the `carts` columns. */
export interface CartCounts {
  edits: number;
  removals: number;
  page_views: number;
  product_views: number;
  checkout_steps: number;
  exit_mouse_top: number;
  exit_scroll_up: number;
  exit_tab_hidden: number;
  exit_idle: number;
  exit_back: number;
}

/** The counter each exit signal adds to. */
export const exitColumns: Record<ExitSignalKind, keyof CartCounts> = {
  mouse_top: 'exit_mouse_top',
  scroll_up: 'exit_scroll_up',
  tab_hidden: 'exit_tab_hidden',
  idle: 'exit_idle',
  back: 'exit_back',
};

const counterColumns = [
  'edits',
  'removals',
  'page_views',
  'product_views',
  'checkout_steps',
  'exit_mouse_top',
  'exit_scroll_up',
  'exit_tab_hidden',
  'exit_idle',
  'exit_back',
] as const satisfies readonly (keyof CartCounts)[];

/** A cart's score counters before any event. */
export function noCounts(): CartCounts {
  return {
    edits: 0,
    removals: 0,
    page_views: 0,
    product_views: 0,
    checkout_steps: 0,
    exit_mouse_top: 0,
    exit_scroll_up: 0,
    exit_tab_hidden: 0,
    exit_idle: 0,
    exit_back: 0,
  };
}

const productPath = /\/(products?|p)\//i;

/** Whether a page URL's path looks like a product page: /products/…, /product/… or /p/…. */
export function isProductUrl(url: string): boolean {
  try {
    return productPath.test(new URL(url).pathname);
  } catch {
    return false;
  }
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
  /** Given with an `identify` that grants consent for some channel. */
  firstName?: string;
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
        firstTs: event.ts,
        counts: noCounts(),
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
        for (const change of event.changes ?? []) {
          if (change.kind === 'remove') cart.counts.removals += 1;
          else cart.counts.edits += 1;
        }
        break;
      case 'checkout_started':
        cart.checkoutTs = event.ts;
        break;
      case 'checkout_step':
        cart.checkoutTs = event.ts;
        cart.counts.checkout_steps += 1;
        break;
      case 'exit_intent':
        cart.counts[exitColumns[event.signal]] += 1;
        break;
      case 'order_completed':
        cart.convertedTs ??= event.ts;
        cart.order ??= {
          ts: event.ts,
          id: event.orderId,
          valueMinor: event.value,
          currency: event.currency,
        };
        break;
      case 'page_view': {
        cart.counts.page_views += 1;
        if (isProductUrl(event.page.url)) cart.counts.product_views += 1;
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
      if (event.firstName !== undefined && (consent.email === true || consent.sms === true)) {
        shopper.firstName = event.firstName;
      }
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
 * The send locks a batch must hold before it may record a purchase: the cart and the browser
 * of each `order_completed` (see `db/send-locks.ts`). Empty without purchases.
 */
export function purchaseLockKeys(storeId: string, events: readonly TrackedEvent[]): string[] {
  return events.flatMap((event) =>
    event.type !== 'order_completed'
      ? []
      : [
          sendLockKey(storeId, 'browser', event.anonymousId),
          ...(event.cartId === undefined ? [] : [sendLockKey(storeId, 'cart', event.cartId)]),
        ],
  );
}

/** A cart a batch touched, as it stands after the batch (before COMMIT). */
export interface ProjectedCart {
  id: string;
  externalId: string;
  status: CartStatus;
  score: number;
  valueMinor: number;
  lineCount: number;
  /** When the cart counts as abandoned unless more activity comes; null when it cannot be. */
  idleDueAt: Date | null;
  /** Whether this batch carried the cart's purchase. */
  purchased: boolean;
  /** Whether the cart was abandoned before this batch and its activity made it live again. */
  reopened: boolean;
}

/**
 * Applies newly stored events to carts and shoppers and returns the carts touched. Rows are
 * written in key order (shoppers, then carts) so concurrent transactions lock them in the same
 * order. A batch that carries a purchase first takes the send locks of its carts and browsers
 * (`purchaseLockKeys`; a caller that took them already says `locksHeld`), then settles each
 * purchase (`settlePurchase`): attribution, and no step of the buyer's sequence is sent any more.
 *
 * Statements: one for the shoppers (plus one when consent decisions are logged), one for the
 * carts, one for their scores and timers; `settings` (the store's settings document as JSON
 * text, read by the caller in one of its own statements) saves one more.
 */
export async function projectEvents(
  session: IngestSession,
  storeId: string,
  events: readonly TrackedEvent[],
  options: { locksHeld?: boolean; settings?: string | undefined } = {},
): Promise<ProjectedCart[]> {
  if (events.length === 0) return [];
  const purchases = events.filter((event) => event.type === 'order_completed');
  const trx = session.kysely;
  if (!options.locksHeld) await lockForTransaction(trx, purchaseLockKeys(storeId, events));
  const shopperIds = await upsertShoppers(session, storeId, foldShoppers(events));
  // A purchase that names no cart still ends the buyer's sequences.
  for (const event of purchases) {
    const shopperId = shopperIds.get(event.anonymousId);
    if (event.cartId === undefined && shopperId) {
      await stopShopperSequences(trx, storeId, shopperId);
    }
  }
  const carts = foldCarts(events);
  if (carts.length === 0) return [];
  const settings = settingsOf(options.settings ?? (await storeSettingsText(session, storeId)));
  const ids: string[] = [];
  const scores: number[] = [];
  const rows = await upsertCarts(
    session,
    storeId,
    carts,
    shopperIds,
    settings.idleThresholdMinutes,
  );
  for (const row of rows) {
    ids.push(row.id);
    scores.push(score(cartFeatures(row, settings.timezone)));
  }
  const inline = scoreCartsInline(ids, scores);
  if (inline) session.atCommit(inline);
  else await session.query('ingest_cart_scores', scoreCarts, [ids, scores]);
  const projected: ProjectedCart[] = [];
  for (const [index, cart] of carts.entries()) {
    const row = rows[index] as ScoredCartRow;
    let status = row.status;
    if (cart.order) {
      status = await settlePurchase(trx, storeId, row.id, settings);
    }
    projected.push({
      id: row.id,
      externalId: cart.externalId,
      status,
      score: scores[index] as number,
      valueMinor: row.value_minor,
      lineCount: row.line_count,
      idleDueAt: row.idle_due_at,
      purchased: cart.order !== undefined,
      reopened: row.was_abandoned === true && (status === 'active' || status === 'checkout'),
    });
  }
  return projected;
}

// One statement for the batch's carts; their rows are already locked by the upsert before it.
// It sets only `score`, which no index covers, so Postgres can update the rows in place (HOT)
// rather than touch every index of `carts` a second time.
const scoreCarts = `
  update carts set score = scored.score
  from unnest($1::uuid[], $2::real[]) as scored(id, score)
  where carts.id = scored.id`;

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The same update as text without parameters, so it can ride with COMMIT and save a round trip.
 * Only cart ids Postgres returned (uuids, checked) and finite numbers are written into it;
 * anything else gets undefined, and the statement with parameters is used instead.
 */
function scoreCartsInline(ids: readonly string[], scores: readonly number[]): string | undefined {
  const rows: string[] = [];
  for (const [index, id] of ids.entries()) {
    const value = scores[index];
    if (!uuid.test(id) || typeof value !== 'number' || !Number.isFinite(value)) return undefined;
    rows.push(`('${id}'::uuid, ${value}::real)`);
  }
  return `update carts set score = scored.score
    from (values ${rows.join(', ')}) as scored (id, score)
    where carts.id = scored.id`;
}

/** A cart as merged by `upsertCart`: what the score needs. */
export interface ScoredCartRow extends CartCounts {
  id: string;
  /** When the cart counts as abandoned unless more activity comes; null when it cannot. */
  idle_due_at: Date | null;
  status: CartStatus;
  value_minor: number;
  line_count: number;
  checkout_at: Date | null;
  last_activity_at: Date;
  device: string | null;
  utm: Record<string, string> | null;
  returning_shopper: boolean;
  /** The status before this statement was `abandoned` (null for a new cart). */
  was_abandoned?: boolean | null;
}

/**
 * Placeholder reference value for `valueBand` until per-store median cart values exist: 50.00 in
 * the cart's own currency (5000 minor units), so a 100.00 cart has band +1.
 */
export const referenceValueMinor = 5000;

/**
 * The score features of a cart as it stands right after a batch:
 * - `idleSeconds` is 0: the cart has just had activity;
 * - `valueBand` is log2(value / `referenceValueMinor`);
 * - `checkoutReached` when the cart is in checkout or any checkout activity was seen;
 * - `returningShopper` when the same shopper has another cart from another session first seen
 *   earlier (cheap, from `carts` alone; a previous visit whose events arrive after this cart's
 *   counts from this cart's next batch);
 * - `device` from the first page view that gave one, `source` from its UTM (`trafficSource`);
 * - `tabHidden` is false: whether the tab is hidden right now is not derivable from stored events;
 * - `localHour` is the hour of the cart's latest activity in the store's time zone.
 */
export function cartFeatures(row: ScoredCartRow, timeZone: string): ScoreFeatures {
  return {
    idleSeconds: 0,
    cartValueMinor: row.value_minor,
    valueBand: Math.log2(row.value_minor / referenceValueMinor),
    lineCount: row.line_count,
    edits: row.edits,
    removals: row.removals,
    checkoutReached: row.status === 'checkout' || row.checkout_at !== null,
    checkoutStepsSeen: row.checkout_steps,
    pageViews: row.page_views,
    productViews: row.product_views,
    returningShopper: row.returning_shopper,
    device: toDevice(row.device),
    source: trafficSource(row.utm),
    exitSignals: {
      mouse_top: row.exit_mouse_top,
      scroll_up: row.exit_scroll_up,
      tab_hidden: row.exit_tab_hidden,
      idle: row.exit_idle,
      back: row.exit_back,
    },
    tabHidden: false,
    localHour: localHour(row.last_activity_at, timeZone),
  };
}

function toDevice(device: string | null): Device {
  return device === 'desktop' || device === 'mobile' || device === 'tablet' ? device : 'unknown';
}

const emailWords = new Set(['email', 'e-mail', 'newsletter']);
const paidMedia = new Set(['cpc', 'ppc', 'paid', 'paidsearch', 'paid_search', 'cpm', 'display']);
const socialSources = new Set([
  'facebook',
  'fb',
  'instagram',
  'ig',
  'tiktok',
  'twitter',
  'x',
  'pinterest',
  'linkedin',
  'youtube',
  'snapchat',
  'reddit',
]);
const searchEngines = new Set([
  'google',
  'bing',
  'duckduckgo',
  'yahoo',
  'ecosia',
  'baidu',
  'yandex',
]);

/**
 * Traffic source from the first-touch UTM: email/newsletter → email; cpc/ppc/paid/display → paid;
 * social networks (or medium social) → social; search engines (organic) → search; medium referral
 * → referral; no UTM at all → direct; any other UTM → unknown.
 */
export function trafficSource(utm: Record<string, string> | null): TrafficSource {
  if (!utm) return 'direct';
  const source = (utm.source ?? '').trim().toLowerCase();
  const medium = (utm.medium ?? '').trim().toLowerCase();
  if (source === '' && medium === '') return 'direct';
  if (emailWords.has(medium) || emailWords.has(source)) return 'email';
  if (paidMedia.has(medium)) return 'paid';
  if (socialSources.has(source) || medium === 'social') return 'social';
  if (searchEngines.has(source)) return 'search';
  if (medium === 'referral') return 'referral';
  return 'unknown';
}

const hourFormats = new Map<string, Intl.DateTimeFormat>();

/** Hour 0–23 of `at` in `timeZone`; UTC when the zone is not one the runtime knows. */
export function localHour(at: Date, timeZone: string): number {
  let format = hourFormats.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' });
    } catch {
      return at.getUTCHours();
    }
    if (hourFormats.size < 1000) hourFormats.set(timeZone, format);
  }
  const hour = Number(format.formatToParts(at).find((part) => part.type === 'hour')?.value);
  return Number.isInteger(hour) ? hour % 24 : at.getUTCHours();
}

async function storeSettingsText(session: IngestSession, storeId: string): Promise<string> {
  const rows = await session.query<{ settings: string }>(
    'ingest_store_settings',
    'select settings::text as settings from stores where id = $1::uuid',
    [storeId],
  );
  return rows[0]?.settings ?? 'null';
}

// Stores change their settings rarely, and every flush reads them: the parsed document is kept
// by its text, so an edit is seen at once (the text is read in the same transaction).
const parsedSettings = new Map<string, StoreSettings>();

function settingsOf(text: string): StoreSettings {
  let settings = parsedSettings.get(text);
  if (!settings) {
    settings = readStoreSettings(JSON.parse(text));
    if (parsedSettings.size >= 1_000) parsedSettings.clear();
    parsedSettings.set(text, settings);
  }
  return settings;
}

// How a batch's consent decision merges into a stored shopper (`s`) from its fold (`v`).
// "newer" is true when this batch's latest decision is later than the stored one. A null
// consent flag means the batch made no decision for that channel.
const newerDecision = `(v.consent_ts is not null and (s.consent_updated_at is null or v.consent_ts > s.consent_updated_at))`;
const shopperMerge = `
  email = case when v.email is not null and (${newerDecision} or s.email is null)
    then v.email else s.email end,
  phone = case when v.phone is not null and (${newerDecision} or s.phone is null)
    then v.phone else s.phone end,
  first_name = case when v.first_name is not null and (${newerDecision} or s.first_name is null)
    then v.first_name else s.first_name end,
  email_consent = case when ${newerDecision} and v.email_consent is not null
    then v.email_consent else s.email_consent end,
  sms_consent = case when ${newerDecision} and v.sms_consent is not null
    then v.sms_consent else s.sms_consent end,
  consent_text_version = case when ${newerDecision}
    then v.text_version else s.consent_text_version end,
  consent_updated_at = greatest(s.consent_updated_at, v.consent_ts),
  updated_at = now()`;
const shopperFolds = `unnest(
    $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::boolean[], $8::text[],
    $9::timestamptz[]
  ) as v (anonymous_id, email, phone, first_name, email_consent, sms_consent, text_version,
    consent_ts)`;

// In one statement: lock the stored shoppers in anonymous id order, merge them, insert the new
// ones (in the same order), and return every id. The main query reads `merged` to its end
// before `created`, and `merged` reads all of `locked`, so every stored row is locked before
// any insert is tried: the order the separate statements used to give.
const upsertShoppersStatement = `
  with v as (select * from ${shopperFolds}),
  locked as (
    select s.id, s.anonymous_id from shoppers s
    where s.store_id = $1::uuid and s.anonymous_id = any($2::text[])
    order by s.anonymous_id
    for update
  ),
  merged as (
    update shoppers s set ${shopperMerge}
    from locked join v on v.anonymous_id = locked.anonymous_id
    where s.id = locked.id
    returning s.id, s.anonymous_id
  ),
  created as (
    insert into shoppers
      (store_id, anonymous_id, email, phone, first_name, email_consent, sms_consent,
       consent_text_version, consent_updated_at)
    select $1::uuid, v.anonymous_id, v.email, v.phone, v.first_name,
      coalesce(v.email_consent, false), coalesce(v.sms_consent, false), v.text_version,
      v.consent_ts
    from v
    where not exists (select 1 from locked where locked.anonymous_id = v.anonymous_id)
    order by v.anonymous_id
    on conflict (store_id, anonymous_id) do nothing
    returning id, anonymous_id
  )
  select id, anonymous_id from merged
  union all
  select id, anonymous_id from created`;

// For shoppers a concurrent batch created after this one's snapshot: lock, then merge.
const lockShoppers = `
  select id, anonymous_id from shoppers
  where store_id = $1::uuid and anonymous_id = any($2::text[])
  order by anonymous_id
  for update`;
const mergeShoppers = `
  update shoppers s set ${shopperMerge}
  from unnest(
    $2::uuid[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::boolean[], $8::text[],
    $9::timestamptz[]
  ) as v (id, email, phone, first_name, email_consent, sms_consent, text_version, consent_ts)
  where s.id = v.id and s.store_id = $1::uuid`;

const insertConsentLog = `
  insert into consent_log (store_id, shopper_id, channel, granted, source, text_version)
  select $1::uuid, v.shopper_id, v.channel, v.granted, v.source, v.text_version
  from unnest($2::uuid[], $3::text[], $4::boolean[], $5::text[], $6::text[])
    as v (shopper_id, channel, granted, source, text_version)`;

function shopperColumns(shoppers: readonly ShopperFold[]) {
  return [
    shoppers.map((s) => s.anonymousId),
    shoppers.map((s) => s.email ?? null),
    shoppers.map((s) => s.phone ?? null),
    shoppers.map((s) => s.firstName ?? null),
    shoppers.map((s) => s.emailConsent ?? null),
    shoppers.map((s) => s.smsConsent ?? null),
    shoppers.map((s) => s.textVersion ?? null),
    shoppers.map((s) => (s.consentTs === undefined ? null : iso(s.consentTs))),
  ];
}

/**
 * Creates or updates the batch's shoppers and appends their consent decisions, in one statement
 * whatever the batch size (two when there are decisions to log); returns each browser's shopper
 * id.
 *
 * Existing rows are locked first, in anonymous id order, so concurrent batches wait for each
 * other instead of deadlocking; new ones are inserted; every existing one is merged.
 *
 * Withdrawing email consent keeps the address and sets `email_consent` false: every send checks
 * the flag, and the address is still needed to honour the withdrawal (suppression, erasure on
 * request) and to make the consent history readable. Erasure is the compliance feature's job.
 */
export async function upsertShoppers(
  session: IngestSession,
  storeId: string,
  shoppers: readonly ShopperFold[],
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  if (shoppers.length === 0) return ids;
  const rows = await session.query<{ id: string; anonymous_id: string }>(
    'ingest_shoppers',
    upsertShoppersStatement,
    [storeId, ...shopperColumns(shoppers)],
  );
  for (const row of rows) ids.set(row.anonymous_id, row.id);

  // A concurrent batch created some of them after this statement's snapshot: merged like
  // stored ones, once their rows are locked.
  const raced = shoppers.filter((shopper) => !ids.has(shopper.anonymousId));
  if (raced.length > 0) {
    const late = await session.query<{ id: string; anonymous_id: string }>(
      'ingest_shoppers_lock',
      lockShoppers,
      [storeId, raced.map((shopper) => shopper.anonymousId)],
    );
    for (const row of late) ids.set(row.anonymous_id, row.id);
    const byAnonymousId = new Map(raced.map((shopper) => [shopper.anonymousId, shopper]));
    const merging = late.map((row) => byAnonymousId.get(row.anonymous_id) as ShopperFold);
    await session.query('ingest_shoppers_merge', mergeShoppers, [
      storeId,
      late.map((row) => row.id),
      ...shopperColumns(merging).slice(1),
    ]);
  }

  const log = shoppers.flatMap((shopper) =>
    shopper.consentLog.map((entry) => ({ shopperId: ids.get(shopper.anonymousId), ...entry })),
  );
  if (log.length > 0) {
    await session.query('ingest_consent_log', insertConsentLog, [
      storeId,
      log.map((entry) => entry.shopperId),
      log.map((entry) => entry.channel),
      log.map((entry) => entry.granted),
      log.map((entry) => entry.source),
      log.map((entry) => entry.textVersion),
    ]);
  }
  return ids;
}

// Merged values, as the carts upsert's update sees them.
const snapshotWins = `(excluded.snapshot_ts is not null and (carts.snapshot_ts is null or (excluded.snapshot_ts, excluded.snapshot_event_id) > (carts.snapshot_ts, carts.snapshot_event_id)))`;
const snapshotTs = 'greatest(carts.snapshot_ts, excluded.snapshot_ts)';
const lineCount = `(case when ${snapshotWins} then excluded.line_count else carts.line_count end)`;
const checkoutAt = 'greatest(carts.checkout_at, excluded.checkout_at)';
const convertedAt = 'least(carts.converted_at, excluded.converted_at)';
// The cart's order is its earliest `order_completed` by (time, order id).
const orderWins = `(excluded.order_id is not null and (carts.order_id is null or (excluded.converted_at, excluded.order_id) < (carts.converted_at, carts.order_id)))`;
const newerActivity = '(excluded.last_activity_at >= carts.last_activity_at)';
const contextWins = `(excluded.context_ts is not null and (carts.context_ts is null or excluded.context_ts < carts.context_ts))`;
const counterList = counterColumns.join(', ');
const mergedStatus = `(case
      when carts.status in ('converted', 'recovered') then carts.status
      when ${convertedAt} is not null then 'converted'
      when carts.status = 'abandoned' and excluded.last_activity_at <= carts.last_activity_at
        then 'abandoned'
      when ${checkoutAt} is not null and (${snapshotTs} is null or ${checkoutAt} >= ${snapshotTs})
        then 'checkout'
      when ${snapshotTs} is not null and ${lineCount} = 0 then 'emptied'
      else 'active'
    end)`;
// A cart with lines that is not bought is due to count as abandoned after the idle threshold
// (the statement's last parameter) from its latest activity (browser time, never later than
// now, so a fast clock cannot postpone it); every other cart has no timer.
const idleDueAt = (status: string, lines: string, lastActivity: string) =>
  `(case when ${status} in ('active', 'checkout') and ${lines} > 0
      then least(${lastActivity}, now()) + make_interval(mins => $${cartValues.length + 2}::integer)
      else null end)`;
// Parameters: $1 the store, then one array per column of `v`, in its order.
const cartValues = [
  'external_id text',
  'shopper_id uuid',
  'session_id text',
  'status text',
  'snapshot text',
  'currency text',
  'value_minor bigint',
  'line_count integer',
  'last_activity_at timestamptz',
  'converted_at timestamptz',
  'device text',
  'utm text',
  'snapshot_ts timestamptz',
  'snapshot_event_id text',
  'checkout_at timestamptz',
  'context_ts timestamptz',
  'first_seen_at timestamptz',
  'order_id text',
  'order_value_minor bigint',
  'order_currency text',
  ...counterColumns.map((name) => `${name} integer`),
].map((column) => column.split(' ') as [string, string]);

const upsertCartsStatement = `
  insert into carts
    (store_id, external_id, shopper_id, session_id, status, snapshot, currency, value_minor,
     line_count, last_activity_at, converted_at, device, utm, snapshot_ts, snapshot_event_id,
     checkout_at, context_ts, first_seen_at, order_id, order_value_minor, order_currency,
     idle_due_at, ${counterList})
  select $1::uuid, v.external_id, v.shopper_id, v.session_id, v.status,
    v.snapshot::jsonb, v.currency, v.value_minor, v.line_count, v.last_activity_at,
    v.converted_at, v.device, v.utm::jsonb, v.snapshot_ts, v.snapshot_event_id, v.checkout_at,
    v.context_ts, v.first_seen_at, v.order_id, v.order_value_minor, v.order_currency,
    ${idleDueAt('v.status', 'v.line_count', 'v.last_activity_at')},
    ${counterColumns.map((c) => `v.${c}`).join(', ')}
  from unnest(${cartValues.map(([, type], i) => `$${i + 2}::${type}[]`).join(', ')})
    as v (${cartValues.map(([name]) => name).join(', ')})
  order by v.external_id
  on conflict (store_id, external_id) do update set
    status = ${mergedStatus},
    idle_due_at = ${idleDueAt(mergedStatus, lineCount, 'greatest(carts.last_activity_at, excluded.last_activity_at)')},
    snapshot = case when ${snapshotWins} then excluded.snapshot else carts.snapshot end,
    currency = case when ${snapshotWins} then excluded.currency else carts.currency end,
    value_minor = case when ${snapshotWins} then excluded.value_minor else carts.value_minor end,
    line_count = ${lineCount},
    snapshot_event_id = case when ${snapshotWins}
      then excluded.snapshot_event_id else carts.snapshot_event_id end,
    snapshot_ts = ${snapshotTs},
    checkout_at = ${checkoutAt},
    converted_at = ${convertedAt},
    order_id = case when ${orderWins} then excluded.order_id else carts.order_id end,
    order_value_minor = case when ${orderWins}
      then excluded.order_value_minor else carts.order_value_minor end,
    order_currency = case when ${orderWins}
      then excluded.order_currency else carts.order_currency end,
    device = case when ${contextWins} then excluded.device else carts.device end,
    utm = case when ${contextWins} then excluded.utm else carts.utm end,
    context_ts = least(carts.context_ts, excluded.context_ts),
    session_id = case when ${newerActivity} then excluded.session_id else carts.session_id end,
    shopper_id = case when ${newerActivity} and excluded.shopper_id is not null
      then excluded.shopper_id else coalesce(carts.shopper_id, excluded.shopper_id) end,
    last_activity_at = greatest(carts.last_activity_at, excluded.last_activity_at),
    first_seen_at = least(carts.first_seen_at, excluded.first_seen_at),
    ${counterColumns.map((c) => `${c} = carts.${c} + excluded.${c}`).join(',\n    ')},
    updated_at = now()
  returning id, external_id, status, value_minor, line_count, checkout_at, last_activity_at,
    idle_due_at, device, utm, ${counterList},
    ${returningShopperSql('carts')} as returning_shopper,
    -- A sub-select here reads the statement's snapshot: the row as it was before this upsert.
    (select before.status = 'abandoned' from carts before where before.id = carts.id)
      as was_abandoned`;

/**
 * Creates or merges the batch's carts in ONE statement (each cart appears once: `foldCarts`
 * groups by cart); every rule compares event times (see the top of this file). Rows are written
 * in external id order so concurrent batches lock them in the same order.
 */
export async function upsertCarts(
  session: IngestSession,
  storeId: string,
  carts: readonly CartFold[],
  shopperIds: ReadonlyMap<string, string>,
  idleThresholdMinutes: number,
): Promise<ScoredCartRow[]> {
  const column = <T>(pick: (cart: CartFold) => T) => carts.map(pick);
  const time = (ms: number | undefined) => (ms === undefined ? null : iso(ms));
  const rows = await session.query<ScoredCartRow & { external_id: string }>(
    'ingest_carts',
    upsertCartsStatement,
    [
      storeId,
      column((c) => c.externalId),
      column((c) => shopperIds.get(c.anonymousId) ?? null),
      column((c) => c.sessionId),
      column((c) => initialStatus(c)),
      column((c) => (c.snapshot ? JSON.stringify(c.snapshot.cart) : '{}')),
      column((c) => c.snapshot?.cart.currency ?? null),
      column((c) => c.snapshot?.cart.subtotal ?? 0),
      column((c) => c.snapshot?.cart.lines.length ?? 0),
      column((c) => iso(c.lastActivityTs)),
      column((c) => time(c.convertedTs)),
      column((c) => c.context?.device ?? null),
      column((c) => (c.context?.utm ? JSON.stringify(c.context.utm) : null)),
      column((c) => time(c.snapshot?.ts)),
      column((c) => c.snapshot?.eventId ?? null),
      column((c) => time(c.checkoutTs)),
      column((c) => time(c.context?.ts)),
      column((c) => iso(c.firstTs)),
      column((c) => c.order?.id ?? null),
      column((c) => c.order?.valueMinor ?? null),
      column((c) => c.order?.currency ?? null),
      ...counterColumns.map((name) => column((c) => c.counts[name])),
      idleThresholdMinutes,
    ],
  );
  // Back in the order of `carts`.
  const byExternalId = new Map(rows.map((row) => [row.external_id, row]));
  return carts.map((cart) => {
    const row = byExternalId.get(cart.externalId);
    if (!row) throw new Error('cart upsert returned no row');
    return row;
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
