import { existsSync, readFileSync } from 'node:fs';
import { type buildApp, createStore, type Store } from '@winback/server';
import type { Db } from '@winback/server/db';
import type { CartSnapshot, TrackedEvent } from '@winback/shared';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { batch, eventId, useIngestApp } from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import { type Conversation, converse } from './helpers/websocket.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

const SHOP = 'https://shop-projection.example';
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const REPLAY_CSV = new URL('../../shared/data/sessions/rees46-2019-oct-head.csv', import.meta.url);

const envelope = (ts: number, cartId?: string, anonymousId = 'anon_000001') => ({
  id: eventId(),
  ts,
  sessionId: 'session_0001',
  anonymousId,
  ...(cartId === undefined ? {} : { cartId }),
});

function snapshot(lines: readonly [string, number, number][]): CartSnapshot {
  return {
    currency: 'EUR',
    subtotal: lines.reduce((sum, [, quantity, unitPrice]) => sum + quantity * unitPrice, 0),
    lines: lines.map(([id, quantity, unitPrice]) => ({
      id,
      title: `Product ${id}`,
      quantity,
      unitPrice,
    })),
  };
}

function cartUpdated(
  ts: number,
  cartId: string,
  lines: readonly [string, number, number][],
): TrackedEvent {
  return { ...envelope(ts, cartId), type: 'cart_updated', cart: snapshot(lines) };
}

/** The columns the projection decides, for comparing one cart across stores. */
async function cartState(db: Db, storeId: string, externalId: string) {
  const row = await db
    .selectFrom('carts')
    .select([
      'status',
      'snapshot',
      'currency',
      'value_minor',
      'line_count',
      'last_activity_at',
      'converted_at',
      'checkout_at',
      'snapshot_ts',
      'device',
      'utm',
      'session_id',
      'shopper_id',
      'score',
    ])
    .where('store_id', '=', storeId)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
  if (!row) return undefined;
  const { shopper_id, ...rest } = row;
  // Shopper rows are per store; only whether the link exists is comparable.
  return { ...rest, linked: shopper_id !== null };
}

