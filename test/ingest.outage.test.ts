import { buildApp, createStore, loadConfig, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/discover.js';
import { batch, cartUpdated, pageView, rowCounts } from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { openStream, openWebSocket } from './helpers/websocket.js';

const pgUrl = needs('postgres');
const SHOP = 'https://shop.example';
const SOME_KEY = 'pk_AAAAAAAAAAAAAAAAAAAAAAAA';

describe('ingest when Postgres cannot be reached at all', () => {
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    const port = await freePort();
    app = await buildApp(
      loadConfig({
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/none`,
        LOG_LEVEL: 'silent',
      }),
    );
  });
  afterAll(() => app?.close());

  it('answers a POST with 503 and Retry-After, not 401: the key may well be good', async () => {
    const response = await app.inject({
      method: 'POST',
      url: `/v1/collect?key=${SOME_KEY}`,
      headers: { 'content-type': 'text/plain', origin: SHOP },
      body: batch(1, [pageView()]),
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      error: { code: 'WB_ERR_UNAVAILABLE', message: expect.any(String) },
    });
    expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  });

  it('refuses the WebSocket upgrade with 503 and Retry-After', async () => {
    await expect(
      app.injectWS(`/v1/stream?key=${SOME_KEY}`, { headers: { origin: SHOP } }),
    ).rejects.toThrow(/503/);
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const upgrade = await openWebSocket(
      `${address.replace(/^http/, 'ws')}/v1/stream?key=${SOME_KEY}`,
      SHOP,
    );
    expect(upgrade).toMatchObject({ opened: false, status: 503 });
    if (!upgrade.opened) {
      expect(upgrade.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(JSON.parse(upgrade.body).error.code).toBe('WB_ERR_UNAVAILABLE');
    }
  });

  it('never answers any request with a 5xx other than 503', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constant(SOME_KEY),
          fc.stringMatching(/^pk_[A-Za-z0-9_-]{24,30}$/),
          fc.string(),
        ),
        fc.option(fc.constantFrom(SHOP, 'null', 'https://x.example', ''), { nil: undefined }),
        fc.constantFrom('text/plain', 'application/json', 'application/xml'),
        fc.oneof(fc.string(), fc.json(), fc.constant(batch(1, [cartUpdated()]))),
        async (key, origin, contentType, body) => {
          const response = await app.inject({
            method: 'POST',
            url: `/v1/collect?key=${encodeURIComponent(key)}`,
            headers: { 'content-type': contentType, ...(origin === undefined ? {} : { origin }) },
            body,
          });
          expect([401, 503]).toContain(response.statusCode);
          if (response.statusCode === 503) {
            expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe.skipIf(!pgUrl)('ingest while Postgres goes away and comes back', () => {
  const database = useFreshDatabase(pgUrl);
  let db: Db;
  let proxy: TcpProxy;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let store: Store;
  let base: string;

  beforeAll(async () => {
    db = createDb(database.url, 2);
    await migrateToLatest(db);
    store = (await createStore(db, { name: 'Shop', allowedOrigins: [SHOP] })).store;
    const direct = new URL(database.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const throughProxy = new URL(database.url);
    throughProxy.hostname = '127.0.0.1';
    throughProxy.port = String(proxy.port);
    app = await buildApp(
      loadConfig({ DATABASE_URL: throughProxy.toString(), LOG_LEVEL: 'silent' }),
    );
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace(/^http/, 'ws');
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await db?.destroy();
  });

  it('nacks with a jittered retryAfterMs while it is gone, then stores the resend once', async () => {
    const stream = await openStream(`${base}/v1/stream?key=${store.public_key}`, SHOP);
    const before = [pageView()];
    stream.send(batch(1, before));
    expect(await stream.next()).toEqual({ t: 'ack', seq: 1 });

    await proxy.cut();
    const during = [cartUpdated(), pageView()];
    stream.send(batch(2, during));
    const nack = (await stream.next()) as { retryAfterMs: number };
    expect(nack).toMatchObject({ t: 'nack', seq: 2, reason: 'unavailable' });
    expect(nack.retryAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(nack.retryAfterMs).toBeLessThanOrEqual(5_000);

    // The HTTP fallback says the same, as a 503 with Retry-After.
    const collected = await app.inject({
      method: 'POST',
      url: `/v1/collect?key=${store.public_key}`,
      headers: { 'content-type': 'text/plain', origin: SHOP },
      body: batch(3, during),
    });
    expect(collected.statusCode).toBe(503);
    expect(collected.json().error.code).toBe('WB_ERR_UNAVAILABLE');
    expect(collected.headers['retry-after']).toMatch(/^[1-5]$/);
    expect(
      await rowCounts(
        db,
        store.id,
        during.map((event) => event.id),
      ),
    ).toEqual([0, 0]);

    await proxy.restore();
    // The socket survived the outage; the sdk resends the nacked frame.
    stream.send(batch(2, during));
    expect(await stream.next()).toEqual({ t: 'ack', seq: 2 });
    stream.send(batch(2, during));
    expect(await stream.next()).toEqual({ t: 'ack', seq: 2 });
    expect(
      await rowCounts(
        db,
        store.id,
        [...before, ...during].map((event) => event.id),
      ),
    ).toEqual([1, 1, 1]);
    stream.socket.close();
  });
});
