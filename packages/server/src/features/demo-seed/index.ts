import { type Kysely, sql } from 'kysely';
import { DateTime } from 'luxon';
import type { Db } from '../../db/index.js';
import { ensureEventPartitions } from '../../db/partitions.js';
import type { Database } from '../../db/schema.js';
import { isValidTimeZone } from '../../domain/quiet-hours.js';
import { refreshRollup } from '../analytics/rollup.js';
import { readSteps } from '../campaigns/repository.js';
import { addressHash } from '../messaging/send.js';
import { readStoreSettings, storefrontOrigin } from '../stores/settings.js';
import { planMonth, SEED_PREFIX, type SeedCampaign } from './month.js';
import { seededRandom } from './random.js';
import {
  defaultSessionsDir,
  generatedSessions,
  readRealSessions,
  type SessionSource,
} from './sessions.js';

/*
 * `winback demo --seed`: fills a store with a month of realistic activity so the admin page has
 * something to show at once. See month.ts for how the month is made. Seeded rows are marked by
 * their storefront ids (`demo-seed-...` carts and browsers); seeding again replaces them and
 * leaves every other row of the store as it is.
 */

export { SEED_PREFIX } from './month.js';

export interface SeedOptions {
  /** The month ends here; default now. */
  now?: Date;
  /**
   * Whole days in the store's time zone, today included, like the admin's "Last 30 days";
   * default 30.
   */
  days?: number;
  /** Default 480, about sixteen a day. */
  carts?: number;
  /**
   * Where the REES46 sessions are; default `../shared/data/sessions/` next to the repository.
   * Without them, a month is generated from the demo shop's catalogue.
   */
  sessionsDir?: string;
  /** Draws are made from this; the same seed and clock give the same rows. */
  seed?: string;
}

export interface SeedSummary {
  /** `rees46` when the carts replay the real sessions, `generated` when those were absent. */
  source: SessionSource['kind'];
  /** Distinct sessions the carts replay. */
  sessions: number;
  carts: number;
  shoppers: number;
  events: number;
  messages: number;
  /** Seeded carts of an earlier run that this one replaced. */
  replaced: number;
  from: Date;
  to: Date;
}

const DEFAULT_CARTS = 480;
const DEFAULT_DAYS = 30;
/** Rows per INSERT: far below Postgres's 65 535 parameters even for the widest table. */
const ROWS_PER_INSERT = 500;

/**
 * Replaces the store's seeded month with a new one ending at `options.now`, in one transaction,
 * then brings the analytics rollup up to date so the first look at the admin page is quick.
 *
 * @example
 *   const summary = await seedDemoStore(db, store.id);
 *   // { source: 'rees46', carts: 480, ... } — or 'generated' outside this repository
 */
