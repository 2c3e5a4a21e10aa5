import { createHash } from 'node:crypto';
import type { CartSnapshot } from '@winback/shared';
import type { FastifyBaseLogger } from 'fastify';
import { type Kysely, sql } from 'kysely';
import type { Db } from '../../db/index.js';
import type { Database, MessageRow } from '../../db/schema.js';
import { lockSession, sendLockKey, unlockSession } from '../../db/send-locks.js';
import { campaignStep } from '../../domain/campaign.js';
import { frequencyCapAllows } from '../../domain/frequency.js';
import { isValidTimeZone, quietHoursEnd } from '../../domain/quiet-hours.js';
import type { JobQueue } from '../../queue/index.js';
import { type IssuedDiscount, issueBuiltinDiscount } from '../discounts/builtin.js';
import { readStoreSettings, type StoreSettings } from '../stores/settings.js';
import { ChannelError, type EmailChannel } from './email/channel.js';
import { defaultTemplates, type EmailTemplateSource, renderEmail } from './email/render.js';
import type { MessageLinks } from './links.js';
import { SEND_JOB, type SendPayload } from './schedule.js';

/*
 * The message worker: sends one ledger row at most once.
 *
 * 1. With the send locks of the row's cart and browser held on one connection (see
 *    db/send-locks.ts), a transaction re-checks everything that may have changed since the row
 *    was scheduled — purchase, opt-out, consent, suppression, the shopper being back on the
 *    site, quiet hours, the frequency cap — and either claims the row (`scheduled → sending`,
 *    committed) or marks it `suppressed` with the reason, or moves it later.
 * 2. Only a committed claim is rendered and sent; the row then records `sent` with the
 *    provider's id, or the error: transient errors go back to `scheduled` with a jittered
 *    backoff, permanent ones (SMTP 5xx) end in `failed`.
 * A worker killed after the claim leaves the row `sending`; it is never sent again (the
 * reconciler later marks it `failed`, outcome unknown). A purchase committed while a send is in
 * flight waits for it (the locks), so no mail leaves after a purchase has committed.
 */

export interface SendDeps {
  db: Db;
  queue: JobQueue;
  /** Null when no SMTP server is configured: email steps then fail with `email_not_configured`. */
  email: EmailChannel | null;
  links: MessageLinks;
  mailFrom: string;
  logger: FastifyBaseLogger;
  /** Runs in all for a transient error, the first included. Default 5. */
  maxAttempts?: number;
  now?: () => Date;
  random?: () => number;
}

export type SendOutcome =
  | { kind: 'skipped' }
  | { kind: 'rescheduled'; at: Date; reason: string }
  | { kind: 'suppressed'; cartId: string; reason: string }
  | { kind: 'sent'; cartId: string; providerId: string }
  | { kind: 'retry'; cartId: string; at: Date; error: string }
  | { kind: 'failed'; cartId: string; error: string };

/** Sends ledger row `messageId` if it is still due and allowed; arms any retry or postponement. */
export async function sendMessage(
  deps: SendDeps,
  storeId: string,
  messageId: string,
): Promise<SendOutcome> {
  const outcome = await deps.db.connection().execute(async (conn) => {
    const subject = await conn
      .selectFrom('messages as m')
      .innerJoin('carts as c', 'c.id', 'm.cart_id')
      .leftJoin('shoppers as s', 's.id', 'c.shopper_id')
      .select(['m.status', 'c.external_id', 's.anonymous_id'])
      .where('m.store_id', '=', storeId)
      .where('m.id', '=', messageId)
      .executeTakeFirst();
    if (subject?.status !== 'scheduled') return { kind: 'skipped' } as const;
    const keys = [sendLockKey(storeId, 'cart', subject.external_id)];
    if (subject.anonymous_id) keys.push(sendLockKey(storeId, 'browser', subject.anonymous_id));
    await lockSession(conn, keys);
    try {
      const claim = await conn
        .transaction()
        .execute((trx) => claimMessage(deps, trx, storeId, messageId));
      if (claim.kind !== 'claimed') return claim;
      return await deliver(deps, conn, claim);
    } finally {
      await unlockSession(conn, keys);
    }
  });
  if (outcome.kind === 'rescheduled' || outcome.kind === 'retry') {
    await deps.queue.schedule<SendPayload>(SEND_JOB, messageId, outcome.at, { storeId });
  }
  return outcome;
}

