import { createStore, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './helpers/chromium.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import { type ShopPages, startShopPages } from './helpers/shop-pages.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { eventsOf, type RestartableServer, restartableServer } from './helpers/winback-server.js';

// Postgres goes away for ten seconds while a shopper keeps using the store. The server reaches
// Postgres through a TCP proxy the test cuts (clients see resets, then refused connections) and
// restores; the browser is real Chromium running the sdk's script-tag build. What is checked is
// the end state: every event the page tracked is stored once, in order, and the server that
// lived through the outage is the one that stores them.

const chromium = needsChromium();
const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

/** The sdk backs off while it is refused (1 s doubling, capped), so delivery may take a while. */
const DELIVERY = { timeout: 60_000, interval: 250 };
/** The scenario's outage: long enough for several refused frames and reconnects. */
const OUTAGE_MS = 10_000;

declare global {
  interface Window {
    stepsTracked?: number;
    putInCart(quantity: number): void;
    trackSteps(label: string, count: number, everyMs: number): Promise<number>;
    winback: ((name: string, ...args: unknown[]) => unknown) & { loaded?: boolean };
  }
}

describe.skipIf(!chromium || !pgUrl)('the sdk in Chromium while Postgres is down', () => {
  let db: Db;
  let proxy: TcpProxy;
  let server: RestartableServer;
  let shop: ShopPages;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let store: Store | undefined;

  beforeAll(async () => {
    db = createDb(database.url, 2);
    await migrateToLatest(db);
    const direct = new URL(database.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(database.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    server = await restartableServer(proxied.toString());
    await server.start();
    shop = await startShopPages({
      variables: () => ({
        WINBACK_KEY: store?.public_key ?? '',
        WINBACK_ENDPOINT: server.url,
        SDK_SRC: `${server.url}/sdk/winback.js`,
      }),
    });
    browser = await launchChromium(chromium!);
  });

  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    await shop?.close();
    await server?.stop();
    await proxy?.close();
    await db?.destroy();
  });

  async function openShop(): Promise<{ page: Page; problems: string[] }> {
    context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${shop.origin}/`);
    await page.waitForFunction(() => window.winback.loaded === true);
    return { page, problems };
  }

  const stepsOf = async (id: string) => eventsOf(db, id, 'checkout_step');

  it('stores every event tracked during a 10 s outage once, in order, after Postgres returns', async () => {
    store = (await createStore(db, { name: 'Outage shop', allowedOrigins: [shop.origin] })).store;
    const { page, problems } = await openShop();
    await expect
      .poll(async () => (await eventsOf(db, store!.id, 'page_view')).length, DELIVERY)
      .toBe(1);
    await page.evaluate(() => window.putInCart(2));
    await expect
      .poll(async () => (await eventsOf(db, store!.id, 'cart_updated')).length, DELIVERY)
      .toBe(1);

    const nackedBefore = await framesNacked(server);
    await proxy.cut();
    const cutAt = Date.now();
    const total = 40;
    await page.evaluate((count) => window.trackSteps('outage', count, 100), total);
    // The server refused at least one of those frames (nack `unavailable`) rather than acking it.
    await expect.poll(() => framesNacked(server), DELIVERY).toBeGreaterThan(nackedBefore);
    expect(await stepsOf(store.id)).toEqual([]);
    await page.waitForTimeout(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
    await proxy.restore();

    await expect.poll(async () => (await stepsOf(store!.id)).length, DELIVERY).toBe(total);
    const steps = await stepsOf(store.id);
    expect(steps.map((row) => row.payload.index)).toEqual([...Array(total).keys()]);
    expect(new Set(steps.map((row) => row.id)).size).toBe(total);
    const received = steps.map((row) => row.received_at.getTime());
    expect(received).toEqual([...received].sort((a, b) => a - b));
    // Nothing acked before the outage was lost or stored again.
    expect((await eventsOf(db, store.id, 'page_view')).length).toBe(1);
    expect((await eventsOf(db, store.id, 'cart_updated')).length).toBe(1);
    // The page's sdk never threw, and its local queue is empty again.
    expect(problems).toEqual([]);
    await expect
      .poll(
        () =>
          page.evaluate((key) => {
            const saved = JSON.parse(localStorage.getItem(`wb_q_${key}`) ?? '{}') as {
              events?: unknown[];
            };
            return saved.events?.length ?? 0;
          }, store!.public_key),
        DELIVERY,
      )
      .toBe(0);
  });
});

/** WebSocket frames the running server refused because the database was unavailable. */
async function framesNacked(server: RestartableServer): Promise<number> {
  return server.nackedFrames('ws', 'unavailable');
}
