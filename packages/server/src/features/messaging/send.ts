import { createHash } from 'node:crypto';
import type { CartSnapshot } from '@winback/shared';
import type { FastifyBaseLogger } from 'fastify';
import { type ExpressionBuilder, type Kysely, sql, type UpdateObject } from 'kysely';
import type { Db } from '../../db/index.js';
import type { Database, MessageRow } from '../../db/schema.js';
import { type SendLease, type SendLockKeeper, sendLockKey } from '../../db/send-locks.js';
import { campaignStep } from '../../domain/campaign.js';
import { frequencyCapAllows } from '../../domain/frequency.js';
import { isValidTimeZone, quietHoursEnd } from '../../domain/quiet-hours.js';
import type { JobQueue } from '../../queue/index.js';
import { type IssuedDiscount, issueBuiltinDiscount } from '../discounts/builtin.js';
import { readStoreSettings, type StoreSettings, senderFrom } from '../stores/settings.js';
import { ChannelError, type EmailChannel } from './email/channel.js';
import { defaultTemplates, type EmailTemplateSource, renderEmail } from './email/render.js';
import type { MessageLinks } from './links.js';
import { SEND_JOB, type SendPayload } from './schedule.js';
import { sendStatements } from './send-statements.js';

/*
 * The message worker: sends one ledger row at most once.
 *
 * 1. With the send locks of the row's cart and browser held (on the process's lock keeper, see
 *    db/send-locks.ts), one statement reads the row with everything that may have changed since
 *    it was scheduled — purchase, opt-out, consent, suppression, the shopper being back on the
 *    site, quiet hours, the frequency cap — and one write, made only if the row is still the
 *    version read, either claims it (`scheduled → sending`) or marks it `suppressed` with the
 *    reason, or moves it later.
 * 2. Only a claimed row is rendered and sent; the row then records `sent` with the provider's
 *    id, or the error: transient errors go back to `scheduled` with a jittered backoff,
 *    permanent ones (SMTP 5xx) end in `failed`.
 * A worker killed after the claim leaves the row `sending`; it is never sent again (the
 * reconciler later marks it `failed`, outcome unknown). A purchase committed while a send is in
 * flight waits for it (the locks), so no mail leaves after a purchase has committed.
 */

