import { createStore, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './helpers/chromium.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import {
  type ShopPages,
  startShopPages,
  startUpgradeBlockingProxy,
  type UpgradeBlockingProxy,
} from './helpers/shop-pages.js';
import { eventsOf, type RestartableServer, restartableServer } from './helpers/winback-server.js';

// The sdk's script-tag build in real Chromium, talking to the real server on 127.0.0.1 from a
// store on another origin. Every assertion is about what the events table holds in the end;
// waits are on conditions (rows, page state), never on a clock.

const chromium = needsChromium();
const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

/** Generous: the sdk reconnects with back-off (1 s doubling), and CI machines are slow. */
const DELIVERY = { timeout: 45_000, interval: 200 };

declare global {
  interface Window {
    violations: string[];
    stepsTracked?: number;
    putInCart(quantity: number): void;
    trackSteps(label: string, count: number, everyMs: number): Promise<number>;
    winback: ((name: string, ...args: unknown[]) => unknown) & { loaded?: boolean };
  }
}

describe.skipIf(!chromium || !pgUrl)('the sdk in Chromium against the real server', () => {
  let db: Db;
  let server: RestartableServer;
  let shop: ShopPages;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    server = await restartableServer(database.url);
    await server.start();
    shop = await startShopPages({
      // The page says which store it belongs to, where the server is and where the sdk comes
      // from: the server (`/sdk/winback.js`) unless the store hosts the file itself.
      variables: (url) => {
        const endpoint = url.searchParams.get('endpoint') ?? server.url;
        return {
          WINBACK_KEY: url.searchParams.get('key') ?? '',
          WINBACK_ENDPOINT: endpoint,
          SDK_SRC: url.searchParams.has('self-hosted')
            ? '/winback.js'
            : `${endpoint}/sdk/winback.js`,
        };
      },
      headers: (url): Record<string, string> =>
        url.searchParams.has('csp') ? { 'content-security-policy': strictPolicy() } : {},
    });
    browser = await launchChromium(chromium!);
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await shop?.close();
    await server?.stop();
    await db?.destroy();
  });

  /** No inline code, no eval, only the page's own origin and the Winback server. */
  function strictPolicy(): string {
    return [
      "default-src 'none'",
      `script-src 'self' ${server.url}`,
      "style-src 'self'",
      "img-src 'self'",
      `connect-src ${server.url} ${server.wsUrl}`,
      "require-trusted-types-for 'script'",
      "trusted-types 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; ');
  }

  async function newStore(name: string): Promise<Store> {
    return (await createStore(db, { name, allowedOrigins: [shop.origin] })).store;
  }

  /** A fresh browser profile (its own storage, so its own shopper) on one store's test page. */
  async function openShop(
    store: Store,
    query: Record<string, string> = {},
    prepare?: (page: Page) => Promise<void>,
  ): Promise<{ page: Page; problems: string[]; response: Response | null }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    contexts.push(context);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await prepare?.(page);
    const response = await page.goto(
      `${shop.origin}/?${new URLSearchParams({ key: store.public_key, ...query })}`,
    );
    await page.waitForFunction(() => window.winback.loaded === true);
    return { page, problems, response };
  }

  const countOf = async (store: Store, type: string) => (await eventsOf(db, store.id, type)).length;

  /**
   * The URL of the sdk's lazy part (exit intent lives there), once the page has fetched it: ask
   * before the page can, e.g. in `openShop`'s `prepare`.
   */
  const lazyPartFetched = (page: Page): Promise<string> =>
    page
      .waitForResponse((response) => /\/sdk\/winback-lazy-[0-9a-f]{8}\.js$/.test(response.url()))
      .then((response) => response.url());

  /**
   * Exit intent is armed a second after the lazy part starts watching. Waits until the page has
   * run the part (importing it again gives that same, evaluated, module, and the sdk's own import
   * of it was answered first), then moves the page's clock (installed before the page loaded)
   * past the arming. No wait on a clock.
   */
  async function armExitIntent(page: Page, lazyPart: Promise<string>): Promise<void> {
    // A string, so the test's own transform leaves this `import()` alone.
    await page.evaluate(`import(${JSON.stringify(await lazyPart)}).then(() => true)`);
    await page.clock.fastForward(1000);
  }

  it('(1) delivers every event exactly once, in order, across a server restart mid-stream', async () => {
    const store = await newStore('Restart shop');
    const { page } = await openShop(store);
    await expect.poll(() => countOf(store, 'page_view'), DELIVERY).toBe(1);

    const total = 60;
    await page.evaluate((count) => {
      void window.trackSteps('restart', count, 40);
    }, total);
    await expect.poll(() => countOf(store, 'checkout_step'), DELIVERY).toBeGreaterThanOrEqual(5);
    await server.stop();
    // Some events are tracked while the server is down, and must wait for it.
    await page.waitForFunction(() => (window.stepsTracked ?? 0) >= 35, undefined, { polling: 50 });
    await server.start();
    await page.waitForFunction((count) => window.stepsTracked === count, total, { polling: 50 });

    await expect.poll(() => countOf(store, 'checkout_step'), DELIVERY).toBe(total);
    const steps = await eventsOf(db, store.id, 'checkout_step');
    // Once each: every index is there, and no index came twice under a new id.
    expect(steps.map((row) => row.payload.index)).toEqual([...Array(total).keys()]);
    expect(new Set(steps.map((row) => row.id)).size).toBe(total);
    // In order within the session: by the browser's clock the indexes ascend (checked above), and
    // the server received them in that same order (a later event never committed first).
    expect(new Set(steps.map((row) => row.session_id)).size).toBe(1);
    const received = steps.map((row) => row.received_at.getTime());
    expect(received).toEqual([...received].sort((a, b) => a - b));
  });

  it('(2) delivers events queued while the server was down after the page is reloaded', async () => {
    const store = await newStore('Offline shop');
    // The store hosts the sdk itself, so the page still loads while the server is away.
    const { page } = await openShop(store, { 'self-hosted': '1' });
    await expect.poll(() => countOf(store, 'page_view'), DELIVERY).toBe(1);

    await server.stop();
    try {
      // A few ms apart: events of one millisecond have no order the server could read (their
      // ULIDs' random parts do not ascend).
      await page.evaluate(() => window.trackSteps('offline', 5, 5));
      // The sdk keeps unacked events in localStorage; these are the ones the next page must send.
      const queuedIds = async () =>
        page.evaluate((key) => {
          const saved = JSON.parse(localStorage.getItem(`wb_q_${key}`) ?? '{}') as {
            events?: { id: string; type: string }[];
          };
          return (saved.events ?? [])
            .filter((event) => event.type === 'checkout_step')
            .map((event) => event.id);
        }, store.public_key);
      await expect.poll(queuedIds, DELIVERY).toHaveLength(5);
      const ids = await queuedIds();

      await page.reload();
      await page.waitForFunction(() => window.winback.loaded === true);
      await server.start();

      await expect.poll(() => countOf(store, 'checkout_step'), DELIVERY).toBe(5);
      const steps = await eventsOf(db, store.id, 'checkout_step');
      expect(steps.map((row) => row.id).sort()).toEqual([...ids].sort());
      expect(steps.map((row) => row.payload.index)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await server.start();
    }
  });

  it('(3) flushes what is unacked by beacon when the shopper navigates away', async () => {
    const store = await newStore('Beacon shop');
    // The socket opens but no answer ever comes back (a stalled connection): nothing is acked
    // over it, so what reaches the server must have gone by beacon.
    let framesOverSocket = 0;
    const { page } = await openShop(store, {}, (page) =>
      page.routeWebSocket(/\/v1\/stream/, (socket) => {
        socket.onMessage(() => {
          framesOverSocket += 1;
        });
      }),
    );
    await expect.poll(() => framesOverSocket, DELIVERY).toBeGreaterThanOrEqual(1);
    const httpBefore = await server.ingested('http');
    const wsBefore = await server.ingested('ws');

    await page.evaluate(() => {
      window.putInCart(1);
      window.winback('track', 'checkout_started');
    });
    await page.goto(`${shop.origin}/blank.html`);

    await expect.poll(() => countOf(store, 'checkout_started'), DELIVERY).toBe(1);
    const stored = await eventsOf(db, store.id);
    expect(stored.map((row) => row.type).sort()).toEqual([
      'cart_updated',
      'checkout_started',
      'page_view',
    ]);
    expect((await server.ingested('http')) - httpBefore).toBe(3);
    expect((await server.ingested('ws')) - wsBefore).toBe(0);
  });

  it('(4) falls back to HTTP when a proxy refuses the WebSocket upgrade', async () => {
    const store = await newStore('Proxied shop');
    let proxy: UpgradeBlockingProxy | undefined;
    try {
      proxy = await startUpgradeBlockingProxy(server.url);
      const wsBefore = await server.ingested('ws');
      const httpBefore = await server.ingested('http');
      const { page, problems } = await openShop(store, { endpoint: proxy.url });
      await page.evaluate(() => {
        window.putInCart(2);
        window.winback('track', 'checkout_started');
      });

      await expect.poll(() => countOf(store, 'checkout_started'), DELIVERY).toBe(1);
      expect((await eventsOf(db, store.id)).map((row) => row.type).sort()).toEqual([
        'cart_updated',
        'checkout_started',
        'page_view',
      ]);
      expect(proxy.refusedUpgrades()).toBeGreaterThanOrEqual(2);
      expect((await server.ingested('http')) - httpBefore).toBe(3);
      expect((await server.ingested('ws')) - wsBefore).toBe(0);
      // Chromium reports the refused upgrades itself; the sdk adds no warning of its own.
      expect(problems.filter((text) => text.includes('[winback]'))).toEqual([]);
    } finally {
      await proxy?.close();
    }
  });

  it('(5) runs under a strict CSP with Trusted Types without a single violation', async () => {
    const store = await newStore('Strict shop');
    const httpFramesBefore = await server.ackedFrames('http');
    // The page's own script reports a cart and a checkout (`exercise`); init comes from the tag.
    // The cart brings in the sdk's lazy part, an ES module from the Winback server.
    let lazyPart: Promise<string> | undefined;
    const { page, problems, response } = await openShop(
      store,
      { csp: '1', exercise: '1' },
      async (page) => {
        await page.clock.install();
        lazyPart = lazyPartFetched(page);
      },
    );
    expect(response?.headers()['content-security-policy']).toContain('trusted-types');
    expect((await lazyPart)?.startsWith(`${server.url}/sdk/winback-lazy-`)).toBe(true);

    await armExitIntent(page, lazyPart as Promise<string>);
    await page.mouse.move(640, 360);
    await page.mouse.move(640, 2, { steps: 5 });
    await page.mouse.move(640, -20);
    await expect.poll(() => countOf(store, 'exit_intent'), DELIVERY).toBe(1);
    expect(await countOf(store, 'cart_updated')).toBe(1);
    expect(await countOf(store, 'checkout_started')).toBe(1);

    // A page-hide flush: the queued step goes by beacon, under the same policy.
    await page.evaluate(() => {
      window.winback('track', 'checkout_step', { step: 'csp-flush' });
      window.dispatchEvent(new PageTransitionEvent('pagehide'));
      window.dispatchEvent(new PageTransitionEvent('pageshow'));
    });
    await expect.poll(() => countOf(store, 'checkout_step'), DELIVERY).toBe(1);
    await expect.poll(() => server.ackedFrames('http'), DELIVERY).toBeGreaterThan(httpFramesBefore);

    expect(await page.evaluate(() => window.violations)).toEqual([]);
    expect(problems).toEqual([]);

    // The policy is really enforced: an HTML sink without a trusted type is refused and reported.
    const refused = await page.evaluate(() => {
      try {
        document.body.insertAdjacentHTML('beforeend', '<b>x</b>');
        return false;
      } catch {
        return true;
      }
    });
    expect(refused).toBe(true);
    await expect.poll(() => page.evaluate(() => window.violations.length)).toBe(1);
  });

  it('(6) reports exit intent on a real mouse leave through the top, not through a side', async () => {
    const store = await newStore('Exit shop');
    const { page } = await openShop(store, {}, (page) => page.clock.install());
    // Exit intent only counts while the cart has something in it; the first cart with lines
    // brings in the sdk's lazy part, which watches for it.
    const lazyPart = lazyPartFetched(page);
    await page.evaluate(() => window.putInCart(1));
    await armExitIntent(page, lazyPart);

    // Out through the left edge, and out through the right one.
    await page.mouse.move(640, 360);
    await page.mouse.move(1, 360, { steps: 5 });
    await page.mouse.move(-20, 360);
    await page.mouse.move(640, 360, { steps: 5 });
    await page.mouse.move(1278, 360, { steps: 5 });
    await page.mouse.move(1300, 360);
    await page.mouse.move(640, 360, { steps: 5 });
    // Events leave in order, one frame at a time: once this marker is stored, an exit intent
    // reported by the sideways leaves would be stored too.
    await page.evaluate(() => window.winback('track', 'checkout_step', { step: 'after-sideways' }));
    await expect.poll(() => countOf(store, 'checkout_step'), DELIVERY).toBe(1);
    expect(await countOf(store, 'exit_intent')).toBe(0);

    // Out through the top, toward the tabs and the back button.
    await page.mouse.move(640, 2, { steps: 5 });
    await page.mouse.move(640, -20);
    await expect.poll(() => countOf(store, 'exit_intent'), DELIVERY).toBe(1);
    const [exit] = await eventsOf(db, store.id, 'exit_intent');
    expect(exit?.payload.signal).toBe('mouse_top');
  });
});
