import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, createStore, loadConfig, seedDemoStore } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './helpers/chromium.js';
import { freePort } from './helpers/discover.js';
import { needs, useFreshDatabase } from './helpers/services.js';

// The admin page over a seeded month: a store seeded as `winback demo --seed` does, the real app
// on a fresh database, a merchant signing in through the page in Chromium and opening the
// Overview for the last 30 days. Each key figure the page shows must equal the figure this test
// computes itself, in plain SQL over the seeded rows, by the README's definitions — not through
// the analytics code.

const chromium = needsChromium();
const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
/** Long enough for a busy 2-core machine; every wait is on a condition. */
const WAIT = { timeout: 45_000, interval: 250 };

type App = Awaited<ReturnType<typeof buildApp>>;

interface Figures {
  carts: number;
  abandoned: number;
  enrolled: number;
  messaged: number;
  opened: number;
  clicked: number;
  recovered: number;
  convertedUnassisted: number;
  revenue: { currency: string; amountMinor: number }[];
}

/** The period's figures from the raw rows: carts count on their first activity's day (UTC). */
async function figuresFromRows(db: Db, storeId: string, from: string, to: string) {
  const period = sql`
    c.store_id = ${storeId}
    and (coalesce(c.first_seen_at, c.created_at) at time zone 'UTC')::date
      between ${from}::date and ${to}::date`;
  const sent = (condition: string) =>
    sql`exists (select 1 from messages m where m.cart_id = c.id and ${sql.raw(condition)})`;
  const { rows } = await sql<Omit<Figures, 'revenue'>>`
    select count(*)::int as carts,
      count(*) filter (where c.abandoned_at is not null)::int as abandoned,
      count(*) filter (where c.enrolment = 'enrolled')::int as enrolled,
      count(*) filter (where ${sent(`m.status = 'sent'`)})::int as messaged,
      count(*) filter (where ${sent('m.opened_at is not null')})::int as opened,
      count(*) filter (where ${sent('m.clicked_at is not null')})::int as clicked,
      count(*) filter (where c.status = 'recovered')::int as recovered,
      count(*) filter (where c.status = 'converted')::int as "convertedUnassisted"
    from carts c where ${period}`.execute(db);
  const revenue = await sql<{ currency: string; amountMinor: number }>`
    select c.order_currency as currency, sum(c.order_value_minor)::bigint as "amountMinor"
    from carts c where ${period} and c.status = 'recovered'
    group by c.order_currency order by c.order_currency`.execute(db);
  return { ...(rows[0] as Omit<Figures, 'revenue'>), revenue: revenue.rows };
}

