import { buildApp, createStore, loadConfig, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batch, eventId, pageView, rowCounts } from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop.example';

describe.skipIf(!pgUrl)('ingest writes under concurrency', () => {
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let store: Store;

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    store = (await createStore(db, { name: 'Shop', allowedOrigins: [SHOP] })).store;
    app = await buildApp(loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' }));
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  it('takes row locks in id order, so overlapping writes wait instead of deadlocking', async () => {
    // Two events whose frame order is the reverse of their id order.
    const prefix = eventId().slice(0, 25);
    const first = { ...pageView(), id: `${prefix}A` };
    const second = { ...pageView(), id: `${prefix}B` };

    // Another writer (a resend on another node, say) holds `first` uncommitted.
    const other = new pg.Client({ connectionString: database.url });
    // A forced drop of the test database at the end must not surface as an uncaught error.
    other.on('error', () => {});
    await other.connect();
    try {
      const { rows } = await other.query<{ pid: number }>('select pg_backend_pid() as pid');
      const otherPid = rows[0]!.pid;
      const insert = (id: string) =>
        other.query(
          `insert into events (store_id, id, type, ts) values ($1, $2, 'page_view', now())
           on conflict (store_id, id) do nothing`,
          [store.id, id],
        );
      await other.query('begin');
      await insert(first.id);

      const posted = app.inject({
        method: 'POST',
        url: `/v1/collect?key=${store.public_key}`,
        headers: { 'content-type': 'text/plain', origin: SHOP },
        body: batch(1, [second, first]),
      });
      // inject() dispatches once it is awaited or then()ed.
      const response = posted.then((answer) => answer);
      // Wait until ingest's insert is blocked behind the other writer's lock.
      // Asked from outside the other writer's transaction: inside it, pg_stat_activity would
      // keep showing the snapshot taken at its first read.
      for (;;) {
        const { rows: waiting } = await sql`
          select 1 from pg_stat_activity
          where datname = current_database() and pid <> ${otherPid} and wait_event_type = 'Lock'
        `.execute(db);
        if (waiting.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Had ingest locked `second` before waiting on `first`, this would deadlock and Postgres
      // would abort one of the two.
      await insert(second.id);
      await other.query('commit');

      const answer = await response;
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toEqual({ t: 'ack', seq: 1 });
      expect(await rowCounts(db, store.id, [first.id, second.id])).toEqual([1, 1]);
    } finally {
      await other.end();
    }
  });
});