describe.skipIf(!pgUrl)('ingest projection onto carts and shoppers', () => {
  const ingest = useIngestApp(database, Boolean(pgUrl));
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(() => {
    ({ db, app } = ingest);
  });

  let storeCount = 0;
  async function newStore(): Promise<Store> {
    storeCount += 1;
    return (await createStore(db, { name: `Shop ${storeCount}`, allowedOrigins: [SHOP] })).store;
  }

  async function open(store: Store): Promise<Conversation> {
    let conversation: Conversation | undefined;
    await app.injectWS(
      `/v1/stream?key=${encodeURIComponent(store.public_key)}`,
      { headers: { origin: SHOP } },
      { onInit: (socket) => (conversation = converse(socket)) },
    );
    return conversation!;
  }

  /** Sends each frame in turn and waits for its ack. */
  async function send(store: Store, frames: readonly (readonly TrackedEvent[])[]): Promise<void> {
    const stream = await open(store);
    try {
      let seq = 0;
      for (const events of frames) {
        seq += 1;
        stream.send(batch(seq, events));
        expect(await stream.next()).toEqual({ t: 'ack', seq });
      }
    } finally {
      stream.socket.close();
    }
  }

  function chunks<T>(items: readonly T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
  }

  it('keeps the latest snapshot of a cart after a sequence of cart_updated', async () => {
    const store = await newStore();
    await send(store, [
      [
        cartUpdated(T0, 'cart-a', [['mug', 1, 600]]),
        cartUpdated(T0 + 1_000, 'cart-a', [
          ['mug', 2, 600],
          ['tea', 1, 450],
        ]),
      ],
      [cartUpdated(T0 + 2_000, 'cart-a', [['tea', 3, 450]])],
    ]);
    const cart = await cartState(db, store.id, 'cart-a');
    expect(cart).toMatchObject({
      status: 'active',
      currency: 'EUR',
      value_minor: 1350,
      line_count: 1,
      last_activity_at: new Date(T0 + 2_000),
      session_id: 'session_0001',
      linked: true,
    });
    expect(cart?.score).toBeGreaterThan(0);
    expect(cart?.score).toBeLessThan(1);
    expect(cart?.snapshot).toEqual(snapshot([['tea', 3, 450]]));

    await send(store, [[cartUpdated(T0 + 3_000, 'cart-a', [])]]);
    expect(await cartState(db, store.id, 'cart-a')).toMatchObject({
      status: 'emptied',
      value_minor: 0,
      line_count: 0,
    });
  });

  it('converges to the same carts whatever the order, repetition and framing of the events', async () => {
    const events: TrackedEvent[] = [
      // Cart A: checkout, then edited again → active with its last lines.
      {
        ...envelope(T0 + 100, 'cart-a'),
        type: 'page_view',
        page: { url: 'https://shop.example/a', utm: { source: 'news', medium: 'email' } },
        device: { type: 'mobile', viewport: { width: 390, height: 844 } },
      },
      {
        ...envelope(T0 + 200, 'cart-a'),
        type: 'page_view',
        page: { url: 'https://shop.example/b', utm: { source: 'ads' } },
        device: { type: 'desktop', viewport: { width: 1280, height: 800 } },
      },
      cartUpdated(T0 + 1_000, 'cart-a', [['mug', 1, 600]]),
      cartUpdated(T0 + 2_000, 'cart-a', [['mug', 2, 600]]),
      { ...envelope(T0 + 2_500, 'cart-a'), type: 'checkout_started' },
      cartUpdated(T0 + 3_000, 'cart-a', [
        ['mug', 2, 600],
        ['tea', 1, 450],
      ]),
      // Cart B: edits, then checkout last → checkout.
      cartUpdated(T0 + 1_100, 'cart-b', [['pen', 1, 200]]),
      cartUpdated(T0 + 1_200, 'cart-b', [['pen', 4, 200]]),
      { ...envelope(T0 + 1_300, 'cart-b'), type: 'checkout_started' },
      { ...envelope(T0 + 1_400, 'cart-b'), type: 'checkout_step', step: 'shipping' },
      // Cart C: bought, then a later snapshot; converted stays.
      cartUpdated(T0 + 1_500, 'cart-c', [['hat', 1, 3_000]]),
      {
        ...envelope(T0 + 1_600, 'cart-c'),
        type: 'order_completed',
        orderId: 'order-1',
        value: 3_000,
        currency: 'EUR',
      },
      cartUpdated(T0 + 1_700, 'cart-c', []),
    ];
    const reference = await newStore();
    await send(reference, [events]);
    const expected = {
      a: await cartState(db, reference.id, 'cart-a'),
      b: await cartState(db, reference.id, 'cart-b'),
      c: await cartState(db, reference.id, 'cart-c'),
    };
    expect(expected.a).toMatchObject({
      status: 'active',
      value_minor: 1650,
      line_count: 2,
      device: 'mobile',
      utm: { source: 'news', medium: 'email' },
      checkout_at: new Date(T0 + 2_500),
    });
    expect(expected.b).toMatchObject({ status: 'checkout', value_minor: 800, line_count: 1 });
    expect(expected.c).toMatchObject({
      status: 'converted',
      converted_at: new Date(T0 + 1_600),
      line_count: 0,
    });

    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
        fc.array(fc.nat(events.length - 1), { maxLength: 6 }),
        fc.integer({ min: 1, max: 5 }),
        async (shuffled, repeats, frameSize) => {
          const sent = [...shuffled, ...repeats.map((index) => events[index]!)];
          const store = await newStore();
          await send(store, chunks(sent, frameSize));
          expect(await cartState(db, store.id, 'cart-a')).toEqual(expected.a);
          expect(await cartState(db, store.id, 'cart-b')).toEqual(expected.b);
          expect(await cartState(db, store.id, 'cart-c')).toEqual(expected.c);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('keeps a converted cart converted after later checkout activity and snapshots', async () => {
    const store = await newStore();
    await send(store, [
      [
        {
          ...envelope(T0, 'cart-z'),
          type: 'order_completed',
          orderId: 'order-9',
          value: 100,
          currency: 'EUR',
        },
      ],
      [{ ...envelope(T0 + 1_000, 'cart-z'), type: 'checkout_started' }],
      [cartUpdated(T0 + 2_000, 'cart-z', [['mug', 1, 100]])],
    ]);
    expect(await cartState(db, store.id, 'cart-z')).toMatchObject({
      status: 'converted',
      converted_at: new Date(T0),
      line_count: 1,
    });
  });

  async function shopper(storeId: string, anonymousId: string) {
    return db
      .selectFrom('shoppers')
      .selectAll()
      .where('store_id', '=', storeId)
      .where('anonymous_id', '=', anonymousId)
      .executeTakeFirstOrThrow();
  }
  async function consentLog(storeId: string) {
    return db
      .selectFrom('consent_log')
      .select(['channel', 'granted', 'source', 'text_version'])
      .where('store_id', '=', storeId)
      .orderBy('id')
      .execute();
  }

  it('stores no address from an identify without consent', async () => {
    const store = await newStore();
    await send(store, [
      [
        {
          ...envelope(T0, undefined, 'anon_nocons'),
          type: 'identify',
          email: 'shopper@example.com',
          phone: '+447700900123',
          consent: { textVersion: '2026-11-01' },
        },
        {
          ...envelope(T0 + 1, undefined, 'anon_nocons'),
          type: 'identify',
          email: 'shopper@example.com',
          consent: { email: false, sms: true, textVersion: '2026-11-01' },
        },
      ],
    ]);
    const row = await shopper(store.id, 'anon_nocons');
    expect(row).toMatchObject({ email: null, phone: null, email_consent: false });
  });

  it('stores the address of a consented channel and logs the consent', async () => {
    const store = await newStore();
    await send(store, [
      [
        {
          ...envelope(T0, undefined, 'anon_consent'),
          type: 'identify',
          email: 'shopper@example.com',
          phone: '+447700900123',
          consent: { email: true, textVersion: '2026-11-01' },
        },
      ],
    ]);
    expect(await shopper(store.id, 'anon_consent')).toMatchObject({
      email: 'shopper@example.com',
      phone: null,
      email_consent: true,
      sms_consent: false,
      consent_text_version: '2026-11-01',
    });
    expect(await consentLog(store.id)).toEqual([
      { channel: 'email', granted: true, source: 'identify', text_version: '2026-11-01' },
    ]);
  });

  it('logs a withdrawal, keeps the address and clears the flag, even when an older grant arrives late', async () => {
    const store = await newStore();
    const grant: TrackedEvent = {
      ...envelope(T0, undefined, 'anon_withdraw'),
      type: 'identify',
      email: 'shopper@example.com',
      consent: { email: true, textVersion: 'v1' },
    };
    const withdraw: TrackedEvent = {
      ...envelope(T0 + 1_000, undefined, 'anon_withdraw'),
      type: 'consent_changed',
      source: 'widget',
      consent: { email: false, textVersion: 'v2' },
    };
    await send(store, [[withdraw], [grant], [withdraw, grant]]);
    expect(await shopper(store.id, 'anon_withdraw')).toMatchObject({
      email: 'shopper@example.com',
      email_consent: false,
      consent_text_version: 'v2',
      consent_updated_at: new Date(T0 + 1_000),
    });
    expect(await consentLog(store.id)).toEqual([
      { channel: 'email', granted: false, source: 'widget', text_version: 'v2' },
      { channel: 'email', granted: true, source: 'identify', text_version: 'v1' },
    ]);
  });

  it("leaves another store's carts untouched", async () => {
    const [storeA, storeB] = [await newStore(), await newStore()];
    await send(storeA, [[cartUpdated(T0, 'shared-cart', [['mug', 1, 600]])]]);
    const before = await cartState(db, storeA.id, 'shared-cart');
    await send(storeB, [
      [
        cartUpdated(T0 + 5_000, 'shared-cart', [['tea', 9, 450]]),
        {
          ...envelope(T0 + 6_000, 'shared-cart'),
          type: 'order_completed',
          orderId: 'o',
          value: 1,
          currency: 'EUR',
        },
      ],
    ]);
    expect(await cartState(db, storeA.id, 'shared-cart')).toEqual(before);
    expect(await cartState(db, storeB.id, 'shared-cart')).toMatchObject({
      status: 'converted',
      line_count: 1,
    });
  });

  describe('replay of real sessions (REES46, October 2019)', () => {
    const present = existsSync(REPLAY_CSV);
    if (!present) {
      it.skip('needs shared/data/sessions/rees46-2019-oct-head.csv next to the repository', () => {});
      return;
    }

    it("gives every session's cart the lines, value and status the data says", async () => {
      const text = readFileSync(REPLAY_CSV, 'utf8').trim().split(/\r?\n/);
      const header = text[0]!.split(',');
      const column = (name: string) => {
        const index = header.indexOf(name);
        if (index < 0) throw new Error(`the replay file has no ${name} column`);
        return index;
      };
      const [time, type, product, price, user, session] = [
        column('event_time'),
        column('event_type'),
        column('product_id'),
        column('price'),
        column('user_id'),
        column('user_session'),
      ];
      // Cart activity only (views carry no cart): a few hundred rows.
      const rows = text
        .slice(1)
        .map((line) => line.split(','))
        .filter((cells) => ['cart', 'remove_from_cart', 'purchase'].includes(cells[type]!));
      expect(rows.length).toBeGreaterThan(100);
      const first = Date.parse(rows[0]![time]!.replace(' UTC', 'Z'));

      const carts = new Map<string, Map<string, { quantity: number; unitPrice: number }>>();
      const purchased = new Set<string>();
      const events: TrackedEvent[] = rows.map((cells, index) => {
        // The real relative timing, moved to today; the row index orders rows of one second.
        const ts = T0 + (Date.parse(cells[time]!.replace(' UTC', 'Z')) - first) + index;
        const sessionId = cells[session]!;
        const base = {
          id: eventId(),
          ts,
          sessionId,
          anonymousId: `user_${cells[user]}`,
          cartId: sessionId,
        };
        const unitPrice = Math.round(Number(cells[price]) * 100);
        if (cells[type] === 'purchase') {
          purchased.add(sessionId);
          return {
            ...base,
            type: 'order_completed',
            orderId: `order-${index}`,
            value: unitPrice,
            currency: 'USD',
          };
        }
        const lines = carts.get(sessionId) ?? new Map();
        carts.set(sessionId, lines);
        const productId = cells[product]!;
        const quantity = (lines.get(productId)?.quantity ?? 0) + (cells[type] === 'cart' ? 1 : -1);
        if (quantity > 0) lines.set(productId, { quantity, unitPrice });
        else lines.delete(productId);
        const current = [...lines].map(
          ([id, line]) => [id, line.quantity, line.unitPrice] as [string, number, number],
        );
        return { ...base, type: 'cart_updated', cart: { ...snapshot(current), currency: 'USD' } };
      });

      const store = await newStore();
      // In order in frames of 20, then all of it again shuffled: the resend changes nothing.
      await send(store, chunks(events, 20));
      const shuffled = fc.sample(
        fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
        { numRuns: 1, seed: 46 },
      )[0]!;
      await send(store, chunks(shuffled, 20));

      const stored = await db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('store_id', '=', store.id)
        .executeTakeFirstOrThrow();
      expect(Number(stored.n)).toBe(events.length);

      const sessions = new Set(rows.map((cells) => cells[session]!));
      const cartRows = await db
        .selectFrom('carts')
        .select(['external_id', 'status', 'line_count', 'value_minor', 'shopper_id'])
        .where('store_id', '=', store.id)
        .execute();
      expect(cartRows).toHaveLength(sessions.size);
      for (const row of cartRows) {
        const lines = [...(carts.get(row.external_id)?.values() ?? [])];
        const expected = {
          line_count: lines.length,
          value_minor: lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0),
          status: purchased.has(row.external_id)
            ? 'converted'
            : carts.has(row.external_id) && lines.length === 0
              ? 'emptied'
              : 'active',
        };
        expect(row, row.external_id).toMatchObject(expected);
        expect(row.shopper_id).not.toBeNull();
      }
    });
  });
});
