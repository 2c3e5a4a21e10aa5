import {
  createSendLockKeeper,
  lockForTransaction,
  type SendLockKeeper,
  sendLockKey,
} from '@winback/server/db';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { needs, useFreshDatabase } from './helpers/services.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const STORE = '00000000-0000-4000-8000-000000000001';

/**
 * The send locks as a purchase meets them: an ingest transaction takes the locks of its cart and
 * browser with `lockForTransaction` (waiting), while every send of a worker process holds its
 * locks on that process's one keeper connection (never waiting on it).
 */
describe.skipIf(!pgUrl)('the send lock keeper', () => {
  const keepers: SendLockKeeper[] = [];
  const clients: pg.Client[] = [];
  const keeper = (waitMs = 5_000) => {
    const created = createSendLockKeeper({ databaseUrl: database.url, waitMs });
    keepers.push(created);
    return created;
  };
  const purchaser = async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    for (const created of keepers.splice(0)) await created.close();
    for (const client of clients.splice(0)) await client.end();
  });

  /** Whether a purchase could take `keys` now: it gives up at once instead of queueing. */
  async function purchaseCanLock(client: pg.Client, keys: string[]): Promise<boolean> {
    await client.query('begin');
    try {
      await client.query(`set local lock_timeout = '50ms'`);
      for (const key of keys) await client.query('select pg_advisory_xact_lock($1::bigint)', [key]);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') return false;
      throw error;
    } finally {
      await client.query('rollback');
    }
  }

  const cart = (id: string) => sendLockKey(STORE, 'cart', id);
  const browser = (id: string) => sendLockKey(STORE, 'browser', id);

  it('makes a purchase of the cart or browser wait until the send releases them', async () => {
    const sends = keeper();
    const purchase = await purchaser();
    const lease = await sends.acquire([cart('c1'), browser('b1')]);
    expect(lease?.held).toBe(true);
    expect(await purchaseCanLock(purchase, [cart('c1')])).toBe(false);
    expect(await purchaseCanLock(purchase, [browser('b1')])).toBe(false);
    expect(await purchaseCanLock(purchase, [cart('c2'), browser('b2')])).toBe(true);
    await lease?.release();
    expect(lease?.held).toBe(false);
    expect(await purchaseCanLock(purchase, [cart('c1'), browser('b1')])).toBe(true);
  });

  it('takes all of a send’s keys or none, and gets them once the other holder lets go', async () => {
    const first = keeper();
    const second = keeper(100);
    const third = keeper(0);
    const held = await first.acquire([cart('c3')]);
    // The second process wants the cart and a browser nobody holds: it gets neither.
    expect(await second.acquire([cart('c3'), browser('b3')])).toBeNull();
    const browserOnly = await third.acquire([browser('b3')]);
    expect(browserOnly?.held).toBe(true);
    await browserOnly?.release();
    // While it waits, the first send ends; the waiting one then has both.
    const waiting = keeper(10_000).acquire([cart('c3'), browser('b3')]);
    await held?.release();
    const lease = await waiting;
    expect(lease?.held).toBe(true);
    await lease?.release();
  });

  it('keeps two sends of this process for the same browser apart', async () => {
    const sends = keeper(10_000);
    const purchase = await purchaser();
    const first = await sends.acquire([cart('c4'), browser('b4')]);
    // Another cart of the same shopper: it waits for the first send, as one of another process would.
    const second = sends.acquire([cart('c4b'), browser('b4')]);
    const trying = Symbol('trying');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await Promise.race([second, Promise.resolve(trying)])).toBe(trying);
    await first?.release();
    await first?.release(); // a second release of the same lease changes nothing
    const lease = await second;
    expect(lease?.held).toBe(true);
    expect(await purchaseCanLock(purchase, [browser('b4')])).toBe(false);
    expect(await purchaseCanLock(purchase, [cart('c4')])).toBe(true);
    await lease?.release();
    expect(await purchaseCanLock(purchase, [browser('b4'), cart('c4b')])).toBe(true);
  });

  it('says a lease is no longer held when its connection is lost, and reconnects for the next', async () => {
    const sends = keeper();
    const purchase = await purchaser();
    const lease = await sends.acquire([cart('c5')]);
    expect(lease?.held).toBe(true);
    await purchase.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
       where datname = current_database() and application_name = 'winback send locks'`,
    );
    await vi.waitFor(() => expect(lease?.held).toBe(false));
    // Postgres dropped the lock with the connection.
    expect(await purchaseCanLock(purchase, [cart('c5')])).toBe(true);
    await lease?.release();
    const again = await sends.acquire([cart('c5')]);
    expect(again?.held).toBe(true);
    expect(await purchaseCanLock(purchase, [cart('c5')])).toBe(false);
    await again?.release();
  });

  it('keeps trying while a purchase holds the keys (taken in the other order), then has them', async () => {
    const sends = keeper(10_000);
    const purchase = await purchaser();
    const keys = [cart('c6'), browser('b6')];
    await purchase.query('begin');
    for (const key of [...keys].reverse()) {
      await purchase.query('select pg_advisory_xact_lock($1::bigint)', [key]);
    }
    const waiting = sends.acquire(keys);
    const trying = Symbol('trying');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await Promise.race([waiting, Promise.resolve(trying)])).toBe(trying);
    await purchase.query('commit');
    const lease = await waiting;
    expect(lease?.held).toBe(true);
    expect(await purchaseCanLock(purchase, keys)).toBe(false);
    await lease?.release();
  });

  it('takes the keys in a transaction as a purchase does', async () => {
    const sends = keeper(0);
    const db = new Kysely<Record<string, never>>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: database.url, max: 1 }),
      }),
    });
    try {
      await db.transaction().execute(async (trx) => {
        await lockForTransaction(trx, [browser('b7'), cart('c7')]);
        expect(await sends.acquire([cart('c7')])).toBeNull();
      });
      // Released at COMMIT.
      const lease = await sends.acquire([cart('c7'), browser('b7')]);
      expect(lease?.held).toBe(true);
      await lease?.release();
    } finally {
      await db.destroy();
    }
  });
});
