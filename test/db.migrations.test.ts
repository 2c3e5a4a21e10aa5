import type { Database } from '@winback/server/db';
import {
  createDb,
  ensureEventPartitions,
  MigrationError,
  migrateToLatest,
  migrateToNothing,
  migrations,
  pendingMigrations,
  ulidTimePrefix,
} from '@winback/server/db';
import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs, useFreshDatabase } from './helpers/services.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const occupied = useFreshDatabase(pgUrl);

const migrationNames = Object.keys(migrations);
const appTables = [
  'admin_sessions',
  'analytics_dirty',
  'analytics_rollup',
  'audit_log',
  'campaigns',
  'carts',
  'consent_log',
  'discounts',
  'events',
  'messages',
  'onsite_state',
  'sdk_dropped_events',
  'shoppers',
  'stores',
  'suppressions',
  'templates',
  'webhook_receipts',
];

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function ulid(at: Date | number): string {
  let random = '';
  for (let i = 0; i < 16; i += 1) random += crockford[Math.floor(Math.random() * 32)];
  return ulidTimePrefix(at) + random;
}

/** The SQLSTATE a failed statement raised (undefined when it succeeded). */
async function sqlState(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? 'not a database error';
  }
}

async function tablesIn(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
      and c.relname not like 'kysely_%'
    order by 1`.execute(db);
  return rows.map((row) => row.name);
}

describe.skipIf(!pgUrl)('database migrations', () => {
  let db: Kysely<Database>;

  beforeAll(() => {
    db = createDb(database.url, 4);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('apply every migration in order on a fresh database, then nothing more', async () => {
    expect(await pendingMigrations(db)).toEqual(migrationNames);
    expect(await migrateToLatest(db)).toEqual({ applied: migrationNames });
    expect(await migrateToLatest(db)).toEqual({ applied: [] });
    expect(await pendingMigrations(db)).toEqual([]);
    expect(await tablesIn(db)).toEqual(appTables);
  });

  it('give every table but stores a non-null store_id referencing stores', async () => {
    // pg_constraint rather than information_schema: partitions carry cloned copies of the
    // events foreign key, and only top-level tables count here.
    const { rows } = await sql<{ table_name: string }>`
      select distinct c.relname as table_name
      from pg_constraint k
      join pg_class c on c.oid = k.conrelid
      join pg_attribute a on a.attrelid = c.oid and a.attnum = any (k.conkey)
      where k.contype = 'f' and k.confrelid = 'stores'::regclass
        and array_length(k.conkey, 1) = 1 and a.attname = 'store_id' and a.attnotnull
        and not c.relispartition
      order by 1`.execute(db);
    expect(rows.map((row) => row.table_name)).toEqual(appTables.filter((t) => t !== 'stores'));
  });

  describe('with a store, a shopper, a campaign and a cart', () => {
    const ids = { store: '', otherStore: '', shopper: '', campaign: '', cart: '' };

    beforeAll(async () => {
      const store = (name: string, key: string) =>
        db
          .insertInto('stores')
          .values({ name, public_key: key, secret_hash: 'sha256:00' })
          .returning('id')
          .executeTakeFirstOrThrow();
      ids.store = (await store('One', `pk_${'a'.repeat(24)}`)).id;
      ids.otherStore = (await store('Two', `pk_${'b'.repeat(24)}`)).id;
      ids.shopper = (
        await db
          .insertInto('shoppers')
          .values({ store_id: ids.store, anonymous_id: 'anon-1', email: 'a@example.com' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
      ids.campaign = (
        await db
          .insertInto('campaigns')
          .values({ store_id: ids.store, name: 'Default' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
      ids.cart = (
        await db
          .insertInto('carts')
          .values({ store_id: ids.store, external_id: 'cart-1', shopper_id: ids.shopper })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
    });

    it('fill store settings with their defaults', async () => {
      const { settings } = await db
        .selectFrom('stores')
        .select('settings')
        .where('id', '=', ids.store)
        .executeTakeFirstOrThrow();
      expect(settings).toEqual({
        idleThresholdMinutes: 30,
        timezone: 'UTC',
        attributionWindowDays: 5,
        quietHours: { start: '21:00', end: '08:00' },
      });
    });

    it('dedupe events on (store_id, id), and only within a store', async () => {
      const id = ulid(Date.now());
      const event = (storeId: string) => ({
        store_id: storeId,
        id,
        type: 'page_view',
        ts: new Date(),
        payload: JSON.stringify({ path: '/' }),
      });
      await db.insertInto('events').values(event(ids.store)).execute();
      expect(await sqlState(db.insertInto('events').values(event(ids.store)).execute())).toBe(
        '23505',
      );
      const retried = await db
        .insertInto('events')
        .values({ ...event(ids.store), ts: new Date(Date.now() + 60_000) })
        .onConflict((oc) => oc.columns(['store_id', 'id']).doNothing())
        .executeTakeFirst();
      expect(retried.numInsertedOrUpdatedRows).toBe(0n);
      await db.insertInto('events').values(event(ids.otherStore)).execute();
      const count = await db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(count.n).toBe(2);
    });

    it('route events to monthly partitions by id and keep dedupe across a partition being made', async () => {
      const now = new Date();
      const made = await ensureEventPartitions(db, { from: now, monthsAhead: 1 });
      const thisMonth = `events_${now.toISOString().slice(0, 7).replace('-', '_')}`;
      expect(made[0]).toBe(thisMonth);
      expect(made).toHaveLength(2);
      // Calling it again (another node, a restart) is harmless.
      expect(await ensureEventPartitions(db, { from: now, monthsAhead: 1 })).toEqual(made);

      const whereIs = async (id: string) => {
        const { rows } = await sql<{ part: string }>`
          select tableoid::regclass::text as part from events where id = ${id}`.execute(db);
        return rows.map((row) => row.part);
      };
      const current = ulid(now);
      const later = ulid(Date.UTC(2031, 4, 17, 12));
      const notAUlid = 'client-sent-something-else';
      for (const id of [current, later, notAUlid]) {
        await db
          .insertInto('events')
          .values({ store_id: ids.store, id, type: 'page_view', ts: now })
          .execute();
      }
      expect(await whereIs(current)).toEqual([thisMonth]);
      expect(await whereIs(later)).toEqual(['events_default']);
      expect(await whereIs(notAUlid)).toEqual(['events_default']);

      // A clock far ahead put `later` in the default partition; making its month moves it.
      expect(
        await ensureEventPartitions(db, { from: new Date(Date.UTC(2031, 4, 1)), monthsAhead: 0 }),
      ).toEqual(['events_2031_05']);
      expect(await whereIs(later)).toEqual(['events_2031_05']);
      expect(await whereIs(notAUlid)).toEqual(['events_default']);
      expect(
        await sqlState(
          db
            .insertInto('events')
            .values({ store_id: ids.store, id: later, type: 'page_view', ts: now })
            .execute(),
        ),
      ).toBe('23505');
    });

    it('compute partition bounds in SQL exactly as ULIDs are made', async () => {
      const moments = fc.sample(fc.integer({ min: 0, max: Date.UTC(9999, 0, 1) }), 200);
      const { rows } = await sql<{ ms: string; prefix: string }>`
        select ms::text, winback_ulid_time_prefix(
          -- Whole seconds and the milliseconds apart: both exact, unlike ms / 1000.0.
          to_timestamp(ms / 1000) + (ms % 1000) * interval '1 millisecond') as prefix
        from unnest(${moments}::bigint[]) as ms`.execute(db);
      for (const row of rows) expect(row.prefix).toBe(ulidTimePrefix(Number(row.ms)));
    });

    it('keep one ledger row per cart x campaign x step x channel', async () => {
      const message = (step: number, channel: 'email' | 'sms') => ({
        store_id: ids.store,
        cart_id: ids.cart,
        campaign_id: ids.campaign,
        step,
        channel,
        scheduled_at: new Date(),
      });
      await db.insertInto('messages').values(message(0, 'email')).execute();
      await db.insertInto('messages').values(message(0, 'sms')).execute();
      await db.insertInto('messages').values(message(1, 'email')).execute();
      expect(await sqlState(db.insertInto('messages').values(message(0, 'email')).execute())).toBe(
        '23505',
      );
      expect(
        await sqlState(
          db
            .insertInto('messages')
            .values({ ...message(2, 'email'), status: 'delivered' as never })
            .execute(),
        ),
      ).toBe('23514');
      // A campaign with send history cannot be deleted out from under its results.
      expect(
        await sqlState(db.deleteFrom('campaigns').where('id', '=', ids.campaign).execute()),
      ).toBe('23503');
    });

    it('check status values and amounts', async () => {
      const cart = (values: object) =>
        db
          .insertInto('carts')
          .values({ store_id: ids.store, external_id: `c-${Math.random()}`, ...values })
          .execute();
      expect(await sqlState(cart({ status: 'lost' }))).toBe('23514');
      expect(await sqlState(cart({ value_minor: -1 }))).toBe('23514');
      expect(await sqlState(cart({ currency: 'usd' }))).toBe('23514');
      expect(await sqlState(cart({ status: 'abandoned', currency: 'EUR' }))).toBeUndefined();
      expect(
        await sqlState(
          db.insertInto('carts').values({ store_id: ids.store, external_id: 'cart-1' }).execute(),
        ),
      ).toBe('23505');
      expect(
        await sqlState(
          db
            .insertInto('campaigns')
            .values({ store_id: ids.store, name: 'x', status: 'archived' as never })
            .execute(),
        ),
      ).toBe('23514');
      const discount = (values: object) =>
        db
          .insertInto('discounts')
          .values({ store_id: ids.store, code: `D${Math.random()}`, kind: 'percent', ...values })
          .execute();
      expect(await sqlState(discount({ kind: 'percent', value: 10 }))).toBeUndefined();
      expect(await sqlState(discount({ kind: 'percent', value: 150 }))).toBe('23514');
      expect(await sqlState(discount({ kind: 'fixed', value: 500 }))).toBe('23514');
      expect(await sqlState(discount({ kind: 'fixed', value: 500, currency: 'EUR' }))).toBe(
        undefined,
      );
      expect(await sqlState(discount({ kind: 'bogo', value: 1 }))).toBe('23514');
    });

    it('keep webhook receipts and suppressions unique', async () => {
      const receipt = { store_id: ids.store, provider: 'shopify', delivery_id: 'd-1' };
      await db.insertInto('webhook_receipts').values(receipt).execute();
      expect(await sqlState(db.insertInto('webhook_receipts').values(receipt).execute())).toBe(
        '23505',
      );
      const suppression = {
        store_id: ids.store,
        channel: 'email' as const,
        address_hash: 'h1',
        reason: 'unsubscribed',
      };
      await db.insertInto('suppressions').values(suppression).execute();
      expect(await sqlState(db.insertInto('suppressions').values(suppression).execute())).toBe(
        '23505',
      );
    });

    it('make consent_log and audit_log append-only, yet let them go with their store', async () => {
      await db
        .insertInto('consent_log')
        .values({
          store_id: ids.store,
          shopper_id: ids.shopper,
          channel: 'email',
          granted: true,
          source: 'widget',
          text_version: 'v1',
        })
        .execute();
      await db
        .insertInto('audit_log')
        .values({ store_id: ids.store, actor: 'admin', action: 'store.created' })
        .execute();

      for (const table of ['consent_log', 'audit_log'] as const) {
        const refusal = /append-only/;
        await expect(
          sql`update ${sql.table(table)} set created_at = now()`.execute(db),
        ).rejects.toThrow(refusal);
        await expect(sql`delete from ${sql.table(table)}`.execute(db)).rejects.toThrow(refusal);
        await expect(sql`truncate ${sql.table(table)}`.execute(db)).rejects.toThrow(refusal);
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from ${sql.table(table)}`.execute(db);
        expect(rows[0]?.n).toBe(1);
      }

      await db.deleteFrom('stores').where('id', '=', ids.store).execute();
      for (const table of appTables.filter((t) => t !== 'stores')) {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from ${sql.table(table)} where store_id = ${ids.store}`.execute(
          db,
        );
        expect(rows[0]?.n, table).toBe(0);
      }
    });
  });

  it('index what the reconciler and the admin scan', async () => {
    const { rows } = await sql<{ indexname: string; indexdef: string }>`
      select indexname, indexdef from pg_indexes where schemaname = 'public'`.execute(db);
    const def = (name: string) => rows.find((row) => row.indexname === name)?.indexdef ?? '';
    expect(def('carts_idle_due_at_idx')).toMatch(
      /\(idle_due_at\) WHERE \(idle_due_at IS NOT NULL\)/,
    );
    expect(def('messages_scheduled_due_idx')).toMatch(
      /\(scheduled_at\) WHERE \(status = 'scheduled'::text\)/,
    );
    expect(def('carts_store_status_activity_idx')).toMatch(
      /\(store_id, status, last_activity_at DESC\)/,
    );
    expect(def('messages_cart_idx')).toMatch(/\(cart_id\)/);
    expect(def('events_store_cart_ts_idx')).toMatch(/\(store_id, cart_id, ts\)/);
    expect(def('shoppers_store_email_idx')).toMatch(/\(store_id, email\)/);
  });

  it('migrate all the way down, leaving nothing behind, and up again', async () => {
    expect(await migrateToNothing(db)).toEqual({ reverted: [...migrationNames].reverse() });
    expect(await tablesIn(db)).toEqual([]);
    const { rows } = await sql<{ proname: string }>`
      select proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and proname like 'winback_%'`.execute(db);
    expect(rows).toEqual([]);
    expect(await pendingMigrations(db)).toEqual(migrationNames);
    expect(await migrateToLatest(db)).toEqual({ applied: migrationNames });
    expect(await tablesIn(db)).toEqual(appTables);
  });
});

describe.skipIf(!pgUrl)('a migration that fails', () => {
  it('is named, and the whole batch is rolled back', async () => {
    const db = createDb(occupied.url, 2);
    try {
      // Something already sits where a later migration wants to create a table.
      await sql`create table carts (id int)`.execute(db);
      const failure = await migrateToLatest(db).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(MigrationError);
      const error = failure as MigrationError;
      expect(error.migration).toBe('2026_11_22_000300_create_carts');
      expect(error.message).toMatch(/^migration 2026_11_22_000300_create_carts \(up\) failed: /);
      expect(error.message).toContain('"carts" already exists');
      expect(await tablesIn(db)).toEqual(['carts']);
      expect(await pendingMigrations(db)).toEqual(migrationNames);
    } finally {
      await db.destroy();
    }
  });
});
