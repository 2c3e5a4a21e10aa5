import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, type Db } from '@winback/server/db';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './helpers/chromium.js';
import { type RunningCli, startCli } from './helpers/cli.js';
import { freePort } from './helpers/discover.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import { eventsOf } from './helpers/winback-server.js';

const chromium = needsChromium();
const pgUrl = needs('postgres');
// The demo runs on a database of this suite's own, so the test can read what it stored.
const database = useFreshDatabase(pgUrl);

const DELIVERY = { timeout: 45_000, interval: 200 };

// The demo storefront end to end: the real `winback demo`, the shop in Chromium, its sdk
// reporting to the demo's server, the events in Postgres.
describe.skipIf(!chromium || !pgUrl)('the demo storefront, wired to the sdk', () => {
  let browser: Browser;
  let demo: RunningCli;
  let dataDir: string;
  let base: string;
  let db: Db;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'winback-demo-sdk-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    [browser, demo] = await Promise.all([
      launchChromium(chromium!),
      startCli(
        ['demo'],
        { PORT: String(port), WINBACK_DATA_DIR: dataDir, DATABASE_URL: database.url },
        /admin: http/,
      ),
    ]);
    db = createDb(database.url, 2);
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.stop('SIGINT');
    await db?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function demoStoreId(): Promise<string> {
    const stores = await db.selectFrom('stores').select(['id', 'name']).execute();
    const store = stores.find((row) => row.name === 'Winback demo store');
    if (!store) throw new Error(`no demo store among ${JSON.stringify(stores)}`);
    return store.id;
  }

  it('stores the cart, the checkout and the order the shopper makes', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const sdk = page.waitForResponse((response) => response.url().endsWith('/sdk/winback.js'));
    await page.goto(`${base}/`);
    expect((await sdk).status()).toBe(200);
    const storeId = await demoStoreId();
    await expect
      .poll(async () => (await eventsOf(db, storeId, 'page_view')).length, DELIVERY)
      .toBe(1);

    // The first cart with lines brings in the sdk's lazy part (exit intent), from next to it.
    const lazyPart = page.waitForResponse((response) =>
      /\/sdk\/winback-lazy-[0-9a-f]{8}\.js$/.test(response.url()),
    );
    await page.locator('.product .add').first().click();
    expect((await lazyPart).status()).toBe(200);
    await page.locator('.product .add').first().click();
    await page.locator('.product .add').nth(1).click();
    await expect
      .poll(async () => (await eventsOf(db, storeId, 'cart_updated')).length, DELIVERY)
      .toBe(3);
    const carts = await eventsOf(db, storeId, 'cart_updated');
    const last = carts.at(-1)?.payload as {
      cart: { currency: string; subtotal: number; lines: Record<string, unknown>[] };
    };
    expect(last.cart.currency).toBe('EUR');
    expect(last.cart.subtotal).toBe(2 * 1800 + 1450);
    expect(last.cart.lines[0]).toMatchObject({
      id: 'mug-sunrise',
      title: 'Sunrise mug',
      variant: 'Orange',
      quantity: 2,
      unitPrice: 1800,
      imageUrl: `${base}/images/mug-sunrise.svg`,
    });
    // One cart, named on every event about it.
    expect(new Set(carts.map((row) => row.cart_id)).size).toBe(1);

    await page.locator('.cart-toggle').click();
    await page.locator('#checkout').click();
    await expect
      .poll(async () => (await eventsOf(db, storeId, 'order_completed')).length, DELIVERY)
      .toBe(1);
    const [checkout] = await eventsOf(db, storeId, 'checkout_started');
    expect(checkout?.payload).toMatchObject({ value: 5050, currency: 'EUR' });
    const [order] = await eventsOf(db, storeId, 'order_completed');
    expect(order?.payload).toMatchObject({ value: 5050, currency: 'EUR' });
    expect(order?.cart_id).toBe(carts[0]?.cart_id);

    // The product images the sdk reported are really there.
    const image = await page.request.get(`${base}/images/mug-sunrise.svg`);
    expect(image.status()).toBe(200);
    expect(problems).toEqual([]);
    await page.close();
  });
});
