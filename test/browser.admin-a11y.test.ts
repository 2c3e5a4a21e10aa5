import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, createStore, loadConfig, seedDemoStore } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { type SmtpCapture, startSmtpCapture } from '@winback/server/embedded';
import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './helpers/chromium.js';
import { freePort } from './helpers/discover.js';
import { needs, useFreshDatabase } from './helpers/services.js';

// The admin page's accessibility in Chromium: a merchant signs in to a store seeded with a month
// of activity, and axe-core audits every view (overview, live, carts, a cart's timeline,
// campaigns and the campaign editor, templates, settings, the outbox and one mail) at 1280 px
// and at a tablet's 768 px. Any violation of impact serious or critical among the WCAG 2.0 and
// 2.1 A/AA rules fails the test. The cart's timeline is then driven by keyboard only.

const chromium = needsChromium();
const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
/** Long enough for a busy 2-core machine; every wait is on a condition. */
const WAIT = { timeout: 45_000, interval: 250 };
const WIDTHS = [1280, 768] as const;
const RULE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const FAILING_IMPACTS = new Set(['serious', 'critical']);

const axeSource = await readFile(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

interface Finding {
  view: string;
  width: number;
  rule: string;
  impact: string;
  help: string;
  targets: string[];
}

type App = Awaited<ReturnType<typeof buildApp>>;

describe.skipIf(!chromium || !pgUrl)('the admin page’s accessibility', { timeout: 240_000 }, () => {
  let db: Db;
  let app: App;
  let capture: SmtpCapture;
  let mailDir: string;
  let browser: Browser;
  let page: Page;
  let base: string;
  let store: { id: string; adminSecret: string };
  /** Console errors and page errors the test did not expect. */
  const problems: string[] = [];

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    mailDir = await mkdtemp(join(tmpdir(), 'winback-a11y-'));
    capture = await startSmtpCapture({ dataDir: mailDir });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const created = await createStore(db, {
      name: 'Accessible Demo Shop',
      allowedOrigins: ['https://shop-a11y.example'],
      postalAddress: '1 Example Street, 00000 Nowhere',
    });
    store = { id: created.store.id, adminSecret: created.adminSecret };
    await seedDemoStore(db, store.id);
    // No background jobs: the seeded month stays as it is while the views are audited.
    app = await buildApp(
      loadConfig({
        DATABASE_URL: database.url,
        PUBLIC_URL: base,
        SMTP_URL: capture.url,
        LINK_SECRET: 'admin-a11y-suite-link-secret-0123456789abcdef',
        LOG_LEVEL: 'silent',
      }),
      { runJobs: false, mailbox: capture },
    );
    await app.listen({ port, host: '127.0.0.1' });
    // One captured mail, so the outbox has a row and a mail view to audit.
    const transport = nodemailer.createTransport(capture.url);
    await transport.sendMail({
      from: 'Winback <recovery@localhost>',
      to: 'shopper-1@example.com',
      subject: 'Your cart is waiting',
      text: 'Come back to your cart.',
      html: '<p>Come back to <strong>your cart</strong>.</p>',
    });
    transport.close();

    browser = await launchChromium(chromium!);
    // The page's Content-Security-Policy (`script-src 'self'`) refuses the inline script axe is
    // injected as; this suite alone bypasses it, to audit the page. The policy itself is tested
    // by browser.admin.test.ts, which loads the page with it in force.
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      bypassCSP: true,
    });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const line = `${message.text()} (${message.location().url ?? ''})`;
      // The page asks whether it is signed in before the form shows; Chromium logs the 401.
      if (/status of 401/.test(line) && line.includes('/admin/api/session')) return;
      problems.push(line);
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await capture?.close();
    await db?.destroy();
    if (mailDir) await rm(mailDir, { recursive: true, force: true });
  });

  /** A seeded cart with everything its timeline can show: overlays, messages, discount codes. */
  async function richCart(): Promise<string> {
    const { rows } = await sql<{ id: string }>`
      select c.id from carts c
      where c.store_id = ${store.id}
        and exists (select 1 from events e where e.store_id = c.store_id
          and e.cart_id = c.external_id and e.type = 'overlay_action')
        and exists (select 1 from discounts d where d.cart_id = c.id)
        and exists (select 1 from messages m where m.cart_id = c.id)
      order by c.id
      limit 1`.execute(db);
    const id = rows[0]?.id;
    if (!id) throw new Error('the seeded month has no cart with overlays, messages and codes');
    return id;
  }

  /** Opens `hash` and waits until the view has drawn its data (no loading state left). */
  async function open(hash: string, ready: string): Promise<void> {
    await page.goto(`${base}/admin${hash}`);
    await page.locator(ready).first().waitFor(WAIT);
    await expect.poll(() => page.locator('.state.loading').count(), WAIT).toBe(0);
  }

  /** axe on the page as it stands; only the serious and critical violations. */
  async function audit(view: string, width: number): Promise<Finding[]> {
    if (!(await page.evaluate(() => 'axe' in window))) {
      await page.addScriptTag({ content: axeSource });
    }
    const violations = await page.evaluate(
      async (tags) =>
        (
          await (
            window as unknown as {
              axe: {
                run(
                  context: Document,
                  options: object,
                ): Promise<{
                  violations: {
                    id: string;
                    impact: string | null;
                    help: string;
                    nodes: { target: unknown[] }[];
                  }[];
                }>;
              };
            }
          ).axe.run(document, { runOnly: { type: 'tag', values: tags } })
        ).violations.map((violation) => ({
          rule: violation.id,
          impact: violation.impact ?? 'unknown',
          help: violation.help,
          targets: violation.nodes.map((node) => node.target.map(String).join(' ')),
        })),
      RULE_TAGS,
    );
    return violations
      .filter((violation) => FAILING_IMPACTS.has(violation.impact))
      .map((violation) => ({ view, width, ...violation }));
  }

  it('passes axe on every view at 1280 and 768 px', async () => {
    await page.goto(`${base}/admin`);
    await page.getByLabel('Store id').fill(store.id);
    await page.getByLabel('Admin secret').fill(store.adminSecret);
    const signIn: Finding[] = [];
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      signIn.push(...(await audit('sign-in', width)));
    }
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Admin' }).waitFor(WAIT);

    const [campaign] = await db
      .selectFrom('campaigns')
      .select('id')
      .where('store_id', '=', store.id)
      .orderBy('priority', 'desc')
      .execute();
    const [mail] = await capture.list();
    const views: { name: string; hash: string; ready: string }[] = [
      { name: 'overview', hash: '#/overview', ready: '.kpis' },
      { name: 'live', hash: '#/live', ready: 'main h1' },
      { name: 'carts', hash: '#/carts', ready: 'tr[data-cart]' },
      {
        name: 'cart-timeline',
        hash: `#/carts/${await richCart()}`,
        ready: '.risk-chart canvas',
      },
      { name: 'campaigns', hash: '#/campaigns', ready: 'main table, main .state.empty' },
      {
        name: 'campaign-editor',
        hash: `#/campaigns/${campaign?.id ?? 'new'}`,
        ready: 'main form',
      },
      { name: 'templates', hash: '#/templates', ready: 'main h1 ~ *' },
      { name: 'settings', hash: '#/settings', ready: 'main form' },
      { name: 'outbox', hash: '#/outbox', ready: 'main table' },
      { name: 'mail', hash: `#/outbox/${mail?.id ?? ''}`, ready: 'iframe.email-frame' },
    ];

    const findings: Finding[] = [...signIn];
    for (const view of views) {
      await page.setViewportSize({ width: 1280, height: 900 });
      await open(view.hash, view.ready);
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 900 });
        findings.push(...(await audit(view.name, width)));
        await page.screenshot({
          path: join(ARTIFACTS, `admin-a11y-${view.name}-${width}.png`),
          fullPage: true,
        });
      }
    }

    expect(findings).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('lets the keyboard reach the timeline’s controls and skip to the content', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await open(`#/carts/${await richCart()}`, '.timeline');
    const heading = page.getByRole('heading', { level: 1 });
    // The view puts the focus on its heading; Tab goes on from there.
    await expect.poll(() => heading.evaluate((h) => h === document.activeElement)).toBe(true);

    const reached: string[] = [];
    for (let press = 0; press < 40; press++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement as HTMLElement | null;
        if (!element || element === document.body) return '';
        const outline = getComputedStyle(element).outlineStyle;
        const name =
          element.getAttribute('aria-label') ??
          (element instanceof HTMLSelectElement
            ? (element.labels?.[0]?.textContent ?? '')
            : element.textContent);
        return `${element.tagName.toLowerCase()}:${(name ?? '').trim()}:${outline}`;
      });
      reached.push(focused);
      if (focused.startsWith('select:Show')) break;
    }
    // The chart's table behind its summary, then the timeline's filter, each with a visible focus.
    const summary = reached.find((entry) => entry.startsWith('summary:Risk values as a table'));
    const filter = reached.find((entry) => entry.startsWith('select:Show'));
    expect(summary, reached.join('\n')).toBeDefined();
    expect(filter, reached.join('\n')).toBeDefined();
    expect(summary?.endsWith(':none')).toBe(false);
    expect(filter?.endsWith(':none')).toBe(false);

    // Enter opens the table; the filter changes what the timeline lists by keyboard alone.
    await page.getByText('Risk values as a table').focus();
    await page.keyboard.press('Enter');
    await page.locator('details[open] table').waitFor(WAIT);
    const everything = await page.locator('.timeline li').count();
    const filterBox = page.getByRole('combobox', { name: 'Show', exact: true });
    await filterBox.focus();
    await page.keyboard.press('End');
    await expect.poll(() => filterBox.inputValue()).toBe('outcome');
    await expect.poll(() => page.locator('.timeline li').count()).toBeLessThan(everything);

    // The skip link moves the focus to the view without leaving it (the page's routes are
    // hashes, so a plain `#content` link would open another view).
    const url = page.url();
    await page.getByRole('link', { name: 'Skip to content' }).focus();
    await page.keyboard.press('Enter');
    expect(page.url()).toBe(url);
    await expect.poll(() => heading.evaluate((h) => h === document.activeElement)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'admin-a11y-keyboard.png') });
    expect(problems).toEqual([]);
  });
});
