import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, type Db } from '@winback/server/db';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './helpers/chromium.js';
import { type RunningCli, startCli } from './helpers/cli.js';
import { freePort } from './helpers/discover.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import { eventsOf } from './helpers/winback-server.js';

// On-site recovery end to end: the real `winback demo`, its storefront in Chromium, the sdk
// reporting the cart and the exit, the server deciding, and the widget it sends showing the
// exit modal. The demo store shows the modal for any cart, with a 10 % code.

const chromium = needsChromium();
const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

const DELIVERY = { timeout: 45_000, interval: 200 };
/** Screenshots for people to look at; git-ignored. */
const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));

describe.skipIf(!chromium || !pgUrl)('on-site recovery on the demo storefront', () => {
  let browser: Browser;
  let demo: RunningCli;
  let dataDir: string;
  let base: string;
  let db: Db;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'winback-demo-onsite-'));
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
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await demo?.stop('SIGINT');
    await db?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function demoStoreId(): Promise<string> {
    const store = await db
      .selectFrom('stores')
      .select('id')
      .where('name', '=', 'Winback demo store')
      .executeTakeFirstOrThrow();
    return store.id;
  }

  /** A fresh shopper (own profile) on the shop, with the page's clock under the test's control. */
  async function shopper(
    options: BrowserContextOptions,
  ): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext(options);
    contexts.push(context);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.clock.install();
    return { page, problems };
  }

  /** Puts two mugs and the beans in the cart; resolves with the lazy part's URL once it came. */
  async function fillCart(page: Page): Promise<string> {
    const lazyPart = page.waitForResponse((response) =>
      /\/sdk\/winback-lazy-[0-9a-f]{8}\.js$/.test(response.url()),
    );
    const widget = page.waitForResponse((response) => response.url().endsWith('/sdk/widget.js'));
    await page.goto(`${base}/`);
    await page.waitForFunction(
      () => (window as { winback?: { loaded?: boolean } }).winback?.loaded === true,
    );
    await page.locator('.product .add').first().click();
    await page.locator('.product .add').first().click();
    await page.locator('.product .add').nth(1).click();
    const url = (await lazyPart).url();
    // The server told the page to fetch the widget before any exit: it is there when needed.
    expect((await widget).status()).toBe(200);
    return url;
  }

  /** Exit intent is armed a second after the lazy part starts watching; moves the clock past it. */
  async function armExitIntent(page: Page, lazyPart: string): Promise<void> {
    await page.evaluate(`import(${JSON.stringify(lazyPart)}).then(() => true)`);
    await page.clock.fastForward(1000);
  }

  it('shows the exit modal with the cart and a code when the mouse leaves through the top', async () => {
    const { page, problems } = await shopper({ viewport: { width: 1280, height: 720 } });
    const lazyPart = await fillCart(page);
    await armExitIntent(page, lazyPart);
    const opener = page.locator('.cart-toggle');
    await opener.focus();

    await page.mouse.move(640, 360);
    await page.mouse.move(640, 2, { steps: 5 });
    await page.mouse.move(640, -20);
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.count(), DELIVERY).toBe(1);
    await page.screenshot({
      path: join(artifacts, 'onsite-exit-modal-desktop.png'),
      animations: 'disabled',
    });
    const text = (await dialog.textContent()) ?? '';
    expect(text).toContain('Sunrise mug');
    expect(text).toContain('House blend beans, 500 g');
    expect(text).toMatch(/Qty 2/);
    expect(text).toContain('€50.50');

    // The code on screen is the one the server issued for this cart.
    const storeId = await demoStoreId();
    const discount = await db
      .selectFrom('discounts')
      .select(['code', 'origin'])
      .where('store_id', '=', storeId)
      .executeTakeFirstOrThrow();
    expect(discount.origin).toBe('onsite');
    expect(text).toContain(discount.code);
    await expect
      .poll(async () => (await eventsOf(db, storeId, 'overlay_shown')).length, DELIVERY)
      .toBe(1);

    // Copy puts the code on the clipboard.
    await dialog.getByRole('button', { name: /copy/i }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(discount.code);

    // Esc closes it and gives focus back to where it was.
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.className)).toContain('cart-toggle');
    await expect
      .poll(
        async () =>
          (await eventsOf(db, storeId, 'overlay_action')).map((row) => row.payload.action).sort(),
        DELIVERY,
      )
      .toEqual(['copy_code', 'dismiss']);

    // Not again in this session: another exit is reported, and no modal comes.
    await page.mouse.move(640, 360, { steps: 5 });
    await page.reload();
    const again = await page.evaluate(`import(${JSON.stringify(lazyPart)}).then(() => true)`);
    expect(again).toBe(true);
    await page.clock.fastForward(1000);
    await page.mouse.move(640, 360);
    await page.mouse.move(640, 2, { steps: 5 });
    await page.mouse.move(640, -20);
    await expect
      .poll(async () => (await eventsOf(db, storeId, 'exit_intent')).length, DELIVERY)
      .toBe(2);
    // The server answered the second exit before this marker's batch (one socket, in order).
    await page.evaluate(() =>
      (window as unknown as { winback: (...args: unknown[]) => void }).winback(
        'track',
        'checkout_step',
        { step: 'marker' },
      ),
    );
    await expect
      .poll(async () => (await eventsOf(db, storeId, 'checkout_step')).length, DELIVERY)
      .toBe(1);
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('shows it on a phone after a fast scroll up, and "return to checkout" restores the cart', async () => {
    const { page, problems } = await shopper({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const lazyPart = await fillCart(page);
    await armExitIntent(page, lazyPart);
    const height = await page.evaluate(() => document.documentElement.scrollHeight - innerHeight);
    expect(height).toBeGreaterThan(250);
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.waitForFunction(() => scrollY > 250);
    await page.evaluate(() => window.scrollTo(0, 0));

    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.count(), DELIVERY).toBe(1);
    const storeId = await demoStoreId();
    const [exit] = (await eventsOf(db, storeId, 'exit_intent')).slice(-1);
    expect(exit?.payload.signal).toBe('scroll_up');
    await page.screenshot({
      path: join(artifacts, 'onsite-exit-modal-phone.png'),
      animations: 'disabled',
    });
    // Nothing overflows the phone's width.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );

    // The shopper leaves an email, ticking the consent box: the store gets it, with consent from
    // the widget and the wording's version.
    await dialog
      .getByRole('textbox', { name: 'Email', exact: true })
      .fill('jane.widget@example.com');
    await dialog.getByRole('button', { name: 'Save my cart' }).click();
    await expect.poll(() => dialog.getByRole('alert').count()).toBe(1);
    await dialog.getByRole('checkbox').check();
    await dialog.getByRole('button', { name: 'Save my cart' }).click();
    await expect
      .poll(async () => {
        const shopper = await db
          .selectFrom('shoppers')
          .select(['email', 'email_consent', 'consent_text_version'])
          .where('store_id', '=', storeId)
          .where('email', '=', 'jane.widget@example.com')
          .executeTakeFirst();
        return shopper;
      }, DELIVERY)
      .toEqual({
        email: 'jane.widget@example.com',
        email_consent: true,
        consent_text_version: 'winback-default-1',
      });
    const consent = await db
      .selectFrom('consent_log')
      .select(['channel', 'granted', 'source', 'text_version'])
      .where('store_id', '=', storeId)
      .execute();
    expect(consent).toContainEqual({
      channel: 'email',
      granted: true,
      source: 'widget',
      text_version: 'winback-default-1',
    });

    await dialog.getByRole('link', { name: /return to checkout/i }).click();
    await page.waitForURL(/\/cart/);
    expect(new URL(page.url()).pathname).toBe('/cart');
    expect(problems).toEqual([]);
  });

  it('greets a shopper back at an abandoned cart with the "your cart is saved" slide-in', async () => {
    const { page, problems } = await shopper({ viewport: { width: 1280, height: 720 } });
    await fillCart(page);
    const storeId = await demoStoreId();
    const anonymousId = await page.evaluate(() => {
      const raw = localStorage.getItem('wb_id') ?? '';
      try {
        return String(JSON.parse(raw));
      } catch {
        return raw;
      }
    });
    expect(anonymousId).toBeTruthy();
    // Abandoned, as the cart's idle job decides once the shopper has gone quiet.
    await expect
      .poll(async () => {
        const carts = await db
          .selectFrom('carts as c')
          .innerJoin('shoppers as s', 's.id', 'c.shopper_id')
          .select('c.id')
          .where('c.store_id', '=', storeId)
          .where('s.anonymous_id', '=', anonymousId)
          .where('c.line_count', '=', 2)
          .execute();
        return carts.length;
      }, DELIVERY)
      .toBe(1);
    await db
      .updateTable('carts')
      .set({ status: 'abandoned', abandoned_at: new Date(), idle_due_at: null })
      .where('store_id', '=', storeId)
      .where('shopper_id', 'in', (eb) =>
        eb
          .selectFrom('shoppers')
          .select('id')
          .where('store_id', '=', storeId)
          .where('anonymous_id', '=', anonymousId),
      )
      .execute();

    // Back on the shop: the first page view of the visit brings the slide-in, not a modal.
    await page.goto(`${base}/`);
    const slideIn = page.getByRole('dialog', { name: 'Your cart is saved' });
    await expect.poll(() => slideIn.count(), DELIVERY).toBe(1);
    expect(await slideIn.getAttribute('aria-modal')).toBeNull();
    await page.screenshot({
      path: join(artifacts, 'onsite-return-slide-in.png'),
      animations: 'disabled',
    });
    expect((await slideIn.textContent()) ?? '').toContain('Sunrise mug');
    await expect
      .poll(
        async () =>
          (await eventsOf(db, storeId, 'overlay_shown')).some((row) =>
            String(row.payload.overlayId).startsWith('ov_slide_'),
          ),
        DELIVERY,
      )
      .toBe(true);
    expect(problems).toEqual([]);
  });
});
