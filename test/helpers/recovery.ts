import { randomUUID } from 'node:crypto';
import { type buildApp, createStore, type Store } from '@winback/server';
import type { Db } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { batch, eventId } from './ingest.js';

/** What the recovery suites share: a store ready to recover carts, shoppers' events, polling. */

export const HOUR = 3_600_000;
export const LINK_SECRET = 'recovery-suites-link-secret-0123456789abcdef';
export const PUBLIC_URL = 'https://winback.test';

type App = Awaited<ReturnType<typeof buildApp>>;

/** A campaign whose first step goes out as soon as the cart is abandoned. */
export const immediateSteps = [
  { delayMinutes: 0, channel: 'email', template: 'reminder' },
  { delayMinutes: 1440, channel: 'email', template: 'lastChance' },
] as const;

export interface RecoveryStoreOptions {
  /** The storefront origin allowed to send events. */
  origin: string;
  /** Settings on top of the defaults below (a whole key replaces the default's). */
  settings?: Record<string, unknown>;
  /** The store's one campaign's steps; default `immediateSteps`. */
  steps?: readonly unknown[];
}

export interface RecoveryStore {
  store: Store;
  campaignId: string;
}

/**
 * A store that can mail: a postal address, the shortest idle threshold, and no quiet hours nor
 * frequency cap unless a suite asks for them, so outcomes never depend on the time of day the
 * suite runs at.
 */
export async function recoveryStore(db: Db, options: RecoveryStoreOptions): Promise<RecoveryStore> {
  const { store } = await createStore(db, {
    name: `Recovery Shop ${randomUUID().slice(0, 8)}`,
    allowedOrigins: [options.origin],
    postalAddress: '1 Test Street, 12345 Testville',
  });
  await db
    .updateTable('stores')
    .set({
      settings: JSON.stringify({
        idleThresholdMinutes: 1,
        quietHours: { start: '00:00', end: '00:00' },
        frequencyCapHours: { email: 0, sms: 24, push: 12 },
        cartRestore: { kind: 'shopify' },
        ...options.settings,
      }),
    })
    .where('id', '=', store.id)
    .execute();
  const campaign = await db
    .updateTable('campaigns')
    .set({ steps: JSON.stringify(options.steps ?? immediateSteps) })
    .where('store_id', '=', store.id)
    .returning('id')
    .executeTakeFirstOrThrow();
  return { store, campaignId: campaign.id };
}

export interface LeftCart {
  anonymousId: string;
  cartId: string;
  email: string;
  events: TrackedEvent[];
}

/** A shopper who gave their email with consent and left a cart two hours ago. */
export function leftCart(origin: string, options: { anonymousId?: string } = {}): LeftCart {
  const anonymousId = options.anonymousId ?? `anon_${randomUUID().slice(0, 12)}`;
  const cartId = `cart-${randomUUID()}`;
  const email = `${anonymousId}@shopper.example`;
  const ts = Date.now() - 2 * HOUR;
  const envelope = (offset: number) => ({
    id: eventId(),
    ts: ts + offset,
    sessionId: `session_${anonymousId}`,
    anonymousId,
  });
  return {
    anonymousId,
    cartId,
    email,
    events: [
      { ...envelope(0), type: 'identify', email, consent: { email: true, textVersion: 'v1' } },
      { ...envelope(1), cartId, type: 'page_view', page: { url: `${origin}/products/mug` } },
      {
        ...envelope(2),
        cartId,
        type: 'cart_updated',
        cart: {
          currency: 'EUR',
          subtotal: 3600,
          lines: [
            {
              id: 'line-1',
              variantId: '40001',
              title: 'Sunrise mug',
              quantity: 2,
              unitPrice: 1800,
            },
          ],
        },
      },
    ],
  };
}

/** The `order_completed` of a browser, for `cartId` (which may be a cart never seen before). */
export function purchaseOf(anonymousId: string, cartId: string, value = 3600): TrackedEvent {
  return {
    id: eventId(),
    ts: Date.now(),
    sessionId: `session_${anonymousId}`,
    anonymousId,
    cartId,
    type: 'order_completed',
    orderId: `order-${randomUUID()}`,
    value,
    currency: 'EUR',
  };
}

/**
 * Sends events as one `/v1/collect` batch and insists on an ack (sent after COMMIT) that
 * refuses none of them.
 */
