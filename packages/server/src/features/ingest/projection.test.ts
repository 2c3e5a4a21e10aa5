import type { TrackedEvent } from '@winback/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstOfEach } from './frames.js';
import {
  foldCarts,
  foldShoppers,
  initialStatus,
  isProductUrl,
  localHour,
  trafficSource,
} from './projection.js';

// How the folds reach the database is tested against real Postgres in
// test/ingest.projection.test.ts; these pin the in-memory part.

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
let counter = 0;
const base = (ts: number, cartId?: string, anonymousId = 'anon_000001') => {
  counter += 1;
  return {
    id: `01JD0000000000000000${String(counter).padStart(6, '0')}`,
    ts,
    sessionId: 'session_0001',
    anonymousId,
    ...(cartId === undefined ? {} : { cartId }),
  };
};
const cartUpdated = (ts: number, cartId: string, quantity: number): TrackedEvent => ({
  ...base(ts, cartId),
  type: 'cart_updated',
  cart: {
    currency: 'EUR',
    subtotal: quantity * 500,
    lines: quantity === 0 ? [] : [{ id: 'l1', title: 'Mug', quantity, unitPrice: 500 }],
  },
});

describe('foldCarts', () => {
  const events: TrackedEvent[] = [
    cartUpdated(T0, 'b', 1),
    cartUpdated(T0 + 2_000, 'b', 3),
    { ...base(T0 + 1_000, 'b'), type: 'checkout_started' },
    {
      ...base(T0 + 500, 'b'),
      type: 'page_view',
      page: { url: 'https://shop.example/', utm: { source: 'news' } },
    },
    cartUpdated(T0, 'a', 0),
    { ...base(T0, undefined), type: 'exit_intent', signal: 'idle' },
  ];

  it('keeps the latest snapshot, the latest checkout and the earliest context of each cart', () => {
    const [a, b] = foldCarts(events);
    expect(a).toMatchObject({ externalId: 'a', lastActivityTs: T0 });
    expect(a && initialStatus(a)).toBe('emptied');
    expect(b).toMatchObject({
      externalId: 'b',
      lastActivityTs: T0 + 2_000,
      checkoutTs: T0 + 1_000,
      context: { ts: T0 + 500, device: null, utm: { source: 'news' } },
    });
    expect(b?.snapshot?.cart.lines[0]?.quantity).toBe(3);
    expect(b && initialStatus(b)).toBe('active');
  });

  it('gives the same result for any order of the same events', () => {
    const expected = foldCarts(events);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
        (shuffled) => {
          expect(foldCarts(shuffled)).toEqual(expected);
        },
      ),
    );
  });

  it('says checkout when checkout is not older than the snapshot, converted once ordered', () => {
    const [checkout] = foldCarts([
      cartUpdated(T0, 'c', 1),
      { ...base(T0, 'c'), type: 'checkout_step', step: 'payment' },
    ]);
    expect(checkout && initialStatus(checkout)).toBe('checkout');
    const [converted] = foldCarts([
      { ...base(T0, 'c'), type: 'order_completed', orderId: 'o', value: 1, currency: 'EUR' },
      cartUpdated(T0 + 1, 'c', 0),
    ]);
    expect(converted && initialStatus(converted)).toBe('converted');
  });
});

