import { randomInt } from 'node:crypto';
import {
  buildApp,
  createLogger,
  createQueue,
  createStore,
  type JobQueue,
  loadConfig,
  type Store,
} from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocketClient from 'ws';
import { batch, cartUpdated, pageView, storedEvents } from './helpers/ingest.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';
import { type Conversation, converse } from './helpers/websocket.js';

const pgUrl = needs('postgres');
const redisUrl = needs('redis');
const database = useFreshDatabase(pgUrl);

const SHOP = 'https://shop.example';
// Small enough that a quick burst goes over them; no test depends on timing.
const EVENTS_PER_SECOND = 5;
const FRAMES_PER_IP = 3;

let db: Db;
beforeAll(async () => {
  if (!pgUrl) return;
  db = createDb(database.url, 4);
  await migrateToLatest(db);
});
afterAll(() => db?.destroy());

/** A documentation-range address of its own, so per-IP limits stay out of the way. */
const someIp = () => `198.51.100.${randomInt(1, 255)}, 10.0.0.${randomInt(1, 255)}`;
const newStore = async () =>
  (await createStore(db, { name: uniqueName('shop'), allowedOrigins: [SHOP] })).store;
const twoEvents = (): TrackedEvent[] => [cartUpdated(), pageView()];

async function storedIds(store: Store): Promise<Set<string>> {
  return new Set((await storedEvents(db, store.id)).keys());
}

function post(app: FastifyInstance, store: Store, body: string, ip = someIp()) {
  return app.inject({
    method: 'POST',
    url: `/v1/collect?key=${encodeURIComponent(store.public_key)}`,
    headers: { 'content-type': 'text/plain', origin: SHOP, 'x-forwarded-for': ip },
    body,
  });
}

async function openSocket(app: FastifyInstance, store: Store, ip = someIp()) {
  let conversation: Conversation | undefined;
  await app.injectWS(
    `/v1/stream?key=${encodeURIComponent(store.public_key)}`,
    { headers: { origin: SHOP, 'x-forwarded-for': ip } },
    { onInit: (socket) => (conversation = converse(socket)) },
  );
  return conversation as Conversation;
}

/** A socket on a real port, so the app reads the client address from X-Forwarded-For. */
async function openRealSocket(app: FastifyInstance, store: Store, ip: string) {
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `${address.replace(/^http/, 'ws')}/v1/stream?key=${encodeURIComponent(store.public_key)}`;
  const socket = new WebSocketClient(url, { origin: SHOP, headers: { 'x-forwarded-for': ip } });
  const conversation = converse(socket);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return conversation;
}

const adapters: [string, string | undefined, Record<string, string>][] = [
  ['in-process', pgUrl, {}],
  ['redis', pgUrl && redisUrl, { REDIS_URL: redisUrl ?? '', QUEUE_PREFIX: uniqueName('wb_rl') }],
];