interface Claimed {
  kind: 'claimed';
  message: MessageRow;
  to: string;
  firstName: string | null;
  storeName: string;
  postalAddress: string;
  settings: StoreSettings;
  locale: string;
  snapshot: CartSnapshot | null;
  cart: { currency: string | null; valueMinor: number };
  discount: IssuedDiscount | null;
  template: EmailTemplateSource | null;
}

type Conn = Kysely<Database>;

async function claimMessage(
  deps: SendDeps,
  trx: Conn,
  storeId: string,
  messageId: string,
): Promise<Claimed | SendOutcome> {
  const now = deps.now?.() ?? new Date();
  const message = await trx
    .selectFrom('messages')
    .selectAll()
    .where('store_id', '=', storeId)
    .where('id', '=', messageId)
    .forUpdate()
    .executeTakeFirst();
  if (message?.status !== 'scheduled') return { kind: 'skipped' };
  if (message.scheduled_at > now) return reschedule(trx, message, message.scheduled_at, 'not_due');

  const cart = await trx
    .selectFrom('carts')
    .selectAll()
    .where('store_id', '=', storeId)
    .where('id', '=', message.cart_id)
    .executeTakeFirstOrThrow();
  const store = await trx
    .selectFrom('stores')
    .select(['name', 'postal_address', 'settings', 'revoked_at'])
    .where('id', '=', storeId)
    .executeTakeFirstOrThrow();
  const settings = readStoreSettings(store.settings);
  const shopper = cart.shopper_id
    ? await trx
        .selectFrom('shoppers')
        .selectAll()
        .where('store_id', '=', storeId)
        .where('id', '=', cart.shopper_id)
        .executeTakeFirst()
    : undefined;

  const suppress = (reason: string) => markSuppressed(trx, message, reason);
  if (store.revoked_at) return suppress('store_revoked');
  if (cart.status === 'converted' || cart.status === 'recovered') return suppress('purchased');
  const history = shopper
    ? await shopperHistory(trx, {
        storeId,
        cartId: cart.id,
        shopperId: shopper.id,
        email: shopper.email,
        since: cart.first_seen_at ?? cart.created_at,
      })
    : null;
  if (history?.bought) return suppress('purchased');
  if (cart.status === 'emptied') return suppress('cart_emptied');
  if (cart.status === 'active' || cart.status === 'checkout') {
    // The shopper is back on the site: wait until the cart is abandoned again.
    const later =
      cart.idle_due_at && cart.idle_due_at > now
        ? cart.idle_due_at
        : addMinutes(now, settings.idleThresholdMinutes);
    return reschedule(trx, message, later, 'shopper_active');
  }
  if (!shopper) return suppress('no_channel');
  if (shopper.opted_out_at) return suppress('opted_out');
  if (message.channel !== 'email') return suppress('channel_unavailable');
  if (!shopper.email || !shopper.email_consent) return suppress('no_consent');
  if (history?.suppressed) return suppress('suppressed_address');
  if (!store.postal_address) return suppress('no_postal_address');

  const timeZone =
    shopper.timezone && isValidTimeZone(shopper.timezone) ? shopper.timezone : settings.timezone;
  const quietUntil = quietHoursEnd(now, settings.quietHours, timeZone);
  if (quietUntil) return reschedule(trx, message, quietUntil, 'quiet_hours');

  if (
    !frequencyCapAllows({
      channel: 'email',
      now,
      capHours: settings.frequencyCapHours.email,
      lastSentAt: history?.lastEmailAt ?? null,
    })
  ) {
    return suppress('frequency_cap');
  }

  const step = campaignStep.safeParse(message.step_def);
  const snapshot = readSnapshot(cart.snapshot);
  const cartTotals = {
    currency: snapshot?.currency ?? cart.currency,
    valueMinor: snapshot?.subtotal ?? cart.value_minor,
  };
  let discount: IssuedDiscount | null = null;
  if (step.success && step.data.discount) {
    discount = message.discount_id
      ? await existingDiscount(trx, storeId, message.discount_id)
      : await issueBuiltinDiscount(trx, {
          storeId,
          cartId: cart.id,
          policy: step.data.discount,
          cart: { subtotalMinor: cartTotals.valueMinor, currency: cartTotals.currency },
          now,
        });
  }
  await trx
    .updateTable('messages')
    .set((eb) => ({
      status: 'sending',
      claimed_at: now,
      attempt: eb('attempt', '+', 1),
      discount_id: discount?.id ?? null,
      updated_at: now,
    }))
    .where('id', '=', message.id)
    .execute();
  return {
    kind: 'claimed',
    message: { ...message, attempt: message.attempt + 1 },
    to: shopper.email,
    firstName: shopper.first_name,
    storeName: store.name,
    postalAddress: store.postal_address,
    settings,
    locale: shopper.locale ?? settings.locale,
    snapshot,
    cart: cartTotals,
    discount,
    template: step.success ? await findTemplate(trx, storeId, step.data.template) : null,
  };
}