describe('foldShoppers', () => {
  it('keeps a first name only from an identify that grants some channel', () => {
    const identify = (ts: number, firstName: string, email: boolean) => ({
      ...base(ts),
      type: 'identify' as const,
      email: 'a@example.com',
      firstName,
      consent: { email, textVersion: 'v1' },
    });
    expect(foldShoppers([identify(T0, 'Anna', true)])[0]?.firstName).toBe('Anna');
    expect(foldShoppers([identify(T0, 'Anna', false)])[0]?.firstName).toBeUndefined();
    expect(
      foldShoppers([identify(T0, 'Anna', true), identify(T0 + 1, 'Bea', false)])[0]?.firstName,
    ).toBe('Anna');
  });

  it('keeps an address only when the same event grants its channel, and logs each decision', () => {
    const [shopper] = foldShoppers([
      {
        ...base(T0),
        type: 'identify',
        email: 'a@example.com',
        phone: '+447700900123',
        consent: { email: true, sms: false, textVersion: 'v1' },
      },
      {
        ...base(T0 + 1),
        type: 'consent_changed',
        source: 'gpc',
        consent: { email: false, textVersion: 'v2' },
      },
    ]);
    expect(shopper).toMatchObject({
      email: 'a@example.com',
      emailConsent: false,
      smsConsent: false,
      textVersion: 'v2',
      consentTs: T0 + 1,
    });
    expect(shopper?.phone).toBeUndefined();
    expect(shopper?.consentLog).toEqual([
      { channel: 'email', granted: true, source: 'identify', textVersion: 'v1' },
      { channel: 'sms', granted: false, source: 'identify', textVersion: 'v1' },
      { channel: 'email', granted: false, source: 'gpc', textVersion: 'v2' },
    ]);
  });

  it('creates a shopper for every browser, even without identity events', () => {
    expect(foldShoppers([cartUpdated(T0, 'a', 1)])).toEqual([
      { anonymousId: 'anon_000001', consentLog: [] },
    ]);
  });
});

describe('firstOfEach', () => {
  it('picks the first event of each new id, in frame order', () => {
    const one = cartUpdated(T0, 'a', 1);
    const two = cartUpdated(T0, 'a', 2);
    const oneAgain = { ...cartUpdated(T0, 'a', 9), id: one.id };
    expect(firstOfEach([one, two, oneAgain], [one.id])).toEqual([one]);
    expect(firstOfEach([two, one, oneAgain], [one.id, two.id])).toEqual([two, one]);
  });
});

describe('score features', () => {
  it('counts changes, views, checkout steps and exit signals per cart', () => {
    const withChanges = (event: TrackedEvent, kinds: ('add' | 'remove' | 'quantity')[]) => {
      if (event.type !== 'cart_updated') throw new Error('not a cart_updated');
      return { ...event, changes: kinds.map((kind) => ({ kind, lineId: 'l1' })) };
    };
    const [cart] = foldCarts([
      withChanges(cartUpdated(T0, 'a', 1), ['add']),
      withChanges(cartUpdated(T0 + 1, 'a', 0), ['quantity', 'remove']),
      { ...base(T0 + 2, 'a'), type: 'page_view', page: { url: 'https://s.example/product/x' } },
      { ...base(T0 + 3, 'a'), type: 'page_view', page: { url: 'https://s.example/cart' } },
      { ...base(T0 + 4, 'a'), type: 'checkout_step', step: 'shipping' },
      { ...base(T0 - 5, 'a'), type: 'exit_intent', signal: 'back' },
    ]);
    expect(cart?.firstTs).toBe(T0 - 5);
    expect(cart?.counts).toMatchObject({
      edits: 2,
      removals: 1,
      page_views: 2,
      product_views: 1,
      checkout_steps: 1,
      exit_back: 1,
    });
  });

  it('recognises product pages by path only', () => {
    expect(isProductUrl('https://s.example/products/mug')).toBe(true);
    expect(isProductUrl('https://s.example/en/p/42')).toBe(true);
    expect(isProductUrl('https://s.example/search?q=/products/')).toBe(false);
    expect(isProductUrl('not a url')).toBe(false);
  });

  it('maps UTM to a traffic source', () => {
    expect(trafficSource(null)).toBe('direct');
    expect(trafficSource({ source: 'news', medium: 'email' })).toBe('email');
    expect(trafficSource({ source: 'google', medium: 'cpc' })).toBe('paid');
    expect(trafficSource({ source: 'Instagram' })).toBe('social');
    expect(trafficSource({ source: 'bing', medium: 'organic' })).toBe('search');
    expect(trafficSource({ source: 'blog', medium: 'referral' })).toBe('referral');
    expect(trafficSource({ source: 'ads' })).toBe('unknown');
  });

  it('reads the local hour in the store time zone, UTC for an unknown zone', () => {
    const at = new Date(Date.UTC(2026, 0, 15, 23, 30));
    expect(localHour(at, 'Europe/Paris')).toBe(0);
    expect(localHour(at, 'America/New_York')).toBe(18);
    expect(localHour(at, 'Not/AZone')).toBe(23);
  });
});
