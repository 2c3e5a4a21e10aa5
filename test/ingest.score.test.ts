import { type buildApp, createStore, type Store } from '@winback/server';
import type { Db } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { batch, eventId, useIngestApp } from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import { type Conversation, converse } from './helpers/websocket.js';

// The score the ingest projection writes on carts, through the real endpoint and Postgres.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const SHOP = 'https://shop-score.example';

const envelope = (ts: number) => ({
  id: eventId(),
  ts,
  sessionId: 'session_0001',
  anonymousId: 'anon_000001',
  cartId: 'cart-s',
});

const cartUpdated = (ts: number, quantity: number, changes?: 'add' | 'remove'): TrackedEvent => ({
  ...envelope(ts),
  type: 'cart_updated',
  cart: {
    currency: 'EUR',
    subtotal: quantity * 2_000,
    lines: quantity === 0 ? [] : [{ id: 'l1', title: 'Mug', quantity, unitPrice: 2_000 }],
  },
  ...(changes ? { changes: [{ kind: changes, lineId: 'l1' }] } : {}),
});

const exitIntent = (ts: number): TrackedEvent => ({
  ...envelope(ts),
  type: 'exit_intent',
  signal: 'mouse_top',
});

describe.skipIf(!pgUrl)('real-time score on ingest', () => {
  const ingest = useIngestApp(database, Boolean(pgUrl));
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(() => {
    ({ db, app } = ingest);
  });

  let storeCount = 0;
  async function newStore(): Promise<Store> {
    storeCount += 1;
    const created = await createStore(db, {
      name: `Score ${storeCount}`,
      allowedOrigins: [SHOP],
    });
    return created.store;
  }

  /** Sends each frame in turn over the stream and waits for its ack. */
  async function send(store: Store, frames: readonly (readonly TrackedEvent[])[]): Promise<void> {
    let stream: Conversation | undefined;
    await app.injectWS(
      `/v1/stream?key=${encodeURIComponent(store.public_key)}`,
      { headers: { origin: SHOP } },
      { onInit: (socket) => (stream = converse(socket)) },
    );
    try {
      let seq = 0;
      for (const events of frames) {
        seq += 1;
        stream!.send(batch(seq, events));
        expect(await stream!.next()).toEqual({ t: 'ack', seq });
      }
    } finally {
      stream!.socket.close();
    }
  }

  async function cart(store: Store) {
    return db
      .selectFrom('carts')
      .select([
        'score',
        'edits',
        'removals',
        'page_views',
        'product_views',
        'checkout_steps',
        'exit_mouse_top',
        'first_seen_at',
      ])
      .where('store_id', '=', store.id)
      .where('external_id', '=', 'cart-s')
      .executeTakeFirstOrThrow();
  }

  it('scores a cart after its first batch, lower after checkout, higher after exit intent', async () => {
    const store = await newStore();
    await send(store, [[cartUpdated(T0, 1, 'add')]]);
    const first = (await cart(store)).score!;
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(1);

    const checkout = await newStore();
    await send(checkout, [
      [cartUpdated(T0, 1, 'add')],
      [{ ...envelope(T0 + 1_000), type: 'checkout_started' }],
    ]);
    expect((await cart(checkout)).score!).toBeLessThan(first);

    const leaving = await newStore();
    await send(leaving, [[cartUpdated(T0, 1, 'add')], [exitIntent(T0 + 1_000)]]);
    const afterOne = (await cart(leaving)).score!;
    expect(afterOne).toBeGreaterThan(first);
    await send(leaving, [[exitIntent(T0 + 2_000)]]);
    expect((await cart(leaving)).score!).toBeGreaterThan(afterOne);
    expect(await cart(leaving)).toMatchObject({ exit_mouse_top: 2, edits: 1 });
  });

  it('leaves counters and score unchanged when a frame is resent', async () => {
    const store = await newStore();
    const frame = [
      cartUpdated(T0, 1, 'add'),
      exitIntent(T0 + 500),
      cartUpdated(T0 + 900, 0, 'remove'),
    ];
    await send(store, [frame]);
    const before = await cart(store);
    await send(store, [frame, frame]);
    expect(await cart(store)).toEqual(before);
    expect(before).toMatchObject({ edits: 1, removals: 1, exit_mouse_top: 1 });
  });

  it('counts each event once however the events are split and shuffled', async () => {
    const events: TrackedEvent[] = [
      {
        ...envelope(T0),
        type: 'page_view',
        page: { url: 'https://shop.example/products/mug' },
      },
      { ...envelope(T0 + 100), type: 'page_view', page: { url: 'https://shop.example/p/42' } },
      { ...envelope(T0 + 200), type: 'page_view', page: { url: 'https://shop.example/about' } },
      cartUpdated(T0 + 300, 1, 'add'),
      cartUpdated(T0 + 400, 2, 'add'),
      cartUpdated(T0 + 500, 1, 'remove'),
      { ...envelope(T0 + 600), type: 'checkout_started' },
      { ...envelope(T0 + 700), type: 'checkout_step', step: 'shipping' },
      { ...envelope(T0 + 800), type: 'checkout_step', step: 'payment' },
      exitIntent(T0 + 900),
    ];
    const reference = await newStore();
    await send(reference, [events]);
    const expected = await cart(reference);
    expect(expected).toMatchObject({
      page_views: 3,
      product_views: 2,
      edits: 2,
      removals: 1,
      checkout_steps: 2,
      exit_mouse_top: 1,
      first_seen_at: new Date(T0),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
        fc.array(fc.nat(events.length - 1), { maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        async (shuffled, repeats, size) => {
          const sent = [...shuffled, ...repeats.map((index) => events[index]!)];
          const frames: TrackedEvent[][] = [];
          for (let i = 0; i < sent.length; i += size) frames.push(sent.slice(i, i + size));
          const store = await newStore();
          await send(store, frames);
          expect(await cart(store)).toEqual(expected);
        },
      ),
      { numRuns: 10 },
    );
  });
});
