import { randomUUID } from 'node:crypto';
import { buildApp, createStore, loadConfig, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batch, eventId } from './helpers/ingest.js';
import { type MailSink, type ReceivedMail, startMailSink } from './helpers/mail-sink.js';
import { purchaseOf, until } from './helpers/recovery.js';
import { needs, useFreshDatabase } from './helpers/services.js';

// The recovery loop end to end through the public endpoints: events in over /v1/collect, the
// idle timer, abandonment, the campaign's steps, a real SMTP server receiving the mail, the
// links in it, and the purchase that ends it all.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

const SHOP = 'https://shop-recovery.example';
const PUBLIC_URL = 'https://winback.test';
const LINK_SECRET = 'journey-link-secret-0123456789abcdef';
const HOUR = 3_600_000;

type App = Awaited<ReturnType<typeof buildApp>>;

describe.skipIf(!pgUrl)('the recovery loop', () => {
  let db: Db;
  let app: App;
  let sink: MailSink;
  let store: Store;
  /** Mails accepted while their cart was already bought: must stay empty. */
  const afterPurchase: string[] = [];

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    sink = await startMailSink();
    app = await buildApp(
      loadConfig({
        DATABASE_URL: database.url,
        SMTP_URL: sink.url,
        LINK_SECRET,
        PUBLIC_URL,
        MAIL_FROM: 'Recovery Shop <shop@recovery.example>',
        LOG_LEVEL: 'silent',
      }),
    );
    ({ store } = await createStore(db, {
      name: 'Recovery Shop',
      allowedOrigins: [SHOP],
      postalAddress: '1 Test Street, 12345 Testville',
    }));
    await db
      .updateTable('stores')
      .set({
        settings: JSON.stringify({
          // No quiet hours, so the test does not depend on the time of day it runs at.
          quietHours: { start: '00:00', end: '00:00' },
          cartRestore: { kind: 'shopify' },
        }),
      })
      .where('id', '=', store.id)
      .execute();
    // The first step goes out as soon as the cart is abandoned, so the test need not wait.
    await db
      .updateTable('campaigns')
      .set({
        steps: JSON.stringify([
          { delayMinutes: 0, channel: 'email', template: 'reminder' },
          { delayMinutes: 1440, channel: 'email', template: 'lastChance' },
          {
            delayMinutes: 4320,
            channel: 'email',
            template: 'discount',
            discount: { kind: 'percent', value: 10, validHours: 48 },
          },
        ]),
      })
      .where('store_id', '=', store.id)
      .execute();
    // Every mail, at the moment it counts as delivered, must belong to a cart not yet bought.
    sink.behaviour.beforeAccept = async (mail) => {
      const messageId = String(mail.parsed.headers.get('x-winback-message') ?? '');
      const row = await db
        .selectFrom('messages as m')
        .innerJoin('carts as c', 'c.id', 'm.cart_id')
        .select('c.status')
        .where('m.id', '=', messageId)
        .executeTakeFirst();
      if (!row || row.status === 'converted' || row.status === 'recovered') {
        afterPurchase.push(messageId);
      }
    };
  });

  afterAll(async () => {
    await app?.close();
    await sink?.close();
    await db?.destroy();
  });

  async function send(events: readonly TrackedEvent[]): Promise<void> {
    const response = await app.inject({
      method: 'POST',
      url: `/v1/collect?key=${store.public_key}`,
      headers: { origin: SHOP, 'content-type': 'application/json' },
      payload: batch(1, events),
    });
    expect(response.json()).toEqual({ t: 'ack', seq: 1 });
  }

  /** A shopper who gave their email with consent and left a cart two hours ago. */
  function leftCart(
    options: { anonymousId?: string; cartId?: string; title?: string; email?: string } = {},
  ) {
    const anonymousId = options.anonymousId ?? `anon_${randomUUID().slice(0, 12)}`;
    const cartId = options.cartId ?? `cart-${randomUUID()}`;
    const email = options.email ?? `${anonymousId}@shopper.example`;
    const ts = Date.now() - 2 * HOUR;
    const envelope = (offset: number) => ({
      id: eventId(),
      ts: ts + offset,
      sessionId: `session_${anonymousId}`,
      anonymousId,
    });
    const events: TrackedEvent[] = [
      {
        ...envelope(0),
        type: 'identify',
        email,
        firstName: 'Anna',
        consent: { email: true, textVersion: 'v1' },
      },
      { ...envelope(1), cartId, type: 'page_view', page: { url: `${SHOP}/products/mug` } },
      {
        ...envelope(2),
        cartId,
        type: 'cart_updated',
        cart: {
          currency: 'EUR',
          subtotal: 4300,
          lines: [
            {
              id: 'line-1',
              variantId: '40001',
              title: options.title ?? 'Sunrise mug',
              variant: 'Blue',
              quantity: 2,
              unitPrice: 1800,
              imageUrl: `${SHOP}/images/mug.png`,
            },
            { id: 'line-2', variantId: '40002', title: 'Tea towel', quantity: 1, unitPrice: 700 },
          ],
        },
      },
    ];
    return { anonymousId, cartId, email, events };
  }

  const purchase = (anonymousId: string, cartId: string) => purchaseOf(anonymousId, cartId, 4300);

  async function mailTo(email: string): Promise<ReceivedMail> {
    for (;;) {
      const mail = sink.mails.find((item) => item.to === email);
      if (mail) return mail;
      await sink.waitFor(sink.mails.length + 1);
    }
  }

  async function ledger(cartId: string) {
    return db
      .selectFrom('messages as m')
      .innerJoin('carts as c', 'c.id', 'm.cart_id')
      .select(['m.id', 'm.step', 'm.status', 'm.suppress_reason', 'm.clicked_at', 'm.opened_at'])
      .where('c.store_id', '=', store.id)
      .where('c.external_id', '=', cartId)
      .orderBy('m.step')
      .execute();
  }

  async function cart(cartId: string) {
    return db
      .selectFrom('carts')
      .selectAll()
      .where('store_id', '=', store.id)
      .where('external_id', '=', cartId)
      .executeTakeFirstOrThrow();
  }

  function linkPath(html: string, prefix: '/r/' | '/u/' | '/o/'): string {
    const match = new RegExp(`${PUBLIC_URL}(${prefix}[A-Za-z0-9_-]+)`).exec(html);
    if (!match?.[1]) throw new Error(`no ${prefix} link in the mail`);
    return match[1];
  }

  it('abandons, mails, follows the recovery link and attributes the purchase', async () => {
    const shopper = leftCart();
    await send(shopper.events);
    const mail = await mailTo(shopper.email);

    const { parsed } = mail;
    expect(parsed.from?.text).toContain('shop@recovery.example');
    const header = (name: string) =>
      parsed.headerLines.find((line) => line.key === name)?.line.replace(/^[^:]+:\s*/, '');
    expect(header('list-unsubscribe')).toMatch(/^<https:\/\/winback\.test\/u\/[\w-]+>$/);
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const html = String(parsed.html);
    const text = parsed.text ?? '';
    for (const part of [html, text]) {
      expect(part).toContain('Hi Anna,');
      expect(part).toContain('Sunrise mug');
      expect(part).toContain('Tea towel');
      expect(part).toContain('1 Test Street, 12345 Testville');
      expect(part).toMatch(/€\s?43\.00|43\.00\s?€/);
    }
    expect(html).toContain(`${SHOP}/images/mug.png`);

    const abandoned = await cart(shopper.cartId);
    expect(abandoned).toMatchObject({ status: 'abandoned', enrolment: 'enrolled' });
    // The mail is accepted a moment before the worker records it.
    await waitForStatus(shopper.cartId, 0, ['sent']);
    const steps = await ledger(shopper.cartId);
    expect(steps.map((step) => step.status)).toEqual(['sent', 'scheduled', 'scheduled']);

    const click = await app.inject({ method: 'GET', url: linkPath(html, '/r/') });
    expect(click.statusCode).toBe(302);
    expect(click.headers.location).toBe(`${SHOP}/cart/40001:2,40002:1`);
    const clicked = await ledger(shopper.cartId);
    expect(clicked[0]?.clicked_at).toBeInstanceOf(Date);

    await send([purchase(shopper.anonymousId, shopper.cartId)]);
    const bought = await cart(shopper.cartId);
    expect(bought).toMatchObject({
      status: 'recovered',
      attributed_message_id: steps[0]?.id,
      order_value_minor: 4300,
    });
    const after = await ledger(shopper.cartId);
    expect(after.slice(1).map((step) => [step.status, step.suppress_reason])).toEqual([
      ['cancelled', 'purchased'],
      ['cancelled', 'purchased'],
    ]);
    // A second purchase signal changes nothing.
    await send([purchase(shopper.anonymousId, shopper.cartId)]);
    expect(await cart(shopper.cartId)).toMatchObject({
      status: 'recovered',
      order_id: bought.order_id,
    });
    expect(afterPurchase).toEqual([]);
  });

  it('issues a single-use discount code with the step that carries one', async () => {
    const shopper = leftCart();
    await send(shopper.events);
    await mailTo(shopper.email);
    const discountStep = (await ledger(shopper.cartId))[2];
    if (!discountStep) throw new Error('the discount step is missing');
    // Bring the 72-hour step forward instead of waiting for it.
    await db
      .updateTable('messages')
      .set({ scheduled_at: new Date(), step: 2 })
      .where('id', '=', discountStep.id)
      .execute();
    await app.queue.schedule('message.send', discountStep.id, new Date(), { storeId: store.id });
    await waitForStatus(shopper.cartId, 2, ['sent']);
    const mail = sink.mails.find(
      (item) => item.parsed.headers.get('x-winback-message') === discountStep.id,
    );
    if (!mail) throw new Error('no mail for the discount step');
    const issued = await db
      .selectFrom('discounts')
      .select(['code', 'kind', 'value', 'expires_at', 'used_at'])
      .where('store_id', '=', store.id)
      .execute();
    const discount = issued.find((row) => String(mail.parsed.html).includes(row.code));
    expect(discount).toMatchObject({ kind: 'percent', value: 10, used_at: null });
    expect(mail.parsed.text).toContain(discount?.code);

    const click = await app.inject({
      method: 'GET',
      url: linkPath(String(mail.parsed.html), '/r/'),
    });
    expect(click.headers.location).toBe(
      `${SHOP}/cart/40001:2,40002:1?discount=${encodeURIComponent(discount?.code ?? '')}`,
    );
    const withCode = leftCart({ anonymousId: shopper.anonymousId, cartId: shopper.cartId });
    const cartEvent = withCode.events[2] as Extract<TrackedEvent, { type: 'cart_updated' }>;
    await send([
      {
        ...cartEvent,
        ts: Date.now(),
        cart: { ...cartEvent.cart, discountCodes: [discount?.code ?? ''] },
      },
      purchase(shopper.anonymousId, shopper.cartId),
    ]);
    const used = await db
      .selectFrom('discounts')
      .select('used_at')
      .where('store_id', '=', store.id)
      .where('code', '=', discount?.code ?? '')
      .executeTakeFirstOrThrow();
    expect(used.used_at).toBeInstanceOf(Date);
    expect((await cart(shopper.cartId)).status).toBe('recovered');
  });

  it('keeps the steps a cart enrolled with when the campaign changes', async () => {
    const before = leftCart();
    await send(before.events);
    await mailTo(before.email);
    const campaign = await db
      .selectFrom('campaigns')
      .select(['id', 'steps'])
      .where('store_id', '=', store.id)
      .executeTakeFirstOrThrow();
    const edited = [
      { delayMinutes: 0, channel: 'email', template: 'reminder' },
      { delayMinutes: 120, channel: 'email', template: 'lastChance' },
    ];
    await db
      .updateTable('campaigns')
      .set((eb) => ({ steps: JSON.stringify(edited), version: eb('version', '+', 1) }))
      .where('id', '=', campaign.id)
      .execute();
    try {
      const after = leftCart();
      await send(after.events);
      await mailTo(after.email);
      expect(await ledger(before.cartId)).toHaveLength(3);
      expect(await ledger(after.cartId)).toHaveLength(2);
      const delays = await db
        .selectFrom('messages as m')
        .innerJoin('carts as c', 'c.id', 'm.cart_id')
        .select(['c.external_id', 'm.step_def', 'm.campaign_version'])
        .where('c.external_id', 'in', [before.cartId, after.cartId])
        .where('m.step', '=', 1)
        .execute();
      const byCart = new Map(delays.map((row) => [row.external_id, row]));
      expect(byCart.get(before.cartId)?.step_def).toMatchObject({ delayMinutes: 1440 });
      expect(byCart.get(after.cartId)?.step_def).toMatchObject({ delayMinutes: 120 });
      expect(byCart.get(after.cartId)?.campaign_version).toBe(
        (byCart.get(before.cartId)?.campaign_version ?? 0) + 1,
      );
    } finally {
      await db
        .updateTable('campaigns')
        .set({ steps: JSON.stringify(campaign.steps) })
        .where('id', '=', campaign.id)
        .execute();
    }
  });

  it('refuses a tampered or foreign recovery link without redirecting', async () => {
    for (const url of ['/r/not-a-token', `/r/${'A'.repeat(60)}`]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(404);
      expect(response.headers.location).toBeUndefined();
    }
  });

  it('renders cart data with HTML and Liquid syntax as inert text', async () => {
    const title = '<script>alert(1)</script>{{ 6 | times: 7 }}{% assign x = 1 %}';
    const shopper = leftCart({ title });
    await send(shopper.events);
    const { parsed } = await mailTo(shopper.email);
    const html = String(parsed.html);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(parsed.text).toContain(title);
    expect(html).not.toContain('>42<');
  });

  it('sends nothing more after a one-click unsubscribe, which is harmless to repeat', async () => {
    const shopper = leftCart();
    await send(shopper.events);
    const { parsed } = await mailTo(shopper.email);
    const unsubscribe = linkPath(String(parsed.html), '/u/');

    // A GET (a mail scanner following the link) only shows the confirmation.
    const page = await app.inject({ method: 'GET', url: unsubscribe });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post">');
    const still = await db
      .selectFrom('shoppers')
      .select(['opted_out_at', 'email_consent'])
      .where('store_id', '=', store.id)
      .where('anonymous_id', '=', shopper.anonymousId)
      .executeTakeFirstOrThrow();
    expect(still).toEqual({ opted_out_at: null, email_consent: true });

    for (let i = 0; i < 2; i += 1) {
      const response = await app.inject({
        method: 'POST',
        url: unsubscribe,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(response.statusCode).toBe(200);
    }
    const shopperRow = await db
      .selectFrom('shoppers')
      .select(['id', 'opted_out_at', 'email_consent'])
      .where('store_id', '=', store.id)
      .where('anonymous_id', '=', shopper.anonymousId)
      .executeTakeFirstOrThrow();
    expect(shopperRow.opted_out_at).toBeInstanceOf(Date);
    expect(shopperRow.email_consent).toBe(false);
    const withdrawals = await db
      .selectFrom('consent_log')
      .select(['granted', 'source'])
      .where('shopper_id', '=', shopperRow.id)
      .where('source', '=', 'unsubscribe')
      .execute();
    expect(withdrawals).toEqual([{ granted: false, source: 'unsubscribe' }]);
    const suppressions = await db
      .selectFrom('suppressions')
      .select('reason')
      .where('store_id', '=', store.id)
      .execute();
    expect(suppressions).toContainEqual({ reason: 'unsubscribe' });
    const steps = await ledger(shopper.cartId);
    expect(steps.slice(1).map((step) => [step.status, step.suppress_reason])).toEqual([
      ['cancelled', 'opted_out'],
      ['cancelled', 'opted_out'],
    ]);

    // The same address, given with consent from another browser, is not mailed either.
    const again = leftCart({ email: shopper.email });
    await send(again.events);
    await waitForStatus(again.cartId, 0, ['suppressed']);
    expect((await ledger(again.cartId))[0]?.suppress_reason).toBe('suppressed_address');
    expect(sink.mails.filter((mail) => mail.to === shopper.email)).toHaveLength(1);
  });

  it('mails a shopper with two abandoned carts once within the frequency cap', async () => {
    const first = leftCart();
    const second = leftCart({ anonymousId: first.anonymousId });
    await send([...first.events, ...second.events.slice(2)]);
    await waitForStatus(first.cartId, 0, ['sent', 'suppressed']);
    await waitForStatus(second.cartId, 0, ['sent', 'suppressed']);
    const outcomes = [(await ledger(first.cartId))[0], (await ledger(second.cartId))[0]].map(
      (step) => [step?.status, step?.suppress_reason],
    );
    expect(outcomes).toContainEqual(['sent', null]);
    expect(outcomes).toContainEqual(['suppressed', 'frequency_cap']);
  });

  it('never delivers a mail after the purchase commits, even one in flight', async () => {
    const shopper = leftCart();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inFlight!: () => void;
    const reached = new Promise<void>((resolve) => {
      inFlight = resolve;
    });
    const check = sink.behaviour.beforeAccept;
    // The SMTP server holds the mail until the purchase is waiting on the send.
    sink.behaviour.beforeAccept = async (mail) => {
      if (mail.to !== shopper.email) return check?.(mail);
      inFlight();
      await gate;
      await check?.(mail);
    };
    try {
      await send(shopper.events);
      await reached;
      const bought = send([purchase(shopper.anonymousId, shopper.cartId)]);
      // The purchase's transaction waits for the send's lock (a condition, not a delay).
      await until(async () => {
        const { rows } = await sql<{ waiting: number }>`
          select count(*)::int as waiting from pg_locks where locktype = 'advisory' and not granted
        `.execute(db);
        return (rows[0]?.waiting ?? 0) > 0;
      });
      release();
      await bought;
    } finally {
      sink.behaviour.beforeAccept = check;
    }
    const steps = await ledger(shopper.cartId);
    expect(steps.map((step) => step.status)).toEqual(['sent', 'cancelled', 'cancelled']);
    expect((await cart(shopper.cartId)).status).toBe('converted');
    expect(afterPurchase).toEqual([]);
  });

  it('stops the sequence of a cart whose shopper bought another cart', async () => {
    const shopper = leftCart();
    await send(shopper.events);
    await mailTo(shopper.email);
    await send([purchase(shopper.anonymousId, `cart-${randomUUID()}`)]);
    const steps = await ledger(shopper.cartId);
    expect(steps.slice(1).map((step) => [step.status, step.suppress_reason])).toEqual([
      ['cancelled', 'purchased'],
      ['cancelled', 'purchased'],
    ]);
    expect((await cart(shopper.cartId)).status).toBe('abandoned');
  });

  it('leaves a cart without a reachable channel abandoned but unenrolled', async () => {
    const shopper = leftCart();
    // No identify event: the shopper never gave an address.
    await send(shopper.events.slice(1));
    await until(async () => (await cart(shopper.cartId)).status === 'abandoned');
    expect(await cart(shopper.cartId)).toMatchObject({
      enrolment: 'no_channel',
      campaign_id: null,
    });
    expect(await ledger(shopper.cartId)).toEqual([]);
  });

  async function waitForStatus(cartId: string, step: number, statuses: string[]): Promise<void> {
    await until(async () => {
      const row = (await ledger(cartId))[step];
      return row !== undefined && statuses.includes(row.status);
    });
  }
});