describe.each(adapters)('ingest rate limits (%s limiter)', (_name, available, env) => {
  // One app per limit under test, so the other limit stays out of the way.
  let app: FastifyInstance;
  let ipApp: FastifyInstance;
  const start = (eventsPerSecond: number, framesPerIp: number) =>
    buildApp(
      loadConfig({
        DATABASE_URL: database.url,
        LOG_LEVEL: 'silent',
        RATE_LIMIT_EVENTS_PER_SECOND: String(eventsPerSecond),
        RATE_LIMIT_FRAMES_PER_IP_PER_SECOND: String(framesPerIp),
        ...env,
      }),
    );

  beforeAll(async () => {
    if (!available) return;
    app = await start(EVENTS_PER_SECOND, 10_000);
    ipApp = await start(10_000, FRAMES_PER_IP);
  });
  afterAll(async () => {
    await app?.close();
    await ipApp?.close();
  });

  it.skipIf(!available)(
    'answers 429 with Retry-After over the per-key limit over HTTP, stores nothing over it, and leaves another store alone',
    async () => {
      const store = await newStore();
      const other = await newStore();
      const accepted = new Set<string>();
      const refused: string[] = [];
      for (let seq = 1; seq <= 6; seq += 1) {
        const events = twoEvents();
        const response = await post(app, store, batch(seq, events));
        if (response.statusCode === 200) {
          expect(response.json()).toEqual({ t: 'ack', seq });
          for (const event of events) accepted.add(event.id);
        } else {
          expect(response.statusCode).toBe(429);
          expect(response.json()).toEqual({
            error: { code: 'WB_ERR_RATE_LIMITED', message: expect.any(String) },
          });
          expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
          expect(response.headers['access-control-allow-origin']).toBe(SHOP);
          refused.push(...events.map((event) => event.id));
        }
      }
      expect(refused.length).toBeGreaterThan(0);
      expect(await storedIds(store)).toEqual(accepted);

      const events = twoEvents();
      const response = await post(app, other, batch(1, events));
      expect(response.json()).toEqual({ t: 'ack', seq: 1 });
      expect(await storedIds(other)).toEqual(new Set(events.map((event) => event.id)));
    },
  );

  it.skipIf(!available)(
    'nacks rate_limited with retryAfterMs over the per-key limit on a socket, which stays open',
    async () => {
      const store = await newStore();
      const other = await newStore();
      const stream = await openSocket(app, store);
      const sent = new Map<number, TrackedEvent[]>();
      for (let seq = 1; seq <= 6; seq += 1) {
        const events = twoEvents();
        sent.set(seq, events);
        stream.send(batch(seq, events));
      }
      const accepted = new Set<string>();
      let limited = 0;
      for (let seq = 1; seq <= 6; seq += 1) {
        const answer = (await stream.next()) as Record<string, unknown>;
        expect(answer.seq).toBe(seq);
        if (answer.t === 'ack') {
          for (const event of sent.get(seq) ?? []) accepted.add(event.id);
        } else {
          expect(answer).toMatchObject({ t: 'nack', reason: 'rate_limited' });
          expect(answer.retryAfterMs).toBeGreaterThan(0);
          limited += 1;
        }
      }
      expect(limited).toBeGreaterThan(0);
      expect(stream.socket.readyState).toBe(stream.socket.OPEN);
      expect(await storedIds(store)).toEqual(accepted);

      const otherStream = await openSocket(app, other);
      otherStream.send(batch(1, twoEvents()));
      expect(await otherStream.next()).toEqual({ t: 'ack', seq: 1 });
      stream.socket.close();
      otherStream.socket.close();
    },
  );

  it.skipIf(!available)('limits frames per client IP, on both transports', async () => {
    const store = await newStore();
    const ip = someIp();
    const accepted = new Set<string>();
    let refused = 0;
    for (let seq = 1; seq <= FRAMES_PER_IP + 2; seq += 1) {
      const events = [pageView()];
      const response = await post(ipApp, store, batch(seq, events), ip);
      if (response.statusCode === 200) {
        for (const event of events) accepted.add(event.id);
      } else {
        expect(response.statusCode).toBe(429);
        expect(response.json().error.code).toBe('WB_ERR_RATE_LIMITED');
        expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        refused += 1;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(await storedIds(store)).toEqual(accepted);

    const stream = await openRealSocket(ipApp, await newStore(), someIp());
    for (let seq = 1; seq <= FRAMES_PER_IP + 2; seq += 1) stream.send(batch(seq, [pageView()]));
    const answers: Record<string, unknown>[] = [];
    for (let seq = 1; seq <= FRAMES_PER_IP + 2; seq += 1) {
      answers.push((await stream.next()) as Record<string, unknown>);
    }
    expect(answers.some((answer) => answer.reason === 'rate_limited')).toBe(true);
    expect(stream.socket.readyState).toBe(stream.socket.OPEN);
    stream.socket.close();

    // Another address is not held back by the first one's flood.
    const response = await post(ipApp, store, batch(99, [pageView()]));
    expect(response.statusCode).toBe(200);
  });
});

describe.skipIf(!pgUrl)('ingest rate limits with Redis unreachable', () => {
  let app: FastifyInstance;
  let queue: JobQueue;

  beforeAll(async () => {
    const config = loadConfig({
      DATABASE_URL: database.url,
      LOG_LEVEL: 'silent',
      // Nothing listens on port 1: every take fails at once.
      REDIS_URL: 'redis://127.0.0.1:1',
      QUEUE_PREFIX: uniqueName('wb_rl'),
      RATE_LIMIT_EVENTS_PER_SECOND: String(EVENTS_PER_SECOND),
      RATE_LIMIT_FRAMES_PER_IP_PER_SECOND: String(FRAMES_PER_IP),
    });
    queue = createQueue({ redisUrl: undefined, logger: createLogger(config) });
    app = await buildApp(config, { queue });
  });
  afterAll(async () => {
    await app?.close();
    await queue?.close();
  });

  it('fails open: every frame of a flood is stored', async () => {
    const store = await newStore();
    const ip = someIp();
    const all = new Set<string>();
    for (let seq = 1; seq <= 6; seq += 1) {
      const events = twoEvents();
      const response = await post(app, store, batch(seq, events), ip);
      expect(response.json()).toEqual({ t: 'ack', seq });
      for (const event of events) all.add(event.id);
    }
    const stream = await openSocket(app, store, ip);
    for (let seq = 1; seq <= 6; seq += 1) {
      const events = twoEvents();
      stream.send(batch(seq, events));
      expect(await stream.next()).toEqual({ t: 'ack', seq });
      for (const event of events) all.add(event.id);
    }
    stream.socket.close();
    expect(await storedIds(store)).toEqual(all);
  });
});