async function deliver(deps: SendDeps, conn: Conn, claim: Claimed): Promise<SendOutcome> {
  const { message } = claim;
  const now = deps.now?.() ?? new Date();
  const fail = async (error: string): Promise<SendOutcome> => {
    await conn
      .updateTable('messages')
      .set({ status: 'failed', error, updated_at: now })
      .where('id', '=', message.id)
      .execute();
    deps.logger.warn({ messageId: message.id, error }, 'recovery message failed');
    return { kind: 'failed', cartId: message.cart_id, error };
  };
  if (!deps.email) return fail('email_not_configured');
  if (!claim.template) return fail('template_missing');
  if (!claim.cart.currency) return fail('cart_without_currency');

  const links = {
    recovery: deps.links.url('recover', message.id, now),
    unsubscribe: deps.links.url('unsubscribe', message.id, now),
    openPixel: deps.links.url('open', message.id, now),
  };
  let rendered: Awaited<ReturnType<typeof renderEmail>>;
  try {
    rendered = await renderEmail(claim.template, {
      store: { name: claim.storeName, postalAddress: claim.postalAddress },
      shopper: { firstName: claim.firstName },
      cart: {
        currency: claim.cart.currency,
        subtotalMinor: claim.cart.valueMinor,
        lines: (claim.snapshot?.lines ?? []).map((line) => ({
          title: line.title,
          variant: line.variant ?? null,
          quantity: line.quantity,
          unitPriceMinor: line.unitPrice,
          imageUrl: line.imageUrl ?? null,
        })),
      },
      discount: claim.discount
        ? {
            code: claim.discount.code,
            kind: claim.discount.kind,
            value: claim.discount.value,
            expiresAt: claim.discount.expiresAt,
          }
        : null,
      links,
      locale: claim.locale,
    });
  } catch {
    return fail('template_error');
  }

  try {
    const { providerId } = await deps.email.send({
      to: claim.to,
      from: deps.mailFrom,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      unsubscribeUrl: links.unsubscribe,
      messageId: message.id,
    });
    const sentAt = deps.now?.() ?? new Date();
    await conn
      .updateTable('messages')
      .set({
        status: 'sent',
        sent_at: sentAt,
        provider_id: providerId,
        error: null,
        updated_at: sentAt,
      })
      .where('id', '=', message.id)
      .execute();
    return { kind: 'sent', cartId: message.cart_id, providerId };
  } catch (error) {
    const code = error instanceof ChannelError ? error.code : 'send_error';
    const permanent = error instanceof ChannelError ? error.permanent : false;
    if (permanent || message.attempt >= (deps.maxAttempts ?? 5)) return fail(code);
    const at = new Date(now.getTime() + retryDelayMs(message.attempt, deps.random ?? Math.random));
    await conn
      .updateTable('messages')
      .set({ status: 'scheduled', scheduled_at: at, error: code, updated_at: now })
      .where('id', '=', message.id)
      .execute();
    deps.logger.info(
      { messageId: message.id, error: code, retryAt: at },
      'recovery message will be retried',
    );
    return { kind: 'retry', cartId: message.cart_id, at, error: code };
  }
}

/** 1 min, 2, 4, ... capped at an hour, each spread by ±25 % so retries do not arrive together. */
export function retryDelayMs(attempt: number, random: () => number): number {
  const base = Math.min(60_000 * 2 ** Math.max(0, attempt - 1), 3_600_000);
  return Math.round(base * (0.75 + random() * 0.5));
}

async function markSuppressed(
  trx: Conn,
  message: MessageRow,
  reason: string,
): Promise<SendOutcome> {
  await trx
    .updateTable('messages')
    .set({ status: 'suppressed', suppress_reason: reason, updated_at: new Date() })
    .where('id', '=', message.id)
    .execute();
  return { kind: 'suppressed', cartId: message.cart_id, reason };
}

