import websocket, { type WebSocket } from '@fastify/websocket';
import {
  createStore,
  type IngestFeatureOptions,
  ingestFeature,
  revokeStore,
  type Store,
  type StoredBatch,
  updateAllowedOrigins,
  websocketOptions,
} from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pageView, storedEvents } from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';

const postgres = needs('postgres');
const SHOP = 'https://shop.example';

let db: Db;
let store: Store;
let KEY: string;
const database = useFreshDatabase(postgres);

beforeAll(async () => {
  if (!postgres) return;
  db = createDb(database.url, 4);
  await migrateToLatest(db);
});
afterAll(() => db?.destroy());

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** The feature alone on a bare Fastify app, with a new store on the real database. */
async function ingestApp(options: IngestFeatureOptions = {}) {
  store = (await createStore(db, { name: 'Shop', allowedOrigins: [SHOP] })).store;
  KEY = store.public_key;
  const app = Fastify();
  apps.push(app);
  app.decorate('db', db);
  await app.register(websocket, websocketOptions);
  await app.register(ingestFeature, options);
  await app.ready();
  return { app };
}

async function openSocket(app: FastifyInstance) {
  const inbox: unknown[] = [];
  const readers: ((message: unknown) => void)[] = [];
  let socket: WebSocket | undefined;
  let closedWith: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => {
    closedWith = resolve;
  });
  await app.injectWS(
    `/v1/stream?key=${KEY}`,
    { headers: { origin: SHOP } },
    {
      onInit: (ws) => {
        socket = ws;
        ws.on('message', (data: Buffer) => {
          const message: unknown = JSON.parse(data.toString('utf8'));
          const reader = readers.shift();
          if (reader) reader(message);
          else inbox.push(message);
        });
        ws.on('close', (code: number) => closedWith(code));
      },
    },
  );
  return {
    send: (seq: number, events: unknown[]) =>
      socket!.send(JSON.stringify({ t: 'batch', seq, events })),
    next: () =>
      inbox.length > 0
        ? Promise.resolve(inbox.shift())
        : new Promise<unknown>((resolve) => readers.push(resolve)),
    closed,
  };
}

describe.skipIf(!postgres)('ingestFeature', () => {
  it('refuses to register without the WebSocket plugin, or with its 100 MiB default', async () => {
    const bare = Fastify();
    apps.push(bare);
    bare.decorate('db', db);
    await expect(bare.register(ingestFeature).ready()).rejects.toThrow(/@fastify\/websocket/);

    const lax = Fastify();
    apps.push(lax);
    lax.decorate('db', db);
    await lax.register(websocket);
    await expect(lax.register(ingestFeature).ready()).rejects.toThrow(/maxPayload/);
  });

  it('names a bad option', async () => {
    for (const [options, name] of [
      [{ storeCacheTtlMs: -1 }, 'storeCacheTtlMs'],
      [{ unknownKeyTtlMs: 1.5 }, 'unknownKeyTtlMs'],
      [{ onEventsStored: ['not a function'] }, 'onEventsStored'],
    ] as const) {
      await expect(ingestApp(options as IngestFeatureOptions)).rejects.toThrow(name);
    }
  });

  it('tells onEventsStored listeners about each committed batch', async () => {
    const seen: StoredBatch[] = [];
    const { app } = await ingestApp({ onEventsStored: [(batch) => void seen.push(batch)] });
    const stream = await openSocket(app);
    const events = [pageView(), pageView()];
    stream.send(1, events);
    expect(await stream.next()).toEqual({ t: 'ack', seq: 1 });
    // At least these fields (a socket's batch may carry more, such as its command channel).
    expect(seen).toMatchObject([
      { storeId: store.id, receivedAt: expect.any(Date), events, stored: 2, carts: [] },
    ]);
  });

  it('stops an open socket once its key is revoked, storing nothing after', async () => {
    const { app } = await ingestApp({ storeCacheTtlMs: 0, unknownKeyTtlMs: 0 });
    const stream = await openSocket(app);
    const first = pageView();
    stream.send(1, [first]);
    expect(await stream.next()).toEqual({ t: 'ack', seq: 1 });

    await revokeStore(db, store.id);
    stream.send(2, [pageView()]);
    stream.send(3, [pageView()]);
    expect(await stream.next()).toMatchObject({ t: 'nack', seq: 2, reason: 'unauthorized' });
    expect(await stream.closed).toBe(1008);
    expect([...(await storedEvents(db, store.id)).keys()]).toEqual([first.id]);
  });

  it('stops an open socket once its origin is taken off the allow-list', async () => {
    const { app } = await ingestApp({ storeCacheTtlMs: 0 });
    const stream = await openSocket(app);
    await updateAllowedOrigins(db, store.id, ['https://new-shop.example']);
    stream.send(1, [pageView()]);
    expect(await stream.next()).toMatchObject({ t: 'nack', seq: 1, reason: 'unauthorized' });
    expect(await stream.closed).toBe(1008);
    expect((await storedEvents(db, store.id)).size).toBe(0);
  });
});
