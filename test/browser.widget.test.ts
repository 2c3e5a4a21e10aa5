import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type OverlayPayload, overlayTextsFor } from '@winback/shared/overlay';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './helpers/chromium.js';
import { startWidgetPages, type WidgetPages, widgetBundle } from './helpers/widget-pages.js';

// The widget's build (dist/widget.js) in real Chromium, on a test shop of its own origin that
// imports it on demand as the sdk will, and hands it a host that records what it is asked.
// Waits are on conditions (elements, focus, animations finished), never on a clock.

const chromium = needsChromium();
/** Screenshots for people to look at; git-ignored. */
const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));

declare global {
  interface Window {
    violations: string[];
    hostCalls: unknown[][];
    shopReady?: boolean;
    showOverlay(payload: unknown): Promise<void>;
    overlay?: { close(): void };
    axe: { run(context: Document): Promise<{ violations: AxeViolation[] }> };
  }
}

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: unknown[] }[];
}

const DESKTOP = { width: 1280, height: 720 };

function exitModal(overrides: Partial<OverlayPayload> = {}): OverlayPayload {
  return {
    overlayId: 'ov_browser_exit',
    kind: 'exit_modal',
    locale: 'en',
    texts: overlayTextsFor('en'),
    theme: { primary: '#0b5fff', background: '#ffffff', text: '#1f2937', radius: 12 },
    cart: {
      currency: 'EUR',
      subtotal: 5400,
      lines: [
        {
          title: 'Sunrise mug',
          variant: 'Orange',
          quantity: 2,
          unitPrice: 1800,
          imageUrl: '/mug.svg',
        },
        {
          title: 'Hand-thrown stoneware teapot with a bamboo handle and a speckled glaze',
          variant: 'Large / Speckled',
          quantity: 1,
          unitPrice: 1800,
          imageUrl: '/mug.svg',
        },
      ],
    },
    discount: {
      code: 'COMEBACK10',
      expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
      label: '10% off your order',
    },
    checkoutUrl: '/checkout.html',
    capture: {
      email: true,
      phone: true,
      consentText: 'Yes, remind me about my cart by email or SMS. I can unsubscribe at any time.',
      consentVersion: '2026-11-01',
    },
    askReason: true,
    ...overrides,
  };
}

function slideIn(): OverlayPayload {
  const { discount, capture, askReason, ...rest } = exitModal();
  return { ...rest, overlayId: 'ov_browser_slide', kind: 'return_slide_in' };
}

/** No inline code, no eval, no inline style, Trusted Types required: the sdk tests' policy. */
const strictPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

