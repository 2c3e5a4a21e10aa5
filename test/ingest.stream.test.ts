import { buildApp, createStore, loadConfig, revokeStore, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { limits } from '@winback/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batch,
  cartUpdated,
  expectedRow,
  pageView,
  rowCounts,
  storedEvents,
} from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import { type Conversation, converse, openStream, openWebSocket } from './helpers/websocket.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

const SHOP_A = 'https://shop-a.example';
const SHOP_B = 'https://shop-b.example';

describe.skipIf(!pgUrl)('ingest over WebSocket /v1/stream', () => {
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let base: string;
  let storeA: Store;
  let storeB: Store;

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    storeA = (await createStore(db, { name: 'Shop A', allowedOrigins: [SHOP_A] })).store;
    storeB = (await createStore(db, { name: 'Shop B', allowedOrigins: [SHOP_B] })).store;
    app = await buildApp(loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' }));
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    base = address.replace(/^http/, 'ws');
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  const streamUrl = (key: string) => `${base}/v1/stream?key=${encodeURIComponent(key)}`;

  /** A socket through injectWS (no network), sending `origin`. */
  async function inject(key: string, origin: string): Promise<Conversation> {
    let conversation: Conversation | undefined;
    await app.injectWS(
      `/v1/stream?key=${encodeURIComponent(key)}`,
      { headers: { origin } },
      { onInit: (socket) => (conversation = converse(socket)) },
    );
    return conversation!;
  }

  it('acks a good batch after storing its events, envelope in columns and the rest in payload', async () => {
    const events = [cartUpdated(), pageView()];
    const stream = await inject(storeA.public_key, SHOP_A);
    stream.send(batch(1, events));
    expect(await stream.next()).toEqual({ t: 'ack', seq: 1 });

    // The ack came after COMMIT, so another connection sees the rows now.
    const stored = await storedEvents(db, storeA.id);
    for (const event of events) {
      expect(stored.get(event.id)).toMatchObject(expectedRow(event));
      expect(stored.get(event.id)?.received_at).toBeInstanceOf(Date);
    }
    stream.socket.close();
  });

  it('acks a resent batch again and stores nothing twice', async () => {
    const events = [cartUpdated(), cartUpdated(), pageView()];
    const ids = events.map((event) => event.id);
    const stream = await inject(storeA.public_key, SHOP_A);
    stream.send(batch(7, events));
    expect(await stream.next()).toEqual({ t: 'ack', seq: 7 });
    // Resent as the sdk does after a lost ack (same ids), and once more under a new seq with
    // one event repeated inside the frame.
    stream.send(batch(7, events));
    expect(await stream.next()).toEqual({ t: 'ack', seq: 7 });
    stream.send(batch(8, [...events, events[0]]));
    expect(await stream.next()).toEqual({ t: 'ack', seq: 8 });
    expect(await rowCounts(db, storeA.id, ids)).toEqual([1, 1, 1]);
    stream.socket.close();
  });

  it('answers frames in the order they were sent, on a real socket', async () => {
    const stream = await openStream(streamUrl(storeA.public_key), SHOP_A);
    // A big frame first and small ones after: were frames handled concurrently, the small ones
    // would commit and be acked first.
    const frames = Array.from({ length: 25 }, (_, seq) =>
      Array.from({ length: seq === 0 ? limits.eventsPerFrame : 1 + (seq % 3) }, () => pageView()),
    );
    for (const [seq, events] of frames.entries()) stream.send(batch(seq, events));
    const answers = [];
    for (let i = 0; i < frames.length; i += 1) answers.push(await stream.next());
    expect(answers).toEqual(frames.map((_, seq) => ({ t: 'ack', seq })));
    const ids = frames.flat().map((event) => event.id);
    expect(new Set(await rowCounts(db, storeA.id, ids))).toEqual(new Set([1]));
    stream.socket.close();
  });

  it('stores the good events of a frame and lists the malformed ones as rejected', async () => {
    const good = [cartUpdated(), pageView(), cartUpdated()];
    const missingSession = { ...pageView(), sessionId: undefined };
    const unknownField = { ...pageView(), shopperEmail: 'someone@example.com' };
    // Valid by the schema, but Postgres cannot store a NUL character.
    const withNul = cartUpdated('mug\u0000');
    const frame = [good[0], missingSession, good[1], unknownField, withNul, good[2]];
    const stream = await inject(storeA.public_key, SHOP_A);
    stream.send(batch(3, frame));
    const answer = (await stream.next()) as { t: string; seq: number; rejected: unknown[] };
    expect(answer).toMatchObject({ t: 'ack', seq: 3 });
    expect(answer.rejected).toEqual([
      { index: 1, message: expect.stringMatching(/^events\.1\.sessionId/) },
      { index: 3, message: expect.stringMatching(/^events\.3/) },
      { index: 4, message: expect.stringMatching(/^events\.4: .*NUL/) },
    ]);
    const stored = await storedEvents(db, storeA.id);
    for (const event of good) expect(stored.get(event.id)).toMatchObject(expectedRow(event));
    for (const event of [missingSession, unknownField, withNul]) {
      expect(stored.has(event.id)).toBe(false);
    }
    stream.socket.close();
  });

  it('nacks frames that are not batches, keeping the socket open', async () => {
    const stream = await inject(storeA.public_key, SHOP_A);
    stream.send('not json');
    expect(await stream.next()).toMatchObject({ t: 'nack', seq: -1, reason: 'invalid' });
    stream.send(JSON.stringify({ t: 'batch', seq: 4, events: [] }));
    expect(await stream.next()).toMatchObject({
      t: 'nack',
      seq: 4,
      retryAfterMs: 0,
      reason: 'invalid',
    });
    stream.socket.send(Buffer.from(batch(5, [pageView()])), { binary: true });
    expect(await stream.next()).toMatchObject({ t: 'nack', seq: -1, reason: 'invalid' });
    const event = pageView();
    stream.send(batch(6, [event]));
    expect(await stream.next()).toEqual({ t: 'ack', seq: 6 });
    expect(await rowCounts(db, storeA.id, [event.id])).toEqual([1]);
    stream.socket.close();
  });

  it.each([
    ['a real socket', 'real'],
    ['injectWS', 'inject'],
  ] as const)(
    'closes the connection with 1009 on a frame over 64 KiB, storing nothing (%s)',
    async (_name, how) => {
      // Every event is valid on its own; only the frame is too big.
      const events = Array.from({ length: 9 }, () => cartUpdated('x'.repeat(8_000)));
      const frame = batch(1, events);
      expect(Buffer.byteLength(frame)).toBeGreaterThan(limits.frameBytes);
      const stream =
        how === 'real'
          ? await openStream(streamUrl(storeA.public_key), SHOP_A)
          : await inject(storeA.public_key, SHOP_A);
      stream.send(frame);
      expect((await stream.closed).code).toBe(1009);
      expect(
        await rowCounts(
          db,
          storeA.id,
          events.map((event) => event.id),
        ),
      ).toEqual(events.map(() => 0));
    },
  );

  describe('refuses the upgrade', () => {
    it('with 401 for an unknown, missing or malformed key', async () => {
      for (const url of [
        streamUrl('pk_unknownunknownunknownunknown'),
        `${base}/v1/stream`,
        streamUrl('not-a-key'),
      ]) {
        const upgrade = await openWebSocket(url, SHOP_A);
        expect(upgrade).toMatchObject({ opened: false, status: 401 });
        if (!upgrade.opened) {
          expect(JSON.parse(upgrade.body)).toEqual({
            error: { code: 'WB_ERR_UNAUTHORIZED', message: expect.any(String) },
          });
        }
      }
    });

    it('with 401 for a revoked key', async () => {
      const { store } = await createStore(db, { name: 'Closed', allowedOrigins: [SHOP_A] });
      await revokeStore(db, store.id);
      const upgrade = await openWebSocket(streamUrl(store.public_key), SHOP_A);
      expect(upgrade).toMatchObject({ opened: false, status: 401 });
      if (!upgrade.opened) expect(JSON.parse(upgrade.body).error.code).toBe('WB_ERR_UNAUTHORIZED');
      await expect(inject(store.public_key, SHOP_A)).rejects.toThrow(/401/);
    });

    it('with 403 for a foreign, missing or malformed Origin', async () => {
      for (const origin of [SHOP_B, 'https://shop-a.example.evil.example', 'null', undefined]) {
        const upgrade = await openWebSocket(streamUrl(storeA.public_key), origin);
        expect(upgrade, String(origin)).toMatchObject({ opened: false, status: 403 });
        if (!upgrade.opened) {
          expect(JSON.parse(upgrade.body).error.code).toBe('WB_ERR_FORBIDDEN');
          expect(upgrade.headers['access-control-allow-origin']).toBeUndefined();
        }
      }
      await expect(inject(storeA.public_key, SHOP_B)).rejects.toThrow(/403/);
    });

    it('accepts the allowed origin however its letters are cased', async () => {
      const stream = await openStream(streamUrl(storeA.public_key), 'https://Shop-A.example');
      const event = pageView();
      stream.send(batch(1, [event]));
      expect(await stream.next()).toEqual({ t: 'ack', seq: 1 });
      stream.socket.close();
    });
  });

  it('answers a plain GET (no upgrade) with a 400', async () => {
    const response = await app.inject({
      url: `/v1/stream?key=${storeA.public_key}`,
      headers: { origin: SHOP_A },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('WB_ERR_BAD_REQUEST');
  });

  it("keeps one store's traffic apart from another's refusals", async () => {
    const a = await openStream(streamUrl(storeA.public_key), SHOP_A);
    const b = await openStream(streamUrl(storeB.public_key), SHOP_B);
    const forB = [pageView(), cartUpdated(), pageView(), cartUpdated()];

    b.send(batch(1, forB.slice(0, 2)));
    a.send('{"t":"batch"');
    a.send(batch(9, [{ nonsense: true }]));
    expect(await a.next()).toMatchObject({ t: 'nack', reason: 'invalid' });
    expect(await a.next()).toMatchObject({ t: 'ack', seq: 9, rejected: [{ index: 0 }] });
    a.send(
      batch(
        10,
        Array.from({ length: 9 }, () => cartUpdated('y'.repeat(8_000))),
      ),
    );
    expect((await a.closed).code).toBe(1009);
    // Store A's key from store B's shop is refused.
    expect(await openWebSocket(streamUrl(storeA.public_key), SHOP_B)).toMatchObject({
      opened: false,
      status: 403,
    });

    expect(await b.next()).toEqual({ t: 'ack', seq: 1 });
    b.send(batch(2, forB.slice(2)));
    expect(await b.next()).toEqual({ t: 'ack', seq: 2 });
    const ids = forB.map((event) => event.id);
    expect(await rowCounts(db, storeB.id, ids)).toEqual([1, 1, 1, 1]);
    expect(await rowCounts(db, storeA.id, ids)).toEqual([0, 0, 0, 0]);
    // Store B holds only what was sent with its own key.
    expect([...(await storedEvents(db, storeB.id)).keys()].sort()).toEqual([...ids].sort());
    b.socket.close();
  });
});