describe.skipIf(!chromium || !pgUrl)(
  'the admin page over a seeded month',
  {
    timeout: 120_000,
  },
  () => {
    let db: Db;
    let app: App;
    let browser: Browser;
    let page: Page;
    let base: string;
    let store: { id: string; adminSecret: string };
    /** Console errors and warnings, and page errors, the test did not expect. */
    const problems: string[] = [];

    beforeAll(async () => {
      db = createDb(database.url, 4);
      await migrateToLatest(db);
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const created = await createStore(db, {
        name: 'Seeded Demo Shop',
        allowedOrigins: ['https://shop-seeded.example'],
        postalAddress: '1 Example Street, 00000 Nowhere',
      });
      store = { id: created.store.id, adminSecret: created.adminSecret };
      await seedDemoStore(db, store.id);
      // Without background jobs nothing changes the rows while the test reads them: no seeded
      // cart is abandoned, and no step is sent, between the page's figures and the test's.
      app = await buildApp(
        loadConfig({
          DATABASE_URL: database.url,
          PUBLIC_URL: base,
          LINK_SECRET: 'admin-seed-suite-link-secret-0123456789abcdef',
          LOG_LEVEL: 'silent',
        }),
        { runJobs: false },
      );
      await app.listen({ port, host: '127.0.0.1' });
      browser = await launchChromium(chromium!);
      // The page asks for days where the browser is; the store's days are UTC.
      const context = await browser.newContext({
        viewport: { width: 1280, height: 900 },
        timezoneId: 'UTC',
      });
      page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() !== 'error' && message.type() !== 'warning') return;
        const line = `${message.text()} (${message.location().url ?? ''})`;
        // The page asks whether it is signed in before the form shows; Chromium logs the 401.
        if (/status of 401/.test(line) && line.includes('/admin/api/session')) return;
        problems.push(line);
      });
      page.on('pageerror', (error) => problems.push(error.message));
    });

    afterAll(async () => {
      await browser?.close();
      await app?.close();
      await db?.destroy();
    });

    /**
     * The figure the page gives for `label`, as text: the definition that follows the term of that
     * name. (ARIA gives terms and definitions no accessible name of their own; a term is found by
     * its text, and a screen reader reads its definition right after it.)
     */
    function definitionOf(label: string) {
      const term = page.getByRole('term').filter({ hasText: new RegExp(`^${label}$`) });
      return term.locator('xpath=following-sibling::*[1]');
    }

    async function shown(label: string): Promise<string> {
      const definition = definitionOf(label);
      expect(await definition.evaluate((element) => element.tagName)).toBe('DD');
      return ((await definition.locator('.value').textContent()) ?? '').trim();
    }

    const count = (text: string) => {
      expect(text).toMatch(/^[\d,]+$/);
      return Number(text.replaceAll(',', ''));
    };

    it('shows the key figures of the last 30 days as the seeded rows give them', async () => {
      await page.goto(`${base}/admin`);
      await page.getByLabel('Store id').fill(store.id);
      await page.getByLabel('Admin secret').fill(store.adminSecret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Admin' }).waitFor(WAIT);

      await page.goto(`${base}/admin#/overview`);
      await expect
        .poll(() => page.getByRole('combobox', { name: 'Period' }).inputValue())
        .toBe('30d');
      await definitionOf('Carts tracked').waitFor(WAIT);
      // The page says which days it shows; the test counts the same days.
      const caption = await page.getByText(/days in UTC\.$/).textContent();
      const [, from, to] = /^(\d{4}-\d{2}-\d{2}) – (\d{4}-\d{2}-\d{2}),/.exec(caption ?? '') ?? [];
      expect(from && to).toBeTruthy();
      expect(Date.parse(to!) - Date.parse(from!)).toBe(29 * 86_400_000);

      const expected = await figuresFromRows(db, store.id, from!, to!);
      // A month worth looking at: enough carts, and some of them won back.
      expect(expected.carts).toBeGreaterThan(300);
      expect(expected.recovered).toBeGreaterThan(0);

      expect(count(await shown('Carts tracked'))).toBe(expected.carts);
      expect(count(await shown('Abandoned'))).toBe(expected.abandoned);
      expect(count(await shown('Enrolled'))).toBe(expected.enrolled);
      expect(count(await shown('Messaged'))).toBe(expected.messaged);
      expect(count(await shown('Opened'))).toBe(expected.opened);
      expect(count(await shown('Clicked'))).toBe(expected.clicked);
      expect(count(await shown('Recovered'))).toBe(expected.recovered);
      expect(count(await shown('Bought without help'))).toBe(expected.convertedUnassisted);

      // A percent with one decimal.
      const percent = new Intl.NumberFormat('en', {
        style: 'percent',
        minimumFractionDigits: 1,
        maximumFractionDigits: 1,
      });
      expect(await shown('Recovery rate')).toBe(
        percent.format(expected.recovered / expected.abandoned),
      );

      // Each currency's amount in its own format, in code order, as a merchant reads money.
      const money = expected.revenue.map(({ currency, amountMinor }) =>
        new Intl.NumberFormat('en', { style: 'currency', currency }).format(amountMinor / 100),
      );
      expect(money.length).toBeGreaterThan(0);
      expect(await shown('Revenue recovered')).toBe(money.join(' · '));

      // Nothing moved while the page and the test were counting.
      expect(await figuresFromRows(db, store.id, from!, to!)).toEqual(expected);
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'admin-seeded-overview.png'), fullPage: true });
      expect(problems).toEqual([]);
    });
  },
);
