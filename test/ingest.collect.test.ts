import { request as httpRequest } from 'node:http';
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

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

const SHOP = 'https://shop.example';
const OTHER_SHOP = 'https://other-shop.example';

describe.skipIf(!pgUrl)('ingest over HTTP POST /v1/collect', () => {
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let store: Store;

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    store = (
      await createStore(db, { name: 'Shop', allowedOrigins: [SHOP, 'http://localhost:5173'] })
    ).store;
    await createStore(db, { name: 'Other shop', allowedOrigins: [OTHER_SHOP] });
    app = await buildApp(loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' }));
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  const post = (
    body: string,
    options: { contentType?: string; origin?: string | null; key?: string } = {},
  ) =>
    app.inject({
      method: 'POST',
      url: `/v1/collect?key=${encodeURIComponent(options.key ?? store.public_key)}`,
      headers: {
        ...(options.contentType === undefined
          ? { 'content-type': 'text/plain;charset=UTF-8' }
          : { 'content-type': options.contentType }),
        ...(options.origin === null ? {} : { origin: options.origin ?? SHOP }),
      },
      body,
    });

  it.each([
    ['text/plain;charset=UTF-8'],
    ['text/plain'],
    ['application/json'],
    ['application/json; charset=utf-8'],
  ])('stores a batch sent as %s and answers with its ack', async (contentType) => {
    const events = [cartUpdated(), pageView()];
    const response = await post(batch(12, events), { contentType });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ t: 'ack', seq: 12 });
    const stored = await storedEvents(db, store.id);
    for (const event of events) expect(stored.get(event.id)).toMatchObject(expectedRow(event));
  });

  it('stores a resent batch once', async () => {
    const events = [cartUpdated(), pageView()];
    for (const contentType of ['text/plain', 'application/json', 'text/plain']) {
      const response = await post(batch(1, events), { contentType });
      expect(response.json()).toEqual({ t: 'ack', seq: 1 });
    }
    expect(
      await rowCounts(
        db,
        store.id,
        events.map((event) => event.id),
      ),
    ).toEqual([1, 1]);
  });

  it('lists malformed events as rejected and stores the rest', async () => {
    const good = pageView();
    const bad = { ...cartUpdated(), cart: { currency: 'EURO', subtotal: -1, lines: [] } };
    const response = await post(batch(2, [bad, good]));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      t: 'ack',
      seq: 2,
      rejected: [{ index: 0, message: expect.stringMatching(/^events\.0\.cart/) }],
    });
    expect(await rowCounts(db, store.id, [bad.id, good.id])).toEqual([0, 1]);
  });

  it('refuses a frame that is not a batch with 400, and a __proto__ key among them', async () => {
    const event = pageView();
    for (const body of [
      '',
      'not json',
      '[]',
      '{"t":"batch","seq":1,"events":[]}',
      `{"t":"batch","seq":1,"events":[${JSON.stringify(event)}],"__proto__":{"admin":true}}`,
      `{"t":"ack","seq":1}`,
    ]) {
      const response = await post(body);
      expect(response.statusCode, body).toBe(400);
      expect(response.json()).toEqual({
        error: { code: 'WB_ERR_VALIDATION', message: expect.any(String) },
      });
    }
    expect(await rowCounts(db, store.id, [event.id])).toEqual([0]);
  });

  it('refuses a body over 64 KiB with 413, still telling the allowed origin why', async () => {
    const events = Array.from({ length: 9 }, () => cartUpdated('x'.repeat(8_000)));
    const body = batch(1, events);
    expect(Buffer.byteLength(body)).toBeGreaterThan(limits.frameBytes);
    for (const contentType of ['text/plain', 'application/json']) {
      const response = await post(body, { contentType });
      expect(response.statusCode).toBe(413);
      expect(response.json().error.code).toBe('WB_ERR_PAYLOAD_TOO_LARGE');
      expect(response.headers['access-control-allow-origin']).toBe(SHOP);
    }
    expect(
      await rowCounts(
        db,
        store.id,
        events.map((event) => event.id),
      ),
    ).toEqual(events.map(() => 0));
  });

  it('refuses other content types with 415', async () => {
    const response = await post(batch(1, [pageView()]), {
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().error.code).toBe('WB_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  describe('access', () => {
    it('refuses an unknown, missing or revoked key with 401', async () => {
      const { store: closed } = await createStore(db, { name: 'Closed', allowedOrigins: [SHOP] });
      await revokeStore(db, closed.id);
      const event = pageView();
      for (const key of [
        'pk_unknownunknownunknownunknown',
        '',
        'sk_notapublickey',
        closed.public_key,
      ]) {
        const response = await post(batch(1, [event]), { key });
        expect(response.statusCode, key).toBe(401);
        expect(response.json().error.code).toBe('WB_ERR_UNAUTHORIZED');
        expect(response.headers['access-control-allow-origin']).toBeUndefined();
      }
      expect(await rowCounts(db, store.id, [event.id])).toEqual([0]);
      expect(await rowCounts(db, closed.id, [event.id])).toEqual([0]);
    });

    it('refuses a foreign, missing or malformed Origin with 403 and no CORS grant', async () => {
      const event = pageView();
      for (const origin of [
        OTHER_SHOP,
        'https://shop.example:8443',
        'null',
        'http://shop.example',
        null,
      ]) {
        const response = await post(batch(1, [event]), { origin });
        expect(response.statusCode, String(origin)).toBe(403);
        expect(response.json().error.code).toBe('WB_ERR_FORBIDDEN');
        expect(response.headers['access-control-allow-origin']).toBeUndefined();
        expect(response.headers.vary).toMatch(/Origin/);
      }
      expect(await rowCounts(db, store.id, [event.id])).toEqual([0]);
    });

    it('echoes only the allowed origin, never *, and varies on Origin', async () => {
      for (const origin of [SHOP, 'http://localhost:5173']) {
        const response = await post(batch(1, [pageView()]), { origin });
        expect(response.statusCode).toBe(200);
        expect(response.headers['access-control-allow-origin']).toBe(origin);
        expect(response.headers.vary).toMatch(/Origin/);
      }
      // Refused frames from an allowed origin still carry the grant, so the sdk can read why.
      const refused = await post('nonsense');
      expect(refused.statusCode).toBe(400);
      expect(refused.headers['access-control-allow-origin']).toBe(SHOP);
    });

    it('answers a preflight from an allowed origin with 204 and refuses others', async () => {
      const preflight = (origin: string) =>
        app.inject({
          method: 'OPTIONS',
          url: `/v1/collect?key=${store.public_key}`,
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type',
          },
        });
      const allowed = await preflight(SHOP);
      expect(allowed.statusCode).toBe(204);
      expect(allowed.headers).toMatchObject({
        'access-control-allow-origin': SHOP,
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': expect.stringMatching(/^[1-9]\d*$/),
      });
      expect(allowed.headers.vary).toMatch(/Origin/);

      const foreign = await preflight(OTHER_SHOP);
      expect(foreign.statusCode).toBe(403);
      expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
      expect(foreign.headers['access-control-allow-methods']).toBeUndefined();
    });
  });

  it('works on a real port as a beacon would send it', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const events = [cartUpdated(), pageView()];
    const body = batch(3, events);
    const response = await new Promise<{
      status: number;
      headers: Record<string, unknown>;
      body: string;
    }>((resolve, reject) => {
      const url = new URL(`/v1/collect?key=${store.public_key}`, address);
      const request = httpRequest(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'text/plain;charset=UTF-8',
            'content-length': Buffer.byteLength(body),
            origin: SHOP,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ t: 'ack', seq: 3 });
    expect(response.headers['access-control-allow-origin']).toBe(SHOP);
    expect(
      await rowCounts(
        db,
        store.id,
        events.map((event) => event.id),
      ),
    ).toEqual([1, 1]);
  });
});
