import { buildApp, createStore, loadConfig, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ORIGIN, collect, signIn } from './helpers/admin.js';
import { eventId } from './helpers/ingest.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';

// A cart's timeline through the real app and Postgres: the risk score over time recomputed from
// the stored events must be the score the ingest stored after each frame; overlays, the shopper's
// actions on them, the exit reason and discount codes with their state; a cart with 10,000
// events answers with capped lists that say they are capped; another store's cart is a 404.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

type App = Awaited<ReturnType<typeof buildApp>>;

interface CartDetail {
  cart: { id: string; score: number | null; exitReason: string | null; exitReasonAt: string };
  timeline: { kind: string; type: string; at: string }[];
  eventsTruncated: boolean;
  eventCount: number;
  risk: {
    points: { at: string; score: number; types: string[] }[];
    changes: number;
    eventsReplayed: number;
    complete: boolean;
  };
  overlays: {
    overlayId: string;
    kind: string;
    shownAt: string | null;
    variant: string | null;
    actions: { at: string; action: string; reason: string | null }[];
  }[];
  overlaysTruncated: boolean;
  discounts: { code: string; state: string; origin: string; usedAt: string | null }[];
  discountsTruncated: boolean;
}

describe.skipIf(!pgUrl)('a cart’s timeline in the admin API', { timeout: 180_000 }, () => {
  let db: Db;
  let app: App;

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    // No background jobs: nothing but the test's own frames changes the carts. The rate limits
    // are raised so the 10,000 events of the cap test go through as fast as they are sent.
    app = await buildApp(
      loadConfig({
        DATABASE_URL: database.url,
        LOG_LEVEL: 'silent',
        PUBLIC_URL: ADMIN_ORIGIN,
        RATE_LIMIT_EVENTS_PER_SECOND: '10000000',
        RATE_LIMIT_FRAMES_PER_IP_PER_SECOND: '10000000',
      }),
      { runJobs: false },
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  async function merchant() {
    const name = uniqueName('Timeline shop');
    const origin = `https://${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
    const { store, adminSecret } = await createStore(db, { name, allowedOrigins: [origin] });
    const { cookie } = await signIn(app, store.id, adminSecret);
    const call = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
      app.inject({
        method,
        url,
        headers: { origin: ADMIN_ORIGIN, cookie },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    return { store, call };
  }

  const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
  const envelope = (cartId: string, at: number) => ({
    id: eventId(),
    ts: T0 + at * 1_000,
    sessionId: 'session_tl01',
    anonymousId: 'anon_tl0001',
    cartId,
  });
  const cartWith = (cartId: string, at: number, lines: number, remove = false): TrackedEvent => ({
    ...envelope(cartId, at),
    type: 'cart_updated',
    cart: {
      currency: 'EUR',
      subtotal: lines * 3_000,
      lines: Array.from({ length: lines }, (_, index) => ({
        id: `line-${index}`,
        title: `Mug ${index}`,
        quantity: 1,
        unitPrice: 3_000,
      })),
    },
    changes: [{ kind: remove ? 'remove' : 'add', lineId: 'line-0' }],
  });

  async function cartOf(store: Store, externalId: string) {
    return db
      .selectFrom('carts')
      .select(['id', 'score'])
      .where('store_id', '=', store.id)
      .where('external_id', '=', externalId)
      .executeTakeFirstOrThrow();
  }

  it('recomputes the risk after each frame as the ingest stored it', async () => {
    const { store, call } = await merchant();
    const frames: TrackedEvent[][] = [
      [
        {
          ...envelope('cart-risk', 0),
          type: 'page_view',
          page: { url: 'https://shop.example/products/mug', utm: { source: 'facebook' } },
          device: { type: 'mobile', viewport: { width: 390, height: 844 } },
        },
        cartWith('cart-risk', 1, 1),
      ],
      [cartWith('cart-risk', 20, 3)],
      [{ ...envelope('cart-risk', 30), type: 'exit_intent', signal: 'mouse_top' }],
      [cartWith('cart-risk', 40, 2, true)],
      // Arrives late: browser time before the snapshot of the frame above, so the snapshot stays.
      [cartWith('cart-risk', 35, 4)],
      [{ ...envelope('cart-risk', 50), type: 'checkout_started' }],
      [
        { ...envelope('cart-risk', 60), type: 'checkout_step', step: 'shipping' },
        { ...envelope('cart-risk', 61), type: 'exit_intent', signal: 'back' },
      ],
      [{ ...envelope('cart-risk', 70), type: 'overlay_shown', overlayId: 'ov_exit_risk' }],
    ];
    const stored: number[] = [];
    for (const frame of frames) {
      await collect(app, store, frame);
      stored.push((await cartOf(store, 'cart-risk')).score as number);
    }
    const { id } = await cartOf(store, 'cart-risk');
    const response = await call('GET', `/admin/api/carts/${id}`);
    expect(response.statusCode).toBe(200);
    const body: CartDetail = response.json();

    // The stored scores, each change once (and the last frame's), are the points.
    const changes = stored.filter(
      (value, index) => index === 0 || index === stored.length - 1 || value !== stored[index - 1],
    );
    expect(new Set(stored).size).toBeGreaterThan(3);
    expect(body.risk.points.map((point) => point.score)).toEqual(changes);
    expect(body.risk.points.at(-1)?.score).toBe(body.cart.score);
    expect(body.risk).toMatchObject({
      changes: changes.length,
      eventsReplayed: 10,
      complete: true,
    });
    expect(body.risk.points[0]?.types.sort()).toEqual(['cart_updated', 'page_view']);
    const times = body.risk.points.map((point) => point.at);
    expect([...times].sort()).toEqual(times);
    expect(body.eventCount).toBe(10);
  });

  it('shows the overlays, the shopper’s actions on them, the exit reason and each code’s state', async () => {
    const { store, call } = await merchant();
    await collect(app, store, [
      cartWith('cart-ov', 0, 2),
      { ...envelope('cart-ov', 10), type: 'overlay_shown', overlayId: 'ov_exit_abc', variant: 'b' },
      {
        ...envelope('cart-ov', 12),
        type: 'overlay_action',
        overlayId: 'ov_exit_abc',
        action: 'reason',
        reason: 'shipping_cost',
      },
      {
        ...envelope('cart-ov', 14),
        type: 'overlay_action',
        overlayId: 'ov_exit_abc',
        action: 'copy_code',
      },
      { ...envelope('cart-ov', 600), type: 'overlay_shown', overlayId: 'ov_slide_def' },
      {
        ...envelope('cart-ov', 605),
        type: 'overlay_action',
        overlayId: 'ov_slide_def',
        action: 'dismiss',
      },
    ]);
    const { id } = await cartOf(store, 'cart-ov');
    const hour = 3_600_000;
    await db
      .insertInto('discounts')
      .values([
        {
          store_id: store.id,
          cart_id: id,
          code: 'ONSITE-USED',
          kind: 'percent',
          value: 10,
          origin: 'onsite',
          expires_at: new Date(Date.now() + hour),
          used_at: new Date(),
        },
        {
          store_id: store.id,
          cart_id: id,
          code: 'MAIL-EXPIRED',
          kind: 'percent',
          value: 15,
          origin: 'message',
          expires_at: new Date(Date.now() - hour),
        },
        {
          store_id: store.id,
          cart_id: id,
          code: 'MAIL-OPEN',
          kind: 'fixed',
          value: 500,
          currency: 'EUR',
          origin: 'message',
          expires_at: new Date(Date.now() + 48 * hour),
        },
      ])
      .execute();

    // The exit reason is kept by the on-site feature once the frame is stored.
    await expect
      .poll(async () => (await call('GET', `/admin/api/carts/${id}`)).json().cart.exitReason, {
        timeout: 20_000,
        interval: 100,
      })
      .toBe('shipping_cost');
    const body: CartDetail = (await call('GET', `/admin/api/carts/${id}`)).json();
    expect(body.cart.exitReasonAt).toBe(new Date(T0 + 12_000).toISOString());
    expect(body.overlays).toEqual([
      {
        overlayId: 'ov_exit_abc',
        kind: 'exit_modal',
        shownAt: new Date(T0 + 10_000).toISOString(),
        variant: 'b',
        actions: [
          { at: new Date(T0 + 12_000).toISOString(), action: 'reason', reason: 'shipping_cost' },
          { at: new Date(T0 + 14_000).toISOString(), action: 'copy_code', reason: null },
        ],
      },
      {
        overlayId: 'ov_slide_def',
        kind: 'return_slide_in',
        shownAt: new Date(T0 + 600_000).toISOString(),
        variant: null,
        actions: [{ at: new Date(T0 + 605_000).toISOString(), action: 'dismiss', reason: null }],
      },
    ]);
    expect(body.overlaysTruncated).toBe(false);
    expect(
      Object.fromEntries(body.discounts.map((discount) => [discount.code, discount.state])),
    ).toEqual({ 'ONSITE-USED': 'used', 'MAIL-EXPIRED': 'expired', 'MAIL-OPEN': 'issued' });
    expect(body.discounts.find((d) => d.code === 'ONSITE-USED')?.origin).toBe('onsite');
    expect(body.discountsTruncated).toBe(false);
    expect(body.timeline.filter((entry) => entry.kind === 'discount')).toHaveLength(3);
  });

  it('answers a cart of 10,000 events with capped lists that say so', async () => {
    const { store, call } = await merchant();
    // 250 frames of 40: each starts with a cart of another size (so the risk moves every
    // frame), then page views; the first 100 frames carry 297 overlay actions between them.
    let at = 0;
    for (let frame = 0; frame < 250; frame++) {
      const events: TrackedEvent[] = [cartWith('cart-big', at++, 1 + (frame % 5))];
      while (events.length < 40) {
        events.push(
          events.length < 4 && frame < 100 && at > 3
            ? {
                ...envelope('cart-big', at++),
                type: 'overlay_action',
                overlayId: `ov_exit_${frame}`,
                action: 'dismiss',
              }
            : {
                ...envelope('cart-big', at++),
                type: 'page_view',
                page: { url: `https://shop.example/products/item-${at}` },
              },
        );
      }
      await collect(app, store, events);
    }
    const { id, score } = await cartOf(store, 'cart-big');
    const response = await call('GET', `/admin/api/carts/${id}`);
    expect(response.statusCode).toBe(200);
    const body: CartDetail = response.json();
    expect(body.eventCount).toBe(10_000);
    expect(body.eventsTruncated).toBe(true);
    expect(body.timeline.filter((entry) => entry.kind === 'event')).toHaveLength(500);
    expect(body.timeline.length).toBeLessThan(600);
    // Every frame replayed; no more than 200 points, ending at the score stored now.
    expect(body.risk).toMatchObject({ eventsReplayed: 10_000, complete: true });
    expect(body.risk.changes).toBeGreaterThan(200);
    expect(body.risk.points).toHaveLength(200);
    expect(body.risk.points.at(-1)?.score).toBe(score);
    // 297 overlay actions: only the newest 200 are read, and the answer says so.
    expect(body.overlaysTruncated).toBe(true);
    expect(body.overlays.flatMap((overlay) => overlay.actions)).toHaveLength(200);
    expect(response.body.length).toBeLessThan(400_000);
  });

  it('finds no cart of another store, nor a cart that does not exist', async () => {
    const mine = await merchant();
    const theirs = await merchant();
    await collect(app, theirs.store, [cartWith('their-cart', 0, 1)]);
    const { id } = await cartOf(theirs.store, 'their-cart');
    expect((await theirs.call('GET', `/admin/api/carts/${id}`)).statusCode).toBe(200);
    const refused = await mine.call('GET', `/admin/api/carts/${id}`);
    expect(refused.statusCode).toBe(404);
    expect(refused.json().error.code).toBe('WB_ERR_NOT_FOUND');
    expect(JSON.stringify(refused.json())).not.toContain('their-cart');
    const unknown = await mine.call('GET', '/admin/api/carts/00000000-0000-4000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
  });

  it('documents the timeline’s answer in the OpenAPI document', async () => {
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    const answer =
      document.paths['/admin/api/carts/{id}'].get.responses['200'].content['application/json']
        .schema;
    expect(Object.keys(answer.properties)).toEqual(
      expect.arrayContaining(['risk', 'overlays', 'discounts', 'eventCount', 'overlaysTruncated']),
    );
  });
});