async function reschedule(
  trx: Conn,
  message: MessageRow,
  at: Date,
  reason: string,
): Promise<SendOutcome> {
  if (at.getTime() !== message.scheduled_at.getTime()) {
    await trx
      .updateTable('messages')
      .set({ scheduled_at: at, updated_at: new Date() })
      .where('id', '=', message.id)
      .execute();
  }
  return { kind: 'rescheduled', at, reason };
}

/** The digest under which an address is kept on the suppression list. */
export function addressHash(channel: 'email' | 'sms' | 'push', address: string): string {
  const normalised = channel === 'email' ? address.trim().toLowerCase() : address.trim();
  return `sha256:${createHash('sha256').update(normalised).digest('hex')}`;
}

/**
 * What the shopper's other activity says about this send, in one query:
 * - `bought`: they bought any cart since `since` (the start of the cart being recovered);
 * - `suppressed`: their email address is on the suppression list;
 * - `lastEmailAt`: when they (any browser with the same address) were last claimed an email for
 *   another cart. The frequency cap keeps parallel sequences apart; one cart's own steps follow
 *   the merchant's delays.
 * Every part is scoped by store, so the indexes on (store_id, shopper_id) and (store_id, email)
 * serve it.
 */
async function shopperHistory(
  trx: Conn,
  subject: {
    storeId: string;
    cartId: string;
    shopperId: string;
    email: string | null;
    since: Date;
  },
): Promise<{ bought: boolean; suppressed: boolean; lastEmailAt: Date | null }> {
  const { storeId, cartId, shopperId, email, since } = subject;
  const hash = email === null ? null : addressHash('email', email);
  const { rows } = await sql<{ bought: boolean; suppressed: boolean; last_email_at: Date | null }>`
    select
      exists (
        select 1 from carts
        where store_id = ${storeId}::uuid and shopper_id = ${shopperId}::uuid
          and converted_at >= ${since}::timestamptz
      ) as bought,
      exists (
        select 1 from suppressions
        where store_id = ${storeId}::uuid and channel = 'email' and address_hash = ${hash}::text
      ) as suppressed,
      (
        select max(m.claimed_at)
        from messages m
        join carts c on c.id = m.cart_id and c.store_id = ${storeId}::uuid
        join shoppers s on s.id = c.shopper_id and s.store_id = ${storeId}::uuid
        where m.store_id = ${storeId}::uuid and m.channel = 'email'
          and m.status in ('sending', 'sent') and m.cart_id <> ${cartId}::uuid
          and (s.id = ${shopperId}::uuid or s.email = ${email}::text)
      ) as last_email_at
  `.execute(trx);
  const row = rows[0];
  return {
    bought: row?.bought ?? false,
    suppressed: row?.suppressed ?? false,
    lastEmailAt: row?.last_email_at ?? null,
  };
}

async function existingDiscount(
  trx: Conn,
  storeId: string,
  id: string,
): Promise<IssuedDiscount | null> {
  const row = await trx
    .selectFrom('discounts')
    .select(['id', 'code', 'kind', 'value', 'expires_at'])
    .where('store_id', '=', storeId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row?.expires_at) return null;
  return {
    id: row.id,
    code: row.code,
    kind: row.kind,
    value: row.value,
    expiresAt: row.expires_at,
  };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The step's template: a template row by id, else the store's own template of that name, else
 * the built-in one of that name.
 */
async function findTemplate(
  trx: Conn,
  storeId: string,
  key: string,
): Promise<EmailTemplateSource | null> {
  const row = await trx
    .selectFrom('templates')
    .select(['subject', 'html', 'text'])
    .where('store_id', '=', storeId)
    .where('channel', '=', 'email')
    .where((eb) => (uuidPattern.test(key) ? eb('id', '=', key) : eb('name', '=', key)))
    .orderBy('updated_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (row?.subject && row.html && row.text) {
    return { subject: row.subject, html: row.html, text: row.text };
  }
  return Object.hasOwn(defaultTemplates, key)
    ? defaultTemplates[key as keyof typeof defaultTemplates]
    : null;
}

function readSnapshot(value: unknown): CartSnapshot | null {
  if (
    value === null ||
    typeof value !== 'object' ||
    !Array.isArray((value as CartSnapshot).lines)
  ) {
    return null;
  }
  return value as CartSnapshot;
}

function addMinutes(at: Date, minutes: number): Date {
  return new Date(at.getTime() + minutes * 60_000);
}
