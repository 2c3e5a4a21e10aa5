import { buildApp, createStore, loadConfig, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium } from './helpers/chromium.js';
import { freePort } from './helpers/discover.js';
import { batch } from './helpers/ingest.js';
import { type MailSink, type ReceivedMail, startMailSink } from './helpers/mail-sink.js';
import { type LeftCart, leftCart } from './helpers/recovery.js';
import { needs, useFreshDatabase } from './helpers/services.js';

// The merchant's edits in the admin page reaching real recovery mail: a template and a campaign
// step edited in Chromium, then the next abandoned cart (events over /v1/collect, the in-process
// queue's idle timer, abandonment) enrolled with the edited step and mailed through a real SMTP
// server; the template's test send; and the sender settings with their inline errors.

const chromium = needsChromium();
const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

const SHOP = 'https://shop-campaigns.example';
/** Long enough for a busy 2-core machine; every wait is on a condition. */
const WAIT = { timeout: 45_000, interval: 200 };

type App = Awaited<ReturnType<typeof buildApp>>;

describe.skipIf(!chromium || !pgUrl)(
  'campaign edits in the admin page',
  { timeout: 120_000 },
  () => {
    let db: Db;
    let app: App;
    let sink: MailSink;
    let browser: Browser;
    let page: Page;
    let base: string;
    let store: Store;
    let adminSecret: string;
    /** Console errors and warnings, and page errors, the test did not expect. */
    const problems: string[] = [];
    /** HTTP refusals the test provokes on purpose, which Chromium logs as console errors. */
    const expectedRefusals: RegExp[] = [];

    beforeAll(async () => {
      db = createDb(database.url, 4);
      await migrateToLatest(db);
      sink = await startMailSink();
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      app = await buildApp(
        loadConfig({
          DATABASE_URL: database.url,
          SMTP_URL: sink.url,
          PUBLIC_URL: base,
          LINK_SECRET: 'campaign-edits-link-secret-0123456789abcdef',
          MAIL_FROM: 'Winback <recovery@winback.test>',
          LOG_LEVEL: 'silent',
        }),
      );
      await app.listen({ port, host: '127.0.0.1' });
      ({ store, adminSecret } = await createStore(db, {
        name: 'Campaign Edits Shop',
        allowedOrigins: [SHOP],
        postalAddress: '1 Test Street, 12345 Testville',
      }));
      // A cart is abandoned after one idle minute; no quiet hours nor frequency cap, so outcomes
      // never depend on the time of day the suite runs at.
      await db
        .updateTable('stores')
        .set({
          settings: JSON.stringify({
            idleThresholdMinutes: 1,
            quietHours: { start: '00:00', end: '00:00' },
            frequencyCapHours: { email: 0, sms: 24, push: 12 },
            cartRestore: { kind: 'shopify' },
          }),
        })
        .where('id', '=', store.id)
        .execute();
      browser = await launchChromium(chromium!);
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() !== 'error' && message.type() !== 'warning') return;
        const line = `${message.text()} (${message.location().url ?? ''})`;
        // The page asks whether it is signed in before the form shows; Chromium logs the 401.
        if (/status of 401/.test(line) && line.includes('/admin/api/session')) return;
        if (expectedRefusals.some((pattern) => pattern.test(line))) return;
        problems.push(line);
      });
      page.on('pageerror', (error) => problems.push(error.message));
    });

    afterAll(async () => {
      await browser?.close();
      await app?.close();
      await sink?.close();
      await db?.destroy();
    });

    /** Sends events as the sdk's HTTP fallback does, from the shop's origin; insists on the ack. */
    async function collect(events: readonly TrackedEvent[]): Promise<void> {
      const response = await fetch(
        `${base}/v1/collect?key=${encodeURIComponent(store.public_key)}`,
        {
          method: 'POST',
          headers: { 'content-type': 'text/plain', origin: SHOP },
          body: batch(1, events),
        },
      );
      expect(await response.json()).toEqual({ t: 'ack', seq: 1 });
    }

    /** Ledger rows of a cart by its storefront id, step by step. */
    async function ledger(cart: LeftCart) {
      return db
        .selectFrom('messages as m')
        .innerJoin('carts as c', 'c.id', 'm.cart_id')
        .select([
          'm.id',
          'm.step',
          'm.status',
          'm.step_def',
          'm.scheduled_at',
          'm.campaign_version',
          'm.discount_id',
          'm.claimed_at',
          'c.abandoned_at',
        ])
        .where('c.store_id', '=', store.id)
        .where('c.external_id', '=', cart.cartId)
        .orderBy('m.step')
        .execute();
    }

    async function mailTo(address: string): Promise<ReceivedMail> {
      await expect.poll(() => sink.mails.some((mail) => mail.to === address), WAIT).toBe(true);
      return sink.mails.find((mail) => mail.to === address)!;
    }

    async function apiGet<T>(path: string): Promise<T> {
      const response = await page.request.get(`${base}${path}`);
      expect(response.status()).toBe(200);
      return (await response.json()) as T;
    }

    it('signs in through the form', async () => {
      await page.goto(`${base}/admin`);
      await page.getByLabel('Store id').fill(store.id);
      await page.getByLabel('Admin secret').fill(adminSecret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Admin' }).waitFor(WAIT);
      expect(problems).toEqual([]);
    });

    it('edits the first step’s delay, template and discount; the next abandoned cart gets them', async () => {
      // A cart abandoned before the edit: it keeps the steps it enrolled with.
      const earlier = leftCart(SHOP);
      await collect(earlier.events);
      await expect.poll(async () => (await ledger(earlier)).length, WAIT).toBe(3);

      // A template of the store's own, made in the editor from the built-in reminder.
      await page.goto(`${base}/admin#/templates`);
      await page.getByRole('button', { name: 'Copy reminder' }).click();
      await page.getByLabel('Name').fill('Edited reminder');
      await page
        .getByLabel('Subject')
        .fill('{{ shopper.first_name | capitalize }}, your cart at {{ store.name }} is saved');
      await page.getByRole('button', { name: 'Save as new template' }).click();
      await page.getByRole('button', { name: 'Edit Edited reminder' }).waitFor(WAIT);

      // With no address of the merchant's yet, a test send says where to set one.
      expectedRefusals.push(/status of 409 .*\/admin\/api\/templates\/test-send/);
      await page.getByRole('button', { name: 'Send test' }).click();
      const refusal = page.locator('.test-send[role="alert"]');
      await expect.poll(() => refusal.textContent(), WAIT).toContain('WB_ERR_CONFLICT');
      expect(await refusal.getByRole('link', { name: 'Open the settings' }).count()).toBe(1);

      // The default campaign's first step: at once, with that template and 15 % off for a day.
      await page.goto(`${base}/admin#/campaigns`);
      await page.locator('tr[data-campaign] a').first().click();
      const delay = page.locator('input[name="step-0-delay"]');
      await delay.waitFor(WAIT);
      const campaignId = page.url().split('/').pop()!;
      await delay.fill('0');
      await page
        .locator('select[name="step-0-template"]')
        .selectOption({ label: 'Edited reminder' });
      await page.locator('select[name="step-0-discount"]').selectOption('percent');
      await page.locator('input[name="step-0-discount-value"]').fill('15');
      await page.locator('input[name="step-0-discount-hours"]').fill('24');
      await page.getByRole('button', { name: 'Save campaign' }).click();
      await expect
        .poll(() => page.locator('form.campaign [role="status"]').textContent(), WAIT)
        .toContain('version 2');

      const templates = await apiGet<{ templates: { id: string; name: string }[] }>(
        '/admin/api/templates',
      );
      const templateId = templates.templates.find((row) => row.name === 'Edited reminder')!.id;
      const editedStep = {
        delayMinutes: 0,
        channel: 'email',
        template: templateId,
        discount: { kind: 'percent', value: 15, validHours: 24 },
      };
      const campaign = await apiGet<{ version: number; steps: unknown[] }>(
        `/admin/api/campaigns/${campaignId}`,
      );
      expect(campaign.version).toBe(2);
      expect(campaign.steps[0]).toEqual(editedStep);

      // The next cart to be abandoned: events two hours old, so its idle timer is due at once.
      const next = leftCart(SHOP);
      await collect(next.events);
      const mail = await mailTo(next.email);

      const rows = await ledger(next);
      expect(rows).toHaveLength(3);
      const first = rows[0]!;
      expect(first.step_def).toEqual(editedStep);
      expect(first.campaign_version).toBe(2);
      expect(first.scheduled_at.getTime()).toBe(first.abandoned_at!.getTime());
      // The mail is accepted a moment before the worker records it.
      await expect.poll(async () => (await ledger(next))[0]!.status, WAIT).toBe('sent');
      const sent = (await ledger(next))[0]!;
      const discount = await db
        .selectFrom('discounts')
        .select(['code', 'kind', 'value', 'expires_at'])
        .where('store_id', '=', store.id)
        .where('id', '=', sent.discount_id!)
        .executeTakeFirstOrThrow();
      expect(discount).toMatchObject({ kind: 'percent', value: 15 });
      expect(discount.expires_at!.getTime() - sent.claimed_at!.getTime()).toBe(24 * 3_600_000);

      expect(mail.parsed.headers.get('x-winback-message')).toBe(first.id);
      // The shopper gave no first name: the template's fallback, capitalised.
      expect(mail.parsed.subject).toBe('There, your cart at Campaign Edits Shop is saved');
      expect(String(mail.parsed.html)).toContain(discount.code);
      expect(mail.parsed.text).toContain(discount.code);

      // The cart abandoned before the edit keeps the step it enrolled with, and waits its hour.
      const kept = await ledger(earlier);
      expect(kept[0]).toMatchObject({
        campaign_version: 1,
        step_def: { delayMinutes: 60, channel: 'email', template: 'reminder' },
        status: 'scheduled',
      });
      expect(sink.mails.some((item) => item.to === earlier.email)).toBe(false);
      expect(problems).toEqual([]);
    });

    it('saves the sender, logo and on-site offer in the settings, showing a bad address at its field', async () => {
      await page.goto(`${base}/admin#/settings`);
      const address = page.getByLabel(/Your email address/);
      await address.waitFor(WAIT);

      expectedRefusals.push(/status of 400 .*\/admin\/api\/store/);
      await address.fill('not-an-address');
      await page.getByRole('button', { name: 'Save settings' }).click();
      const field = page.locator('[data-field="settings.sender.replyTo"] .field-error');
      await expect.poll(() => field.textContent(), WAIT).toContain('email address');
      expect(await address.getAttribute('aria-invalid')).toBe('true');
      const unchanged = await apiGet<{ settings: { sender: unknown } }>('/admin/api/store');
      expect(unchanged.settings.sender).toEqual({ name: null, replyTo: null });

      await address.fill('owner@campaign-edits.example');
      await page.getByLabel(/From name/).fill('Campaign Edits');
      await page.getByLabel(/Email frequency cap/).fill('0');
      await page
        .getByLabel('Logo URL (https, empty: none)')
        .fill('https://shop-campaigns.example/logo.svg');
      await page.getByLabel('Offer a discount code in the exit modal').check();
      await page.locator('input[name="offerValue"]').fill('20');
      await page.getByLabel('Least cart value for an offer').fill('30');
      await page.getByLabel('Most codes a day').fill('25');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect
        .poll(() => page.locator('form [role="status"]').last().textContent(), WAIT)
        .toContain('Settings saved');
      expect(await field.count()).toBe(0);
      const saved = await apiGet<{ settings: Record<string, unknown> }>('/admin/api/store');
      expect(saved.settings).toMatchObject({
        sender: { name: 'Campaign Edits', replyTo: 'owner@campaign-edits.example' },
        idleThresholdMinutes: 1,
        frequencyCapHours: { email: 0 },
        onsite: {
          theme: { logoUrl: 'https://shop-campaigns.example/logo.svg' },
          offer: {
            discount: { kind: 'percent', value: 20, validHours: 24 },
            minValueMinor: 3_000,
            maxPerDay: 25,
          },
        },
      });

      await page.reload();
      await expect
        .poll(() => page.getByLabel(/Your email address/).inputValue(), WAIT)
        .toBe('owner@campaign-edits.example');
      expect(await page.getByLabel(/From name/).inputValue()).toBe('Campaign Edits');
      expect(await page.getByLabel('Least cart value for an offer').inputValue()).toBe('30.00');
      expect(problems).toEqual([]);
    });

    it('sends a test of the template being edited to the merchant’s own address', async () => {
      await page.goto(`${base}/admin#/templates`);
      await page.getByRole('button', { name: 'Edit Edited reminder' }).click();
      await page.getByLabel('Subject').fill('Test of {{ store.name }}');
      await expect
        .poll(() => page.locator('.editor .preview .subject').textContent(), WAIT)
        .toBe('Test of Campaign Edits Shop');
      await page.getByRole('button', { name: 'Send test' }).click();
      await expect
        .poll(() => page.locator('.test-send[role="status"]').textContent(), WAIT)
        .toContain('owner@campaign-edits.example');
      const mail = await mailTo('owner@campaign-edits.example');
      expect(mail.parsed.subject).toBe('[Test] Test of Campaign Edits Shop');
      expect(mail.parsed.from?.value).toEqual([
        { name: 'Campaign Edits', address: 'recovery@winback.test' },
      ]);
      expect(sink.mails.filter((item) => item.to === 'owner@campaign-edits.example')).toHaveLength(
        1,
      );
      expect(problems).toEqual([]);
    });
  },
);
