import { buildApp, createStore, loadConfig, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batch, cartUpdated, eventId, storedEvents } from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop-device.example';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

function pageView(cartId: string, device: object): TrackedEvent {
  return {
    id: eventId(),
    ts: Date.UTC(2026, 10, 23, 12),
    sessionId: 'session_0001',
    anonymousId: 'anon_000001',
    cartId,
    type: 'page_view',
    page: { url: `${SHOP}/products/mug` },
    device,
  } as TrackedEvent;
}

// The sdk sends only what only the browser knows; the server reads the rest from the request.
describe.skipIf(!pgUrl)('device from the request', () => {
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let store: Store;

  beforeAll(async () => {
    db = createDb(database.url, 2);
    await migrateToLatest(db);
    store = (await createStore(db, { name: 'Device shop', allowedOrigins: [SHOP] })).store;
    app = await buildApp(loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' }));
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  const post = (events: TrackedEvent[], userAgent: string) =>
    app.inject({
      method: 'POST',
      url: `/v1/collect?key=${store.public_key}`,
      headers: { origin: SHOP, 'content-type': 'text/plain', 'user-agent': userAgent },
      payload: batch(1, events),
    });

  it('fills type, OS and browser into a page view and onto its cart', async () => {
    const view = pageView('cart-phone', { viewport: { width: 390, height: 844 }, language: 'en' });
    const cart = { ...cartUpdated(), cartId: 'cart-phone' };
    expect((await post([view, cart], IPHONE)).statusCode).toBe(200);

    const stored = (await storedEvents(db, store.id)).get(view.id);
    expect(stored?.payload.device).toEqual({
      viewport: { width: 390, height: 844 },
      language: 'en',
      type: 'mobile',
      os: 'iOS',
      browser: 'Safari',
    });
    const row = await db
      .selectFrom('carts')
      .select('device')
      .where('store_id', '=', store.id)
      .where('external_id', '=', 'cart-phone')
      .executeTakeFirstOrThrow();
    expect(row.device).toBe('mobile');
  });

  it('keeps what the browser itself said', async () => {
    const view = pageView('cart-own', { type: 'tablet', viewport: { width: 800, height: 1200 } });
    expect((await post([view], IPHONE)).statusCode).toBe(200);
    const stored = (await storedEvents(db, store.id)).get(view.id);
    expect(stored?.payload.device).toMatchObject({ type: 'tablet', os: 'iOS' });
  });
});