describe.skipIf(!chromium)('the widget in Chromium', () => {
  let shop: WidgetPages;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    if (!existsSync(widgetBundle)) {
      throw new Error('the widget is not built: run pnpm --filter @winback/widget build');
    }
    mkdirSync(artifacts, { recursive: true });
    shop = await startWidgetPages(
      (url): Record<string, string> =>
        url.searchParams.has('csp') ? { 'content-security-policy': strictPolicy } : {},
    );
    browser = await launchChromium(chromium!);
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await shop?.close();
  });

  /** A fresh browser profile on one of the shop's pages; `problems` collects console errors. */
  async function openShop(path = '/', options: BrowserContextOptions = {}) {
    const context = await browser.newContext({ viewport: DESKTOP, ...options });
    contexts.push(context);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const response = await page.goto(`${shop.origin}${path}`);
    await page.waitForFunction(() => window.shopReady === true);
    return { context, page, problems, response };
  }

  /** Shows an overlay and waits until it is on screen and done animating in. */
  async function showOverlay(page: Page, payload: OverlayPayload) {
    await page.evaluate((overlay) => window.showOverlay(overlay), payload);
    await page.locator('[role="dialog"]').waitFor();
    await page.waitForFunction(() =>
      (document.querySelector('winback-overlay')?.shadowRoot?.getAnimations() ?? []).every(
        (animation) => animation.playState === 'finished',
      ),
    );
  }

  /** What has focus, as a shopper would name it, and whether it is inside the widget. */
  const focused = (page: Page) =>
    page.evaluate(() => {
      const host = document.querySelector('winback-overlay');
      const inside = host !== null && document.activeElement === host;
      const element = inside ? host.shadowRoot?.activeElement : document.activeElement;
      const name =
        element?.getAttribute('aria-label') ??
        element?.getAttribute('name') ??
        element?.getAttribute('role') ??
        element?.textContent?.trim() ??
        '';
      return { inside, name };
    });

  const tracked = (page: Page) =>
    page.evaluate(() =>
      window.hostCalls.filter((call) => call[0] === 'track').map((call) => call.slice(1)),
    );

  it('(1) works under a strict CSP with Trusted Types without a single violation', async () => {
    const { page, problems, response } = await openShop('/?csp');
    expect(response?.headers()['content-security-policy']).toContain('trusted-types');

    await showOverlay(page, exitModal());
    // Every part of the modal, used.
    await page.getByRole('button', { name: 'Copy code' }).click();
    await page.locator('[role="status"]').filter({ hasText: /\S/ }).waitFor();
    await page.getByLabel('Email', { exact: true }).fill('ana@example.com');
    await page.getByRole('button', { name: 'Save my cart' }).click();
    await page.getByText('Please tick the box first.').waitFor();
    await page.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Save my cart' }).click();
    await page.getByText("Thanks! We'll keep your cart for you.").waitFor();
    await page.getByRole('button', { name: 'Price' }).click();
    await page.getByText('Thanks for telling us.').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('winback-overlay').waitFor({ state: 'detached' });
    // And the slide-in.
    await showOverlay(page, slideIn());

    expect(await page.evaluate(() => window.violations)).toEqual([]);
    expect(problems).toEqual([]);
    expect(
      await page.evaluate(() => window.hostCalls.filter((call) => call[0] === 'identify')),
    ).toEqual([
      [
        'identify',
        { email: 'ana@example.com', consent: { email: true, textVersion: '2026-11-01' } },
      ],
    ]);

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

  it('(2) passes an axe-core audit with the modal open, and with the slide-in', async () => {
    const { page } = await openShop();
    await page.addScriptTag({ url: '/axe.min.js' });
    const audit = () =>
      page.evaluate(async () =>
        (await window.axe.run(document)).violations.map((violation) => ({
          id: violation.id,
          help: violation.help,
          nodes: violation.nodes.map((node) => node.target),
        })),
      );

    await showOverlay(page, exitModal());
    expect(await audit()).toEqual([]);
    // With a validation error showing, too.
    await page.getByRole('button', { name: 'Save my cart' }).click();
    await page.getByText('Enter your email or mobile number.').waitFor();
    expect(await audit()).toEqual([]);

    await page.keyboard.press('Escape');
    await showOverlay(page, slideIn());
    expect(await audit()).toEqual([]);
  });

  it('(3) puts the code on the clipboard', async () => {
    const { context, page } = await openShop();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: shop.origin });
    await showOverlay(page, exitModal());
    await page.getByRole('button', { name: 'Copy code' }).click();
    await page.getByText('Code copied').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('COMEBACK10');
    expect(await tracked(page)).toEqual([
      ['overlay_shown', { overlayId: 'ov_browser_exit' }],
      ['overlay_action', { overlayId: 'ov_browser_exit', action: 'copy_code' }],
    ]);
  });

  it('(4) goes to the restore URL on "return to checkout"', async () => {
    const { page } = await openShop();
    await showOverlay(page, exitModal());
    await page.getByRole('link', { name: 'Return to checkout' }).click();
    await page.waitForURL(`${shop.origin}/checkout.html`);
    expect(await page.title()).toBe('Checkout');
  });

  it('(5) keeps Tab inside, is usable by keyboard alone, and Esc gives focus back', async () => {
    const { page } = await openShop();
    await page.locator('#add-to-cart').focus();
    await showOverlay(page, exitModal());
    expect(await focused(page)).toEqual({ inside: true, name: 'dialog' });

    // Forwards: every control once, in order, then round again; never out to the page.
    const forwards: string[] = [];
    for (let step = 0; step < 28; step++) {
      await page.keyboard.press('Tab');
      const now = await focused(page);
      expect(now.inside).toBe(true);
      forwards.push(now.name);
    }
    const controls = [
      'Close',
      'Copy code',
      'Return to checkout',
      'email',
      'phone',
      'consent',
      'Save my cart',
      'Shipping cost',
      'Just browsing',
      'Price',
      'Payment options',
      'Something else',
      'No thanks',
    ];
    expect(forwards).toEqual([...controls, ...controls, 'Close', 'Copy code']);

    // Backwards, from "Copy code": round through the end.
    const backwards: string[] = [];
    for (let step = 0; step < 3; step++) {
      await page.keyboard.press('Shift+Tab');
      backwards.push((await focused(page)).name);
    }
    expect(backwards).toEqual(['Close', 'No thanks', 'Something else']);

    // One-tap answer by keyboard: the thanks takes focus, still inside.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    expect((await focused(page)).name).toBe('Price');
    await page.keyboard.press('Enter');
    await page.getByText('Thanks for telling us.').waitFor();
    expect(await focused(page)).toEqual({ inside: true, name: 'Thanks for telling us.' });

    await page.keyboard.press('Escape');
    await page.locator('winback-overlay').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('add-to-cart');
    expect((await tracked(page)).map((call) => (call[1] as { action?: string }).action)).toEqual([
      undefined,
      'reason',
      'dismiss',
    ]);
  });

  it('(6) looks and works the same on a shop whose CSS resets everything', async () => {
    const measure = async (path: string) => {
      const { page } = await openShop(path);
      await showOverlay(page, exitModal());
      const shape = await page.evaluate(() => {
        const shadow = document.querySelector('winback-overlay')!.shadowRoot!;
        const box = (selector: string) => {
          const element = shadow.querySelector(selector)!;
          const { x, y, width, height } = element.getBoundingClientRect();
          const style = getComputedStyle(element);
          return {
            box: [x, y, width, height].map(Math.round),
            display: style.display,
            visibility: style.visibility,
            colour: style.color,
            background: style.backgroundColor,
            fontSize: style.fontSize,
          };
        };
        return {
          host: getComputedStyle(document.querySelector('winback-overlay')!).display,
          backdrop: box('.backdrop'),
          panel: box('[role="dialog"]'),
          title: box('h2'),
          line: box('li'),
          checkout: box('a.primary'),
          consent: box('input[type="checkbox"]'),
        };
      });
      return { page, shape };
    };
    const plain = await measure('/');
    const hostile = await measure('/hostile.html');
    // The hostile page really is hostile to its own content.
    expect(
      await hostile.page.evaluate(() => getComputedStyle(document.querySelector('main')!).display),
    ).toBe('inline');
    expect(hostile.shape).toEqual(plain.shape);
    expect(plain.shape.panel.display).toBe('block');
    expect(plain.shape.checkout.background).toBe('rgb(11, 95, 255)');
    expect(plain.shape.checkout.colour).toBe('rgb(255, 255, 255)');
    expect(plain.shape.panel.box[2]).toBeGreaterThan(300);

    // Still a working dialog there.
    await hostile.page.getByRole('button', { name: 'Close' }).click();
    await hostile.page.locator('winback-overlay').waitFor({ state: 'detached' });
  });

  const layouts: { name: string; options: BrowserContextOptions; screenshot?: string }[] = [
    { name: 'desktop 1280×720', options: { viewport: DESKTOP }, screenshot: 'desktop' },
    {
      name: 'phone 390×844',
      options: {
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
        deviceScaleFactor: 3,
      },
      screenshot: 'phone',
    },
    {
      name: 'phone 360×740',
      options: {
        viewport: { width: 360, height: 740 },
        isMobile: true,
        hasTouch: true,
        deviceScaleFactor: 2,
      },
    },
    // Browser zoom at 200% halves the CSS pixels of a 1280×720 window.
    {
      name: '1280×720 at 200% zoom',
      options: { viewport: { width: 640, height: 360 }, deviceScaleFactor: 2 },
    },
  ];

  for (const layout of layouts) {
    it(`(7) fits ${layout.name} without horizontal overflow`, async () => {
      const { page } = await openShop('/', layout.options);
      const long = exitModal({
        discount: {
          code: 'WELCOMEBACKSPRINGSALE2026EXTRALONGCODE',
          expiresAt: new Date(Date.now() + 3 * 3_600_000).toISOString(),
          label: '15% off everything in your cart, today only',
        },
      });
      for (const payload of [long, slideIn()]) {
        await showOverlay(page, payload);
        const overflow = await page.evaluate(() => {
          const width = document.documentElement.clientWidth;
          const shadow = document.querySelector('winback-overlay')!.shadowRoot!;
          const outside = Array.from(shadow.querySelectorAll('*'))
            .filter((element) => {
              const { left, right, width: size } = element.getBoundingClientRect();
              return size > 0 && (left < -0.5 || right > width + 0.5);
            })
            .map((element) => `${element.tagName.toLowerCase()}.${element.className}`);
          const scrolling = Array.from(shadow.querySelectorAll<HTMLElement>('*'))
            .filter((element) => element.scrollWidth > element.clientWidth + 1)
            .filter((element) => getComputedStyle(element).overflowX !== 'visible')
            .map((element) => `${element.tagName.toLowerCase()}.${element.className}`);
          return { page: document.documentElement.scrollWidth > width, outside, scrolling };
        });
        expect(overflow, payload.kind).toEqual({ page: false, outside: [], scrolling: [] });
        // The main action is there to be reached: on screen, or by scrolling down.
        const checkout = await page.getByRole('link', { name: 'Return to checkout' }).boundingBox();
        expect(checkout?.width).toBeGreaterThan(200);
        if (layout.screenshot) {
          const kind = payload.kind === 'exit_modal' ? 'exit-modal' : 'slide-in';
          await page.screenshot({ path: `${artifacts}widget-${kind}-${layout.screenshot}.png` });
        }
        await page.evaluate(() => window.overlay?.close());
        await page.locator('winback-overlay').waitFor({ state: 'detached' });
      }
    });
  }

  it('(8) does not animate for shoppers who ask for reduced motion', async () => {
    const animation = async (reducedMotion: 'reduce' | 'no-preference') => {
      const { page } = await openShop('/', { reducedMotion });
      await showOverlay(page, exitModal());
      return page.evaluate(
        () =>
          getComputedStyle(
            document
              .querySelector('winback-overlay')!
              .shadowRoot!.querySelector('[role="dialog"]')!,
          ).animationName,
      );
    };
    expect(await animation('reduce')).toBe('none');
    expect(await animation('no-preference')).toBe('wb-in');
  });
});
