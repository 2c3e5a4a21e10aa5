import { type buildApp, createStore, type Store } from '@winback/server';
import type { Db } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import { overlayPayload } from '@winback/shared/overlay';
import { beforeAll, describe, expect, it } from 'vitest';
import { batch, eventId, useIngestApp } from './helpers/ingest.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';
import { type Conversation, converse } from './helpers/websocket.js';

// The on-site decision through the real stream endpoint and Postgres: a browser's page sends
// its events, and the server answers on the same socket with `prefetch_widget` and
// `show_overlay` commands when the store's rules allow. Each page is one socket, as in the sdk.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop-onsite.example';
const DELIVERY = { timeout: 10_000, interval: 100 };

type App = Awaited<ReturnType<typeof buildApp>>;
type Command = { t: 'cmd'; cmd: string; overlay?: Record<string, unknown> };

describe.skipIf(!pgUrl)('on-site overlay decisions', () => {
  const ingest = useIngestApp(database, Boolean(pgUrl));
  let db: Db;
  let app: App;
  beforeAll(() => {
    ({ db, app } = ingest);
  });

  /** A store whose exit modal shows for any risk, so tests do not depend on the model. */
  async function newStore(onsite: Record<string, unknown> = {}): Promise<Store> {
    const { store } = await createStore(db, { name: uniqueName('Onsite'), allowedOrigins: [SHOP] });
    await db
      .updateTable('stores')
      .set({
        settings: JSON.stringify({
          cartRestore: { kind: 'shopify' },
          onsite: { exitModal: { minRisk: 0 }, ...onsite },
        }),
      })
      .where('id', '=', store.id)
      .execute();
    return store;
  }

  /** The decisions counted so far, all outcomes, or one. */
  async function decisions(outcome?: string): Promise<number> {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    let total = 0;
    for (const line of text.split('\n')) {
      const match = /^winback_onsite_decisions_total\{([^}]*)\} (\S+)$/.exec(line);
      if (match && (!outcome || match[1]!.includes(`outcome="${outcome}"`))) {
        total += Number(match[2]);
      }
    }
    return total;
  }

  interface Browser {
    anonymousId: string;
    sessionId: string;
    cartId: string;
  }

  const browser = (): Browser => ({
    anonymousId: uniqueName('anon'),
    sessionId: uniqueName('sess'),
    cartId: uniqueName('cart'),
  });

  const envelope = (who: Browser, withCart = true) => ({
    id: eventId(),
    ts: Date.now(),
    sessionId: who.sessionId,
    anonymousId: who.anonymousId,
    ...(withCart ? { cartId: who.cartId } : {}),
  });
  const pageView = (who: Browser, path = '/cart', language = 'en-GB'): TrackedEvent => ({
    ...envelope(who, false),
    type: 'page_view',
    page: { url: `${SHOP}${path}` },
    device: { viewport: { width: 1280, height: 720 }, language },
  });
  const cartUpdated = (who: Browser): TrackedEvent => ({
    ...envelope(who),
    type: 'cart_updated',
    cart: {
      currency: 'EUR',
      subtotal: 3_600,
      lines: [
        {
          id: 'l1',
          variantId: '39072856',
          title: 'Sunrise mug <img src=x onerror=alert(1)>',
          variant: 'Orange',
          quantity: 2,
          unitPrice: 1_800,
          imageUrl: `${SHOP}/mug.png`,
        },
      ],
    },
  });
  const exitIntent = (who: Browser): TrackedEvent => ({
    ...envelope(who),
    type: 'exit_intent',
    signal: 'mouse_top',
  });
  const action = (who: Browser, kind: 'dismiss' | 'reason', reason?: string): TrackedEvent => ({
    ...envelope(who),
    type: 'overlay_action',
    overlayId: 'ov_test',
    action: kind,
    ...(reason ? { reason } : {}),
  });
  const purchase = (who: Browser): TrackedEvent => ({
    ...envelope(who),
    type: 'order_completed',
    orderId: uniqueName('order'),
    value: 3_600,
    currency: 'EUR',
  });

  interface Page {
    /** Sends one frame and waits for its ack; commands that come meanwhile are kept. */
    send(...events: TrackedEvent[]): Promise<void>;
    /** Waits until the server has made `count` more decisions, then returns every command so far. */
    commandsAfter(count: number): Promise<Command[]>;
    close(): void;
  }

  /** One page of a browser: its own socket. */
  async function openPage(store: Store, who: Browser): Promise<Page> {
    let stream: Conversation | undefined;
    await app.injectWS(
      `/v1/stream?key=${encodeURIComponent(store.public_key)}`,
      { headers: { origin: SHOP } },
      { onInit: (socket) => (stream = converse(socket, { commands: true })) },
    );
    const commands: Command[] = [];
    let seq = 0;
    const send = async (...events: TrackedEvent[]) => {
      seq += 1;
      stream!.send(batch(seq, events));
      for (;;) {
        const frame = (await stream!.next()) as { t: string; seq?: number };
        if (frame.t === 'cmd') commands.push(frame as Command);
        else {
          expect(frame).toEqual({ t: 'ack', seq });
          return;
        }
      }
    };
    return {
      send,
      async commandsAfter(count) {
        await expect.poll(() => decisions(), { timeout: 10_000 }).toBeGreaterThanOrEqual(count);
        // A frame of no consequence: its ack comes after any command sent before it.
        await send(pageView(who));
        return [...commands];
      },
      close: () => stream!.socket.close(),
    };
  }

  const shows = (commands: Command[]) => commands.filter((c) => c.cmd === 'show_overlay');

  it('prefetches the widget for a cart and shows the exit modal with its lines on an exit', async () => {
    const store = await newStore();
    const who = browser();
    const page = await openPage(store, who);
    await page.send(pageView(who, '/cart', 'de-DE'), cartUpdated(who));
    const before = await decisions();
    await page.send(exitIntent(who));
    const commands = await page.commandsAfter(before + 1);
    page.close();

    expect(commands[0]).toEqual({ t: 'cmd', cmd: 'prefetch_widget' });
    const [show] = shows(commands);
    const overlay = overlayPayload.parse(show!.overlay);
    expect(overlay).toMatchObject({
      kind: 'exit_modal',
      locale: 'de',
      cart: {
        currency: 'EUR',
        subtotal: 3_600,
        lines: [
          {
            title: 'Sunrise mug <img src=x onerror=alert(1)>',
            variant: 'Orange',
            quantity: 2,
            unitPrice: 1_800,
            imageUrl: `${SHOP}/mug.png`,
          },
        ],
      },
      checkoutUrl: `${SHOP}/cart/39072856:2`,
      capture: { email: true, phone: false },
      askReason: true,
    });
    expect(overlay.discount).toBeUndefined();
    expect(await decisions('shown')).toBeGreaterThanOrEqual(1);
  });

  it('shows one overlay a session, whatever page or node asks, and again in a later session', async () => {
    const store = await newStore();
    const who = browser();
    const first = await openPage(store, who);
    const second = await openPage(store, who);
    await first.send(pageView(who), cartUpdated(who));
    await second.send(pageView(who));
    const before = await decisions();
    // Two pages of one session exit at once: one claim wins.
    await Promise.all([first.send(exitIntent(who)), second.send(exitIntent(who))]);
    const both = [
      ...shows(await first.commandsAfter(before + 2)),
      ...shows(await second.commandsAfter(before + 2)),
    ];
    expect(both).toHaveLength(1);
    // Another exit on the same page: the session had its overlay.
    const repeats = await decisions('shown_this_session');
    const shownOnFirst = shows(await first.commandsAfter(0)).length;
    await first.send(exitIntent(who));
    await expect.poll(() => decisions('shown_this_session')).toBe(repeats + 1);
    expect(shows(await first.commandsAfter(0))).toHaveLength(shownOnFirst);
    first.close();
    second.close();

    const later = { ...who, sessionId: uniqueName('sess') };
    const next = await openPage(store, later);
    await next.send(pageView(later));
    const mark = await decisions();
    await next.send(exitIntent(later));
    expect(shows(await next.commandsAfter(mark + 1))).toHaveLength(1);
    next.close();
  });

  it('keeps overlays away after a dismissal, for the cooldown, in later sessions too', async () => {
    const store = await newStore({ dismissCooldownDays: 3 });
    const who = browser();
    const page = await openPage(store, who);
    await page.send(pageView(who), cartUpdated(who));
    let mark = await decisions();
    await page.send(exitIntent(who));
    expect(shows(await page.commandsAfter(mark + 1))).toHaveLength(1);
    await page.send(action(who, 'dismiss'));
    page.close();

    const later = { ...who, sessionId: uniqueName('sess') };
    const next = await openPage(store, later);
    await next.send(pageView(later));
    mark = await decisions('dismissed_recently');
    await next.send(exitIntent(later));
    await expect.poll(() => decisions('dismissed_recently')).toBe(mark + 1);
    expect(shows(await next.commandsAfter(0))).toEqual([]);
    next.close();
  });

  it('keeps the answer to "why are you leaving?" on the cart', async () => {
    const store = await newStore();
    const who = browser();
    const page = await openPage(store, who);
    await page.send(pageView(who), cartUpdated(who));
    await page.send(action(who, 'reason', 'shipping_cost'));
    page.close();
    await expect
      .poll(async () => {
        const row = await db
          .selectFrom('carts')
          .select('exit_reason')
          .where('store_id', '=', store.id)
          .where('external_id', '=', who.cartId)
          .executeTakeFirst();
        return row?.exit_reason;
      })
      .toBe('shipping_cost');
  });

  it('shows nothing once the cart is bought, on an excluded page, or below the store’s minimums', async () => {
    const cases: [Record<string, unknown>, (who: Browser, page: Page) => Promise<void>, string][] =
      [
        [{}, (who, page) => page.send(purchase(who)), 'bought'],
        [{}, (who, page) => page.send(pageView(who, '/checkout/payment')), 'page_excluded'],
        [{ exitModal: { minValueMinor: 10_000 } }, async () => {}, 'below_value'],
        [{ exitModal: { minRisk: 1 } }, async () => {}, 'below_risk'],
        [{ exitModal: { enabled: false } }, async () => {}, 'disabled'],
      ];
    for (const [rules, before, reason] of cases) {
      const store = await newStore(rules);
      const who = browser();
      const page = await openPage(store, who);
      await page.send(pageView(who), cartUpdated(who));
      await before(who, page);
      const mark = await decisions(reason);
      await page.send(exitIntent(who));
      await expect.poll(() => decisions(reason), { timeout: 10_000 }).toBe(mark + 1);
      expect(shows(await page.commandsAfter(0)), reason).toEqual([]);
      page.close();
    }
  });

  it('offers a discount code within the daily cap, with the code in the checkout link', async () => {
    const store = await newStore({
      offer: {
        discount: { kind: 'percent', value: 10, validHours: 24 },
        minRisk: 0,
        maxPerDay: 1,
      },
    });
    const lucky = browser();
    const page = await openPage(store, lucky);
    await page.send(pageView(lucky), cartUpdated(lucky));
    let mark = await decisions();
    await page.send(exitIntent(lucky));
    const [show] = shows(await page.commandsAfter(mark + 1));
    page.close();
    const overlay = overlayPayload.parse(show!.overlay);
    const code = overlay.discount!.code;
    expect(overlay.discount!.label).toBe('10% off your order');
    expect(new Date(overlay.discount!.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(overlay.checkoutUrl).toBe(
      `${SHOP}/cart/39072856:2?discount=${encodeURIComponent(code)}`,
    );
    const row = await db
      .selectFrom('discounts as d')
      .innerJoin('carts as c', 'c.id', 'd.cart_id')
      .select(['d.origin', 'c.external_id'])
      .where('d.store_id', '=', store.id)
      .where('d.code', '=', code)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ origin: 'onsite', external_id: lucky.cartId });

    // The cap is reached: the next shopper sees the modal without a code.
    const next = browser();
    const other = await openPage(store, next);
    await other.send(pageView(next), cartUpdated(next));
    mark = await decisions();
    await other.send(exitIntent(next));
    const [plain] = shows(await other.commandsAfter(mark + 1));
    other.close();
    expect(overlayPayload.parse(plain!.overlay).discount).toBeUndefined();
  });

  it('welcomes a shopper back to an abandoned cart with the slide-in', async () => {
    const store = await newStore();
    const who = browser();
    const page = await openPage(store, who);
    await page.send(pageView(who), cartUpdated(who));
    page.close();
    await db
      .updateTable('carts')
      .set({ status: 'abandoned', abandoned_at: new Date() })
      .where('store_id', '=', store.id)
      .where('external_id', '=', who.cartId)
      .execute();

    const back = { ...who, sessionId: uniqueName('sess') };
    const next = await openPage(store, back);
    await next.send(pageView(back, '/'));
    // The first page's own late look for an abandoned cart may count too: wait for the show.
    await expect.poll(async () => shows(await next.commandsAfter(0)).length, DELIVERY).toBe(1);
    const [show] = shows(await next.commandsAfter(0));
    next.close();
    const overlay = overlayPayload.parse(show!.overlay);
    expect(overlay.kind).toBe('return_slide_in');
    expect(overlay.cart.lines).toHaveLength(1);
    expect(overlay.capture).toBeUndefined();
  });

  it('answers nothing over HTTP, but keeps a dismissal sent by beacon', async () => {
    const store = await newStore();
    const who = browser();
    const response = await app.inject({
      method: 'POST',
      url: `/v1/collect?key=${store.public_key}`,
      headers: { 'content-type': 'text/plain', origin: SHOP },
      body: batch(1, [pageView(who), cartUpdated(who), exitIntent(who), action(who, 'dismiss')]),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ t: 'ack', seq: 1 });
    await expect
      .poll(async () => {
        const row = await db
          .selectFrom('onsite_state')
          .select('dismissed_at')
          .where('store_id', '=', store.id)
          .where('anonymous_id', '=', who.anonymousId)
          .executeTakeFirst();
        return row?.dismissed_at instanceof Date;
      })
      .toBe(true);
  });
});