export async function collect(
  app: App,
  store: Store,
  origin: string,
  events: readonly TrackedEvent[],
): Promise<void> {
  const response = await app.inject({
    method: 'POST',
    url: `/v1/collect?key=${store.public_key}`,
    headers: { origin, 'content-type': 'application/json' },
    payload: batch(1, events),
  });
  const answer = response.statusCode === 200 ? response.json() : undefined;
  if (answer?.t !== 'ack' || answer.rejected !== undefined) {
    throw new Error(`collect was not acked: ${response.statusCode} ${response.body}`);
  }
}

/**
 * Whether the cart of ledger row `messageId`, or any other cart of its shopper since this cart's
 * first event, has a committed purchase. Asked by the SMTP server at the moment a mail counts as
 * delivered, it must be false for every recovery mail.
 */
export async function boughtBeforeDelivery(db: Db, messageId: string): Promise<boolean> {
  const { rows } = await sql<{ bought: boolean | null }>`
    select c.status in ('converted', 'recovered') or exists (
      select 1 from carts other
      where other.store_id = c.store_id and other.shopper_id = c.shopper_id
        and other.converted_at >= coalesce(c.first_seen_at, c.created_at)
    ) as bought
    from messages m join carts c on c.id = m.cart_id
    where m.id = ${messageId}::uuid
  `.execute(db);
  // A mail naming no ledger row counts as a wrong delivery too.
  return rows[0]?.bought ?? true;
}

export interface SeededStep {
  messageId: string;
  cartId: string;
  externalId: string;
  anonymousId: string;
  email: string;
}

/**
 * Writes what the abandonment worker leaves behind for one cart, straight into the tables: a
 * reachable shopper, the abandoned cart enrolled in the store's campaign, and the ledger row of
 * its first step, `scheduled` at `scheduledAt`. For suites that run the message worker alone.
 */
export async function seedScheduledStep(
  db: Db,
  { store, campaignId }: RecoveryStore,
  scheduledAt: Date,
): Promise<SeededStep> {
  const anonymousId = `anon_${randomUUID().slice(0, 12)}`;
  const externalId = `cart-${randomUUID()}`;
  const email = `${anonymousId}@shopper.example`;
  const abandonedAt = new Date(scheduledAt.getTime() - 60_000);
  const shopper = await db
    .insertInto('shoppers')
    .values({
      store_id: store.id,
      anonymous_id: anonymousId,
      email,
      email_consent: true,
      consent_text_version: 'v1',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const cart = await db
    .insertInto('carts')
    .values({
      store_id: store.id,
      external_id: externalId,
      shopper_id: shopper.id,
      session_id: `session_${anonymousId}`,
      status: 'abandoned',
      snapshot: JSON.stringify({
        currency: 'EUR',
        subtotal: 3600,
        lines: [
          { id: 'line-1', variantId: '40001', title: 'Sunrise mug', quantity: 2, unitPrice: 1800 },
        ],
      }),
      currency: 'EUR',
      value_minor: 3600,
      line_count: 1,
      last_activity_at: new Date(abandonedAt.getTime() - 60_000),
      first_seen_at: new Date(abandonedAt.getTime() - 120_000),
      abandoned_at: abandonedAt,
      campaign_id: campaignId,
      enrolled_at: abandonedAt,
      enrolment: 'enrolled',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const message = await db
    .insertInto('messages')
    .values({
      store_id: store.id,
      cart_id: cart.id,
      campaign_id: campaignId,
      step: 0,
      channel: 'email',
      scheduled_at: scheduledAt,
      step_def: JSON.stringify(immediateSteps[0]),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { messageId: message.id, cartId: cart.id, externalId, anonymousId, email };
}

/** Polls a condition until it holds; the test's own timeout bounds it. */
export async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Deletes every Redis key of one queue prefix: what a FLUSHALL would do to this deployment,
 * without touching the other suites that share the Redis server under their own prefixes.
 */
export async function deleteQueueKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/** How many Redis keys of `prefix` match `pattern` (after the prefix). */
export async function countQueueKeys(
  redisUrl: string,
  prefix: string,
  pattern: string,
): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    let count = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:${pattern}`, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  } finally {
    redis.disconnect();
  }
}

/** How many of `keys` exist in Redis. */
export async function existingKeys(redisUrl: string, keys: readonly string[]): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    let count = 0;
    for (let i = 0; i < keys.length; i += 1000)
      count += await redis.exists(...keys.slice(i, i + 1000));
    return count;
  } finally {
    redis.disconnect();
  }
}
