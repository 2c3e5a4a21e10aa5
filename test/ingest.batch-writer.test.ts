import { randomUUID } from 'node:crypto';
import { createBatchWriter, createStore, type Store, WriterBusyError } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cartUpdated, pageView } from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';

// The group-commit writer behind ingest: frames from many connections share transactions, each
// learns its own result only after COMMIT, overload is refused rather than queued, and one frame
// the database refuses does not take its neighbours down with it.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

// Every case runs three ways: through the app's pool (Kysely, `unnest`), and on the writer's own
// connections with each way of writing events.
const modes = [
  ['app pool', () => ({})],
  [
    'own connections, unnest',
    () => ({ databaseUrl: database.url, eventsWrite: 'unnest' as const }),
  ],
  ['own connections, copy', () => ({ databaseUrl: database.url, eventsWrite: 'copy' as const })],
] as const;

describe.skipIf(!pgUrl).each(modes)('batch writer (%s)', (_mode, connection) => {
  let db: Db;
  let store: Store;
  let other: Store;

  beforeAll(async () => {
    db = createDb(database.url, 6);
    await migrateToLatest(db);
    ({ store } = await createStore(db, { name: 'Writer', allowedOrigins: ['https://w.example'] }));
    ({ store: other } = await createStore(db, {
      name: 'Writer 2',
      allowedOrigins: ['https://w2.example'],
    }));
  });
  afterAll(async () => {
    await db?.destroy();
  });

  const count = async (storeId: string, ids: readonly string[]) => {
    const row = await db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('store_id', '=', storeId)
      .where('id', 'in', ids)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  it('carries many frames, of several stores, in one transaction with per-frame results', async () => {
    const writer = createBatchWriter({ db, ...connection(), concurrency: 1 });
    const frames = Array.from({ length: 40 }, (_, i) => ({
      storeId: i % 2 === 0 ? store.id : other.id,
      events: [pageView(), { ...cartUpdated(), cartId: `cart-${randomUUID()}` }],
    }));
    // A resent frame in the same group: its events count once, for the first frame only.
    frames.push({ ...(frames[0] as (typeof frames)[number]) });
    const results = await Promise.all(
      frames.map((frame) => writer.write(frame.storeId, frame.events, new Date())),
    );
    expect(results.slice(0, 40).map((result) => result.stored)).toEqual(Array(40).fill(2));
    expect(results[40]?.stored).toBe(0);
    for (const [index, result] of results.slice(0, 40).entries()) {
      const frame = frames[index] as (typeof frames)[number];
      expect(result.carts.map((cart) => cart.externalId)).toEqual([frame.events[1]?.cartId]);
    }
    // All written synchronously: the first frame opened a transaction, the rest shared one.
    expect(writer.stats).toEqual({ transactions: 2, frames: 41 });
    for (const frame of frames) {
      expect(
        await count(
          frame.storeId,
          frame.events.map((event) => event.id),
        ),
      ).toBe(2);
    }
    await writer.close();
  });

  it('refuses frames beyond what may wait, and stores every frame it accepted', async () => {
    const writer = createBatchWriter({ db, ...connection(), concurrency: 1, maxPendingEvents: 10 });
    const frames = Array.from({ length: 30 }, () => [pageView(), pageView()]);
    const outcomes = await Promise.allSettled(
      frames.map((events) => writer.write(store.id, events, new Date())),
    );
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const outcome of refused) expect(outcome.reason).toBeInstanceOf(WriterBusyError);
    for (const [index, outcome] of outcomes.entries()) {
      const ids = (frames[index] as TrackedEvent[]).map((event) => event.id);
      expect(await count(store.id, ids)).toBe(outcome.status === 'fulfilled' ? 2 : 0);
    }
    await writer.close();
    await expect(writer.write(store.id, [pageView()], new Date())).rejects.toBeInstanceOf(
      WriterBusyError,
    );
  });

  it('isolates a frame the database refuses from the frames it was grouped with', async () => {
    const writer = createBatchWriter({ db, ...connection(), concurrency: 1 });
    const good = Array.from({ length: 5 }, () => [pageView()]);
    // Events of a store that does not exist break their transaction (foreign key).
    const missingStore = randomUUID();
    const outcomes = await Promise.allSettled([
      writer.write(store.id, [pageView()], new Date()),
      ...good.map((events) => writer.write(store.id, events, new Date())),
      writer.write(missingStore, [pageView()], new Date()),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      ...Array(6).fill('fulfilled'),
      'rejected',
    ]);
    for (const events of good) expect(await count(store.id, [events[0]?.id ?? ''])).toBe(1);
    await writer.close();
  });

  it('gives up on a transaction the database holds up past the statement timeout', async () => {
    const writer = createBatchWriter({
      db,
      ...connection(),
      concurrency: 1,
      statementTimeoutMs: 200,
    });
    const blocker = await db.connection().execute(async (conn) => {
      await sql`begin`.execute(conn);
      await sql`lock table carts in access exclusive mode`.execute(conn);
      try {
        return await Promise.allSettled([writer.write(store.id, [cartUpdated()], new Date())]);
      } finally {
        await sql`rollback`.execute(conn);
      }
    });
    expect(blocker[0]?.status).toBe('rejected');
    // Once the database answers again, so does the writer.
    const event = cartUpdated();
    await expect(writer.write(store.id, [event], new Date())).resolves.toMatchObject({
      stored: 1,
    });
    await writer.close();
  });

  const droppedOf = async (storeId: string) => {
    const { rows } = await sql<{ day: string; dropped: number }>`
      select to_char(day, 'YYYY-MM-DD') as day, dropped::int as dropped
      from sdk_dropped_events where store_id = ${storeId} order by day`.execute(db);
    return rows;
  };

  it('adds the drop counts of frames to the store, by day of arrival, once per frame', async () => {
    const { store: shop } = await createStore(db, {
      name: 'Drops',
      allowedOrigins: ['https://drops.example'],
    });
    const writer = createBatchWriter({ db, ...connection(), concurrency: 1 });
    const first = [pageView(), cartUpdated()];
    const second = [pageView()];
    const day = new Date('2026-11-23T23:59:59.000Z');
    const nextDay = new Date('2026-11-24T00:00:01.000Z');
    await Promise.all([
      writer.write(shop.id, first, day, 5),
      // The same frame again (its ack was lost), in the same transaction and in a later one.
      writer.write(shop.id, first, day, 5),
      writer.write(shop.id, second, nextDay, 3),
      writer.write(shop.id, [pageView()], nextDay, 0),
    ]);
    await writer.write(shop.id, first, nextDay, 5);
    // A resend that grew (the sdk splits or extends a frame from the same head of its queue).
    await writer.write(shop.id, [...second, pageView()], nextDay, 4);
    expect(await droppedOf(shop.id)).toEqual([
      { day: '2026-11-23', dropped: 5 },
      { day: '2026-11-24', dropped: 3 },
    ]);
    await writer.close();
  });

  it("counts every frame's drops exactly once however its attempts are grouped", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            events: fc.integer({ min: 1, max: 3 }),
            dropped: fc.integer({ min: 0, max: 1_000 }),
            attempts: fc.integer({ min: 1, max: 3 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.infiniteStream(fc.integer({ min: 0, max: 1_000 })),
        async (frames, shuffle) => {
          const { store: shop } = await createStore(db, {
            name: 'Drops',
            allowedOrigins: ['https://drops.example'],
          });
          const writer = createBatchWriter({ db, ...connection(), concurrency: 2 });
          const attempts = frames.flatMap((frame) => {
            const events = Array.from({ length: frame.events }, () => pageView());
            return Array.from({ length: frame.attempts }, () => ({ ...frame, events }));
          });
          const order = attempts
            .map((attempt) => ({ attempt, key: shuffle.next().value as number }))
            .sort((a, b) => a.key - b.key);
          await Promise.all(
            order.map(({ attempt }) =>
              writer.write(shop.id, attempt.events, new Date(), attempt.dropped),
            ),
          );
          await writer.close();
          const total = frames.reduce((sum, frame) => sum + frame.dropped, 0);
          const counted = (await droppedOf(shop.id)).reduce((sum, row) => sum + row.dropped, 0);
          expect(counted).toBe(total);
        },
      ),
      { numRuns: 15 },
    );
  });
});
