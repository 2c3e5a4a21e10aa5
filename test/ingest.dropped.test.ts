import { buildApp, createStore, loadConfig, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageView } from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import { type Conversation, converse } from './helpers/websocket.js';

// The sdk keeps a bounded queue while it cannot reach the server and drops the oldest events
// past it; each frame says how many it dropped since its last ack. Ingest adds that to the
// store's count for the day, in the transaction that stores the frame, once per frame.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://drops.example';

describe.skipIf(!pgUrl)('ingest of the sdk drop counts', () => {
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let store: Store;

  beforeAll(async () => {
    db = createDb(database.url, 2);
    await migrateToLatest(db);
    store = (await createStore(db, { name: 'Drops', allowedOrigins: [SHOP] })).store;
    app = await buildApp(loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' }));
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  const droppedToday = async () => {
    const { rows } = await sql<{ dropped: number }>`
      select coalesce(sum(dropped), 0)::int as dropped from sdk_dropped_events
      where store_id = ${store.id} and day = (now() at time zone 'UTC')::date`.execute(db);
    return rows[0]?.dropped;
  };

  async function socket(): Promise<Conversation> {
    let conversation: Conversation | undefined;
    await app.injectWS(
      `/v1/stream?key=${store.public_key}`,
      { headers: { origin: SHOP } },
      { onInit: (ws) => (conversation = converse(ws)) },
    );
    return conversation as Conversation;
  }

  const frame = (seq: number, events: unknown[], dropped?: number) =>
    JSON.stringify({ t: 'batch', seq, events, ...(dropped === undefined ? {} : { dropped }) });

  it('counts a frame’s drops with its events, once however often it is resent', async () => {
    const stream = await socket();
    const events = [pageView(), pageView()];
    stream.send(frame(1, events, 7));
    expect(await stream.next()).toMatchObject({ t: 'ack', seq: 1 });
    // The ack was lost: the sdk sends the same frame again.
    stream.send(frame(1, events, 7));
    expect(await stream.next()).toMatchObject({ t: 'ack', seq: 1 });
    stream.send(frame(2, [pageView()]));
    expect(await stream.next()).toMatchObject({ t: 'ack', seq: 2 });
    expect(await droppedToday()).toBe(7);

    // Over HTTP (the fallback and beacons) as well.
    const response = await app.inject({
      method: 'POST',
      url: `/v1/collect?key=${store.public_key}`,
      headers: { 'content-type': 'text/plain', origin: SHOP },
      body: frame(3, [pageView()], 2),
    });
    expect(response.statusCode).toBe(200);
    expect(await droppedToday()).toBe(9);
  });

  it('counts nothing for a frame refused whole', async () => {
    const before = await droppedToday();
    const stream = await socket();
    stream.send(frame(1, [{ type: 'page_view' }], 4));
    expect(await stream.next()).toMatchObject({ t: 'ack', seq: 1, rejected: [{ index: 0 }] });
    stream.send(JSON.stringify({ t: 'batch', seq: 2, events: [pageView()], dropped: -1 }));
    expect(await stream.next()).toMatchObject({ t: 'nack', seq: 2, reason: 'invalid' });
    expect(await droppedToday()).toBe(before);
  });
});