export async function seedDemoStore(
  db: Db,
  storeId: string,
  options: SeedOptions = {},
): Promise<SeedSummary> {
  const now = options.now ?? new Date();
  const days = options.days ?? DEFAULT_DAYS;
  const carts = options.carts ?? DEFAULT_CARTS;
  const seed = options.seed ?? 'winback-demo';
  if (!Number.isInteger(carts) || carts < 1) throw new RangeError('carts: a positive whole number');
  if (!Number.isInteger(days) || days < 1) throw new RangeError('days: a positive whole number');

  const store = await db
    .selectFrom('stores')
    .select(['settings', 'allowed_origins', 'postal_address'])
    .where('id', '=', storeId)
    .executeTakeFirstOrThrow();
  const settings = readStoreSettings(store.settings);
  // Whole days, so the admin page's default period holds the month and no stray part of a day.
  const from = DateTime.fromJSDate(now, {
    zone: isValidTimeZone(settings.timezone) ? settings.timezone : 'UTC',
  })
    .startOf('day')
    .minus({ days: days - 1 })
    .toJSDate();
  const campaigns: SeedCampaign[] = [];
  const active = await db
    .selectFrom('campaigns')
    .selectAll()
    .where('store_id', '=', storeId)
    .where('status', '=', 'active')
    .orderBy('priority', 'desc')
    .orderBy('created_at')
    .execute();
  for (const row of active) {
    const steps = readSteps(row);
    if (steps === null) continue;
    campaigns.push({
      id: row.id,
      status: row.status,
      priority: row.priority,
      createdAt: row.created_at,
      triggerFilters: row.trigger_filters,
      version: row.version,
      steps,
    });
  }

  const real = await readRealSessions(options.sessionsDir ?? defaultSessionsDir);
  const source: SessionSource = real
    ? { kind: 'rees46', sessions: real }
    : { kind: 'generated', sessions: generatedSessions(carts, seededRandom(`${seed}:sessions`)) };

  const month = planMonth({
    storeId,
    from,
    now,
    carts,
    source,
    settings,
    storefront: storefrontOrigin(settings, store.allowed_origins) ?? 'https://shop.example',
    hasPostalAddress: store.postal_address !== null,
    campaigns,
    seed,
  });

  // Events of months without a partition would wait in the default one; give them theirs.
  await ensureEventPartitions(db, { from, monthsAhead: Math.ceil(days / 28) + 1 });
  const replaced = await db.transaction().execute(async (trx) => {
    const removed = await removeSeeded(trx, storeId);
    await inChunks(month.shoppers, (rows) => trx.insertInto('shoppers').values(rows).execute());
    await inChunks(month.consentLog, (rows) =>
      trx.insertInto('consent_log').values(rows).execute(),
    );
    await inChunks(month.suppressions, (rows) =>
      trx
        .insertInto('suppressions')
        .values(rows)
        .onConflict((oc) => oc.columns(['store_id', 'channel', 'address_hash']).doNothing())
        .execute(),
    );
    await inChunks(month.carts, (rows) => trx.insertInto('carts').values(rows).execute());
    await inChunks(month.discounts, (rows) => trx.insertInto('discounts').values(rows).execute());
    await inChunks(month.messages, (rows) => trx.insertInto('messages').values(rows).execute());
    if (month.attributions.length > 0) {
      await sql`
        update carts set attributed_message_id = v.message_id
        from unnest(
          ${month.attributions.map((row) => row.cartId)}::uuid[],
          ${month.attributions.map((row) => row.messageId)}::uuid[]
        ) as v (cart_id, message_id)
        where carts.store_id = ${storeId}::uuid and carts.id = v.cart_id
      `.execute(trx);
    }
    await inChunks(month.events, (rows) => trx.insertInto('events').values(rows).execute());
    return removed;
  });
  await refreshRollup(db, storeId);

  return {
    source: source.kind,
    sessions: month.sessionsUsed,
    carts: month.carts.length,
    shoppers: month.shoppers.length,
    events: month.events.length,
    messages: month.messages.length,
    replaced,
    from,
    to: now,
  };
}

/**
 * Deletes the store's seeded rows (carts, their events, ledger rows and codes, the seeded
 * browsers with their consent history and the suppressions of their addresses) and nothing
 * else. Returns how many seeded carts there were.
 */
async function removeSeeded(trx: Kysely<Database>, storeId: string): Promise<number> {
  const prefix = `${SEED_PREFIX}%`;
  const seededCarts = trx
    .selectFrom('carts')
    .select('id')
    .where('store_id', '=', storeId)
    .where('external_id', 'like', prefix);
  await trx
    .deleteFrom('discounts')
    .where('store_id', '=', storeId)
    .where('cart_id', 'in', seededCarts)
    .execute();
  await trx
    .deleteFrom('events')
    .where('store_id', '=', storeId)
    .where('cart_id', 'like', prefix)
    .execute();
  const emails = await trx
    .selectFrom('shoppers')
    .select('email')
    .where('store_id', '=', storeId)
    .where('anonymous_id', 'like', prefix)
    .where('email', 'is not', null)
    .execute();
  const hashes = emails.map((row) => addressHash('email', row.email as string));
  if (hashes.length > 0) {
    await trx
      .deleteFrom('suppressions')
      .where('store_id', '=', storeId)
      .where('channel', '=', 'email')
      .where('address_hash', 'in', hashes)
      .execute();
  }
  // Ledger rows go with their carts; consent history with its shoppers (both cascade).
  const removed = await trx
    .deleteFrom('carts')
    .where('store_id', '=', storeId)
    .where('external_id', 'like', prefix)
    .executeTakeFirst();
  await trx
    .deleteFrom('shoppers')
    .where('store_id', '=', storeId)
    .where('anonymous_id', 'like', prefix)
    .execute();
  return Number(removed.numDeletedRows);
}

/** Multi-row INSERTs: `write` gets a few hundred rows at a time. */
async function inChunks<Row>(
  rows: readonly Row[],
  write: (chunk: Row[]) => Promise<unknown>,
): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    await write(rows.slice(start, start + ROWS_PER_INSERT));
  }
}
