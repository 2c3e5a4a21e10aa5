import { type buildApp, createStore, type Store } from '@winback/server';
import type { Db } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import { overlayPayload } from '@winback/shared/overlay';
import { beforeAll, describe, expect, it } from 'vitest';
import { batch, eventId, useIngestApp } from './helpers/ingest.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';
import { type Conversation, converse } from './helpers/websocket.js';

// The exit modal's discount under campaigns' on-site steps, through the real stream endpoint
// and Postgres: the campaign that would enrol a cart (or the one it is enrolled in) decides what
// its exit modal may offer; a campaign without an on-site step leaves the cart to the store's
// offer; a step with no discount turns the store's offer off; and the daily cap counts every
// on-site code of the store, whichever rule issued it.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop-campaign-offer.example';

type App = Awaited<ReturnType<typeof buildApp>>;
type Command = { t: 'cmd'; cmd: string; overlay?: Record<string, unknown> };

const percentOff = (value: number, maxPerDay = 100) => ({
  discount: { kind: 'percent', value, validHours: 24 },
  minRisk: 0,
  minValueMinor: 0,
  maxPerDay,
});

describe.skipIf(!pgUrl)('on-site offers from campaigns', () => {
  const ingest = useIngestApp(database, Boolean(pgUrl));
  let db: Db;
  let app: App;
  beforeAll(() => {
    ({ db, app } = ingest);
  });

  /**
   * A store whose exit modal shows for any risk and offers 10 % off by its own settings (unless
   * told otherwise), with the default campaign every store starts with (no on-site step).
   */
  async function newStore(offer: unknown = percentOff(10)): Promise<Store> {
    const { store } = await createStore(db, {
      name: uniqueName('CampaignOffer'),
      allowedOrigins: [SHOP],
    });
    await db
      .updateTable('stores')
      .set({
        settings: JSON.stringify({
          cartRestore: { kind: 'shopify' },
          onsite: { exitModal: { minRisk: 0 }, offer },
        }),
      })
      .where('id', '=', store.id)
      .execute();
    return store;
  }

  /** Adds a campaign as the admin API stores one; `onsite` undefined: no on-site step. */
  async function addCampaign(
    store: Store,
    campaign: {
      name: string;
      priority: number;
      triggerFilters?: Record<string, unknown>;
      status?: 'draft' | 'active' | 'paused';
      onsite?: { offer: unknown };
    },
  ): Promise<string> {
    const row = await db
      .insertInto('campaigns')
      .values({
        store_id: store.id,
        name: campaign.name,
        status: campaign.status ?? 'active',
        priority: campaign.priority,
        trigger_filters: JSON.stringify(campaign.triggerFilters ?? {}),
        steps: JSON.stringify([{ delayMinutes: 60, channel: 'email', template: 'reminder' }]),
        onsite: campaign.onsite === undefined ? null : JSON.stringify(campaign.onsite),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** The decisions counted so far. */
  async function decisions(): Promise<number> {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    let total = 0;
    for (const line of text.split('\n')) {
      const match = /^winback_onsite_decisions_total\{[^}]*\} (\S+)$/.exec(line);
      if (match) total += Number(match[1]);
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
  const pageView = (who: Browser): TrackedEvent => ({
    ...envelope(who, false),
    type: 'page_view',
    page: { url: `${SHOP}/cart` },
    device: { viewport: { width: 1280, height: 720 }, language: 'en-GB' },
  });
  /** A cart of `quantity` mugs at 18.00 each. */
  const cartUpdated = (who: Browser, quantity: number, currency = 'EUR'): TrackedEvent => ({
    ...envelope(who),
    type: 'cart_updated',
    cart: {
      currency,
      subtotal: 1_800 * quantity,
      lines: [
        {
          id: 'l1',
          variantId: '39072856',
          title: 'Sunrise mug',
          quantity,
          unitPrice: 1_800,
        },
      ],
    },
  });
  const exitIntent = (who: Browser): TrackedEvent => ({
    ...envelope(who),
    type: 'exit_intent',
    signal: 'mouse_top',
  });

  /** One page of a browser on its own socket; `send` waits for the frame's ack. */
  async function openPage(store: Store) {
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
    return { send, commands, close: () => stream!.socket.close() };
  }

  type Page = Awaited<ReturnType<typeof openPage>>;

  /** Puts a cart on a page of a new browser; the page stays open for the exit. */
  async function cartOnPage(
    store: Store,
    quantity: number,
    currency = 'EUR',
  ): Promise<{ who: Browser; page: Page }> {
    const who = browser();
    const page = await openPage(store);
    await page.send(pageView(who), cartUpdated(who, quantity, currency));
    return { who, page };
  }

  /** The shopper leaves: the exit modal the server sends back, checked against the contract. */
  async function exit({ who, page }: { who: Browser; page: Page }) {
    const before = await decisions();
    await page.send(exitIntent(who));
    await expect.poll(() => decisions(), { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 1);
    // A frame of no consequence: its ack comes after any command sent before it.
    await page.send(pageView(who));
    page.close();
    const shows = page.commands.filter((command) => command.cmd === 'show_overlay');
    expect(shows).toHaveLength(1);
    const overlay = overlayPayload.parse(shows[0]!.overlay);
    expect(overlay.kind).toBe('exit_modal');
    return overlay;
  }

  /** The store's on-site codes, with the storefront id of the cart each was issued for. */
  const onsiteCodes = (store: Store) =>
    db
      .selectFrom('discounts as d')
      .innerJoin('carts as c', (join) =>
        join.onRef('c.id', '=', 'd.cart_id').onRef('c.store_id', '=', 'd.store_id'),
      )
      .select(['d.code', 'd.kind', 'd.value', 'c.external_id'])
      .where('d.store_id', '=', store.id)
      .where('d.origin', '=', 'onsite')
      .orderBy('d.created_at')
      .execute();

  it('offers a cart its campaign’s code policy, and the store’s to a cart whose campaign has no on-site step', async () => {
    const store = await newStore();
    await addCampaign(store, {
      name: 'Big carts',
      priority: 5,
      triggerFilters: { minValueMinor: 5_000 },
      onsite: { offer: percentOff(25) },
    });
    // A draft and a paused campaign would match every cart first, but enrol none.
    await addCampaign(store, {
      name: 'Draft',
      priority: 9,
      status: 'draft',
      onsite: { offer: percentOff(50) },
    });
    await addCampaign(store, {
      name: 'Paused',
      priority: 8,
      status: 'paused',
      onsite: { offer: percentOff(40) },
    });

    const big = await cartOnPage(store, 4);
    const small = await cartOnPage(store, 2);
    const bigOverlay = await exit(big);
    const smallOverlay = await exit(small);

    expect(bigOverlay.discount?.label).toBe('25% off your order');
    expect(bigOverlay.checkoutUrl).toBe(
      `${SHOP}/cart/39072856:4?discount=${encodeURIComponent(bigOverlay.discount!.code)}`,
    );
    expect(smallOverlay.discount?.label).toBe('10% off your order');
    expect(await onsiteCodes(store)).toEqual([
      { code: bigOverlay.discount!.code, kind: 'percent', value: 25, external_id: big.who.cartId },
      {
        code: smallOverlay.discount!.code,
        kind: 'percent',
        value: 10,
        external_id: small.who.cartId,
      },
    ]);
  });

  it('gives no code to the carts of a campaign whose on-site step says no discount', async () => {
    const store = await newStore();
    await addCampaign(store, {
      name: 'Dollar carts, no codes',
      priority: 5,
      triggerFilters: { currencies: ['USD'] },
      onsite: { offer: null },
    });
    const dollars = await cartOnPage(store, 2, 'USD');
    const euros = await cartOnPage(store, 2, 'EUR');
    const dollarOverlay = await exit(dollars);
    const euroOverlay = await exit(euros);

    expect(dollarOverlay.discount).toBeUndefined();
    expect(dollarOverlay.checkoutUrl).toBe(`${SHOP}/cart/39072856:2`);
    expect(euroOverlay.discount?.label).toBe('10% off your order');
    expect((await onsiteCodes(store)).map((row) => row.external_id)).toEqual([euros.who.cartId]);
  });

  it('lets a campaign offer a code in a store that offers none itself', async () => {
    const store = await newStore(null);
    await addCampaign(store, {
      name: 'Big carts',
      priority: 5,
      triggerFilters: { minValueMinor: 5_000 },
      onsite: { offer: percentOff(15) },
    });
    const big = await exit(await cartOnPage(store, 3));
    const small = await exit(await cartOnPage(store, 2));
    expect(big.discount?.label).toBe('15% off your order');
    expect(small.discount).toBeUndefined();
  });

  it('holds each rule’s daily cap against every on-site code the store issued', async () => {
    const store = await newStore(percentOff(10, 100));
    await addCampaign(store, {
      name: 'Big carts, two codes a day',
      priority: 5,
      triggerFilters: { minValueMinor: 5_000 },
      onsite: { offer: percentOff(25, 2) },
    });
    // One code under the store's rule, one under the campaign's: the campaign's cap is reached.
    const first = await exit(await cartOnPage(store, 2));
    const second = await exit(await cartOnPage(store, 4));
    const third = await exit(await cartOnPage(store, 5));
    const fourth = await exit(await cartOnPage(store, 2));

    expect(first.discount?.label).toBe('10% off your order');
    expect(second.discount?.label).toBe('25% off your order');
    expect(third.discount).toBeUndefined();
    // The store's own rule allows a hundred a day.
    expect(fourth.discount?.label).toBe('10% off your order');
    expect((await onsiteCodes(store)).map((row) => row.value)).toEqual([10, 25, 10]);
  });

  it('offers an enrolled cart the policy of the campaign it is in, while that campaign is active', async () => {
    const store = await newStore();
    const vip = await addCampaign(store, {
      name: 'VIP',
      priority: 1,
      triggerFilters: { currencies: ['GBP'] },
      onsite: { offer: percentOff(30) },
    });
    const retired = await addCampaign(store, {
      name: 'Retired',
      priority: 1,
      status: 'paused',
      onsite: { offer: percentOff(45) },
    });
    const enrol = (cartId: string, campaignId: string) =>
      db
        .updateTable('carts')
        .set({ campaign_id: campaignId, campaign_version: 1, enrolment: 'enrolled' })
        .where('store_id', '=', store.id)
        .where('external_id', '=', cartId)
        .execute();

    // Both carts would match only the default campaign now; they were enrolled earlier.
    const inVip = await cartOnPage(store, 2);
    await enrol(inVip.who.cartId, vip);
    const inRetired = await cartOnPage(store, 2);
    await enrol(inRetired.who.cartId, retired);

    expect((await exit(inVip)).discount?.label).toBe('30% off your order');
    expect((await exit(inRetired)).discount?.label).toBe('10% off your order');
  });

  it('offers a cart again the code it was given, and another store’s cart its own store’s', async () => {
    const store = await newStore();
    await addCampaign(store, {
      name: 'Everyone, 20 %',
      priority: 5,
      onsite: { offer: percentOff(20) },
    });
    // Another store, whose shopper has a cart of the same storefront id.
    const other = await newStore();
    const shared = await cartOnPage(store, 2);
    const overlay = await exit(shared);
    expect(overlay.discount?.label).toBe('20% off your order');

    const again = { ...shared.who, sessionId: uniqueName('sess') };
    const page = await openPage(store);
    await page.send(pageView(again));
    expect((await exit({ who: again, page })).discount?.code).toBe(overlay.discount!.code);

    const elsewhere = { ...shared.who, anonymousId: uniqueName('anon') };
    const otherPage = await openPage(other);
    await otherPage.send(pageView(elsewhere), cartUpdated(elsewhere, 2));
    const theirs = (await exit({ who: elsewhere, page: otherPage })).discount;
    expect(theirs?.label).toBe('10% off your order');
    expect(theirs?.code).not.toBe(overlay.discount!.code);
    expect((await onsiteCodes(other)).map((row) => row.external_id)).toEqual([shared.who.cartId]);
    expect(await onsiteCodes(store)).toHaveLength(1);
  });
});