export interface SendDeps {
  db: Db;
  queue: JobQueue;
  /** Where this process holds the send locks of its sends in flight. */
  locks: SendLockKeeper;
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

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A send whose locks stay taken elsewhere for the keeper's whole wait tries again this much later. */
const LOCKED_RETRY_MS = 30_000;
/** A row that kept changing under three claims in a row is tried again this much later. */
const CONTENDED_RETRY_MS = 1_000;

/** Sends ledger row `messageId` if it is still due and allowed; arms any retry or postponement. */
export async function sendMessage(
  deps: SendDeps,
  storeId: string,
  messageId: string,
): Promise<SendOutcome> {
  const outcome = await lockedSend(deps, storeId, messageId);
  if (outcome.kind === 'rescheduled' || outcome.kind === 'retry') {
    await deps.queue.schedule<SendPayload>(SEND_JOB, messageId, outcome.at, { storeId });
  }
  return outcome;
}

async function lockedSend(deps: SendDeps, storeId: string, messageId: string) {
  if (!uuidPattern.test(storeId) || !uuidPattern.test(messageId))
    return { kind: 'skipped' } as const;
  const statements = sendStatements(deps.db);
  const subject = await statements.lockSubject({ storeId, messageId });
  if (subject?.status !== 'scheduled') return { kind: 'skipped' } as const;
  const keys = [sendLockKey(storeId, 'cart', subject.cartExternalId)];
  if (subject.anonymousId) keys.push(sendLockKey(storeId, 'browser', subject.anonymousId));
  const lease = await deps.locks.acquire(keys);
  if (!lease) {
    // A purchase or another process's send has held them all along; nothing was claimed.
    const at = new Date((deps.now?.() ?? new Date()).getTime() + LOCKED_RETRY_MS);
    return { kind: 'rescheduled', at, reason: 'locked' } as const;
  }
  try {
    // The row changing between the read and the write (a purchase elsewhere cancelling it, the
    // shopper coming back) is rare; read again, and give up to the row's next job if it goes on.
    for (let attempt = 0; attempt < 3; attempt++) {
      const claim = await claimMessage(deps, storeId, messageId);
      if (claim.kind === 'changed') continue;
      if (claim.kind !== 'claimed') return claim;
      return await deliver(deps, claim, lease);
    }
    const at = new Date((deps.now?.() ?? new Date()).getTime() + CONTENDED_RETRY_MS);
    return { kind: 'rescheduled', at, reason: 'contended' } as const;
  } finally {
    await lease.release();
  }
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

/** The row changed after it was read: nothing was written; read it again. */
type Changed = { kind: 'changed' };
const changed: Changed = { kind: 'changed' };

/**
 * Decides on the row as read and writes the decision only if the row is still the version read
 * (each write below is conditional on `xmin`). With the send locks held no purchase of this cart
 * or browser can commit meanwhile; whatever else ends a sequence (a purchase of another cart of
 * the shopper, an unsubscribe, the shopper coming back) writes the row itself, so a claim made on
 * a stale read cannot succeed.
 */
async function claimMessage(
  deps: SendDeps,
  storeId: string,
  messageId: string,
): Promise<Claimed | SendOutcome | Changed> {
  const now = deps.now?.() ?? new Date();
  const { db } = deps;
  const statements = sendStatements(db);
  const subject = await statements.readSubject({ storeId, messageId });
  if (subject?.message.status !== 'scheduled') return { kind: 'skipped' };
  const { message, version, cart, store, shopper, history } = subject;
  const row = { id: message.id, version };
  if (message.scheduled_at > now) {
    return reschedule(db, message, row, message.scheduled_at, 'not_due');
  }

  const settings = readStoreSettings(store.settings);
  const suppress = (reason: string) => markSuppressed(db, message, row, reason);
  if (store.revokedAt) return suppress('store_revoked');
  if (cart.status === 'converted' || cart.status === 'recovered') return suppress('purchased');
  if (history.bought) return suppress('purchased');
  if (cart.status === 'emptied') return suppress('cart_emptied');
  if (cart.status === 'active' || cart.status === 'checkout') {
    // The shopper is back on the site: wait until the cart is abandoned again.
    const later =
      cart.idleDueAt && cart.idleDueAt > now
        ? cart.idleDueAt
        : addMinutes(now, settings.idleThresholdMinutes);
    return reschedule(db, message, row, later, 'shopper_active');
  }
  if (!shopper) return suppress('no_channel');
  if (shopper.optedOutAt) return suppress('opted_out');
  if (message.channel !== 'email') return suppress('channel_unavailable');
  if (!shopper.email || !shopper.emailConsent) return suppress('no_consent');
  if (await isSuppressed(db, storeId, shopper.email, history)) {
    return suppress('suppressed_address');
  }
  if (!store.postalAddress) return suppress('no_postal_address');

  const timeZone =
    shopper.timezone && isValidTimeZone(shopper.timezone) ? shopper.timezone : settings.timezone;
  const quietUntil = quietHoursEnd(now, settings.quietHours, timeZone);
  if (quietUntil) return reschedule(db, message, row, quietUntil, 'quiet_hours');

  if (
    !frequencyCapAllows({
      channel: 'email',
      now,
      capHours: settings.frequencyCapHours.email,
      lastSentAt: history.lastEmailAt,
    })
  ) {
    return suppress('frequency_cap');
  }

  const step = campaignStep.safeParse(message.step_def);
  const snapshot = readSnapshot(cart.snapshot);
  const cartTotals = {
    currency: snapshot?.currency ?? cart.currency,
    valueMinor: snapshot?.subtotal ?? cart.valueMinor,
  };
  const claimRow = (conn: Conn, discount: IssuedDiscount | null) =>
    updateIfUnchanged(conn, row, (eb) => ({
      status: 'sending',
      claimed_at: now,
      attempt: eb('attempt', '+', 1),
      discount_id: discount?.id ?? null,
      updated_at: now,
    }));
  let discount: IssuedDiscount | null = null;
  if (step.success && step.data.discount && message.discount_id) {
    discount = await existingDiscount(db, storeId, message.discount_id);
    if (!(await claimRow(db, discount))) return changed;
  } else if (step.success && step.data.discount) {
    // A code is issued only with the claim: both commit, or neither.
    const policy = step.data.discount;
    try {
      discount = await db.transaction().execute(async (trx) => {
        const issued = await issueBuiltinDiscount(trx, {
          storeId,
          cartId: message.cart_id,
          policy,
          cart: { subtotalMinor: cartTotals.valueMinor, currency: cartTotals.currency },
          now,
        });
        if (!(await claimRow(trx, issued))) throw changed;
        return issued;
      });
    } catch (error) {
      if (error === changed) return changed;
      throw error;
    }
  } else if (!(await statements.claim({ messageId: message.id, version, at: now }))) {
    return changed;
  }
  return {
    kind: 'claimed',
    message: { ...message, attempt: message.attempt + 1 },
    to: shopper.email,
    firstName: shopper.firstName,
    storeName: store.name,
    postalAddress: store.postalAddress,
    settings,
    locale: shopper.locale ?? settings.locale,
    snapshot,
    cart: cartTotals,
    discount,
    template: step.success ? chooseTemplate(subject.template, step.data.template) : null,
  };
}

/** Writes to ledger row `row.id` only if it is still the version read; says whether it did. */
async function updateIfUnchanged(
  conn: Conn,
  row: { id: string; version: string },
  set:
    | UpdateObject<Database, 'messages'>
    | ((eb: ExpressionBuilder<Database, 'messages'>) => UpdateObject<Database, 'messages'>),
): Promise<boolean> {
  const result = await conn
    .updateTable('messages')
    .set(set)
    .where('id', '=', row.id)
    .where(sql<string>`xmin::text`, '=', row.version)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

async function deliver(deps: SendDeps, claim: Claimed, lease: SendLease): Promise<SendOutcome> {
  const { message } = claim;
  const conn = deps.db;
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

  if (!lease.held) {
    // The locks' connection is gone, so a purchase could commit unseen while this mail leaves.
    // Nothing has left yet: give the row back to be claimed again under new locks.
    await conn
      .updateTable('messages')
      .set({ status: 'scheduled', updated_at: now })
      .where('id', '=', message.id)
      .execute();
    return { kind: 'retry', cartId: message.cart_id, at: now, error: 'locks_lost' };
  }
  let providerId: string;
  try {
    ({ providerId } = await deps.email.send({
      to: claim.to,
      from: senderFrom(claim.settings.sender, deps.mailFrom),
      replyTo: claim.settings.sender.replyTo,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      unsubscribeUrl: links.unsubscribe,
      messageId: message.id,
    }));
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
  // The mail has left: from here on a failure must never put the row back to be sent again.
  // If this write fails the row stays `sending`, and the reconciler closes it as `interrupted`.
  const sentAt = deps.now?.() ?? new Date();
  await sendStatements(deps.db).recordSent({ messageId: message.id, at: sentAt, providerId });
  return { kind: 'sent', cartId: message.cart_id, providerId };
}

/** 1 min, 2, 4, ... capped at an hour, each spread by ±25 % so retries do not arrive together. */
export function retryDelayMs(attempt: number, random: () => number): number {
  const base = Math.min(60_000 * 2 ** Math.max(0, attempt - 1), 3_600_000);
  return Math.round(base * (0.75 + random() * 0.5));
}

async function markSuppressed(
  conn: Conn,
  message: MessageRow,
  row: { id: string; version: string },
  reason: string,
): Promise<SendOutcome | Changed> {
  const written = await updateIfUnchanged(conn, row, {
    status: 'suppressed',
    suppress_reason: reason,
    updated_at: new Date(),
  });
  return written ? { kind: 'suppressed', cartId: message.cart_id, reason } : changed;
}

async function reschedule(
  conn: Conn,
  message: MessageRow,
  row: { id: string; version: string },
  at: Date,
  reason: string,
): Promise<SendOutcome | Changed> {
  if (at.getTime() !== message.scheduled_at.getTime()) {
    const written = await updateIfUnchanged(conn, row, {
      scheduled_at: at,
      updated_at: new Date(),
    });
    if (!written) return changed;
  }
  return { kind: 'rescheduled', at, reason };
}

/** The digest under which an address is kept on the suppression list. */
export function addressHash(channel: 'email' | 'sms' | 'push', address: string): string {
  const normalised = channel === 'email' ? address.trim().toLowerCase() : address.trim();
  return `sha256:${createHash('sha256').update(normalised).digest('hex')}`;
}

/**
 * Whether the shopper's address is on the suppression list. The subject query took the digest in
 * Postgres; where that differs from `addressHash` (case rules beyond ASCII, unusual spaces) the
 * list is asked again with this process's digest.
 */
async function isSuppressed(
  conn: Conn,
  storeId: string,
  email: string,
  history: { addressHash: string | null; suppressed: boolean },
): Promise<boolean> {
  const hash = addressHash('email', email);
  if (hash === history.addressHash) return history.suppressed;
  const row = await conn
    .selectFrom('suppressions')
    .select('address_hash')
    .where('store_id', '=', storeId)
    .where('channel', '=', 'email')
    .where('address_hash', '=', hash)
    .executeTakeFirst();
  return row !== undefined;
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

/** The store's template the subject query found, else the built-in one of the step's name. */
function chooseTemplate(own: EmailTemplateSource | null, key: string): EmailTemplateSource | null {
  if (own) return own;
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
