import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { limits } from './limits.js';
import { parseBatch, utf8Bytes } from './parse.js';
import { trackedEvent as trackedEventSchema } from './protocol.js';
import { cartSnapshot, trackedEvent } from './testing/arbitraries.js';

const base = {
  id: '01JD2ZK3Q4M5N6P7R8S9T0VWXY',
  ts: Date.UTC(2026, 10, 22, 12),
  sessionId: 'sess_12345678',
  anonymousId: 'anon_12345678',
};

const frame = (events: unknown[], extra: object = {}) =>
  JSON.stringify({ t: 'batch', seq: 7, events, ...extra });

describe('event schemas', () => {
  it('accept every generated valid event', () => {
    fc.assert(fc.property(trackedEvent(), (event) => trackedEventSchema.safeParse(event).success));
  });

  it('take a real Shopify-like cart snapshot in minor units', () => {
    const event = {
      ...base,
      type: 'cart_updated',
      cartId: 'c1',
      cart: {
        currency: 'NZD',
        subtotal: 5998,
        lines: [
          {
            id: '39897499729985:5e0c8a6f',
            variantId: '39897499729985',
            title: 'Red Rain Coat',
            variant: 'Small',
            quantity: 2,
            unitPrice: 2999,
            imageUrl: 'https://cdn.shopify.com/s/files/1/coat.jpg',
          },
        ],
      },
      changes: [{ kind: 'add', lineId: '39897499729985:5e0c8a6f', from: 0, to: 2 }],
    };
    expect(trackedEventSchema.parse(event)).toEqual(event);
  });

  it('refuse unknown fields, float money, bad currencies and prototype keys', () => {
    const cart = { currency: 'EUR', subtotal: 100, lines: [] };
    const bad = [
      { ...base, type: 'cart_updated', cart, extra: 1 },
      { ...base, type: 'cart_updated', cart: { ...cart, subtotal: 1.5 } },
      { ...base, type: 'cart_updated', cart: { ...cart, currency: 'XXQ' } },
      { ...base, type: 'order_completed', orderId: 'o', value: -1, currency: 'EUR' },
      { ...base, type: 'identify', consent: { textVersion: 'v1' } },
      { ...base, type: 'identify', phone: '07700 900123', consent: { textVersion: 'v1' } },
      { ...base, type: 'nope' },
      { ...base, id: 'not-a-ulid', type: 'checkout_started' },
      JSON.parse(
        `{"id":"${base.id}","ts":${base.ts},"sessionId":"sess_12345678","anonymousId":"anon_12345678","type":"checkout_started","__proto__":{"admin":true}}`,
      ),
    ];
    for (const event of bad)
      expect(trackedEventSchema.safeParse(event).success, JSON.stringify(event)).toBe(false);
  });

  it('take a page_view device with only what the browser knows (type, OS and browser optional)', () => {
    const page = { url: 'https://shop.example/', title: 'Shop', referrer: '', utm: {} };
    const viewport = { width: 390, height: 844 };
    const device = { viewport, language: 'en-GB', timezone: 'Europe/London' };
    const view = { ...base, type: 'page_view', page, device };
    expect(trackedEventSchema.safeParse(view).success).toBe(true);
    const typed = { ...view, device: { ...device, type: 'mobile', os: 'iOS', browser: 'Safari' } };
    expect(trackedEventSchema.safeParse(typed).success).toBe(true);
    const badType = { ...view, device: { ...device, type: 'watch' } };
    expect(trackedEventSchema.safeParse(badType).success).toBe(false);
  });

  it('keep carts within the line limit', () => {
    const line = { id: 'l', title: 't', quantity: 1, unitPrice: 1 };
    const lines = Array.from({ length: limits.cartLines + 1 }, (_, i) => ({
      ...line,
      id: `l${i}`,
    }));
    const event = { ...base, type: 'cart_updated', cart: { currency: 'EUR', subtotal: 0, lines } };
    expect(trackedEventSchema.safeParse(event).success).toBe(false);
  });
});

describe('parseBatch', () => {
  it('returns the events of a good frame in order', () => {
    fc.assert(
      fc.property(fc.array(trackedEvent(), { minLength: 1, maxLength: 20 }), (events) => {
        const parsed = parseBatch(frame(events));
        return (
          parsed.ok &&
          parsed.seq === 7 &&
          parsed.rejected.length === 0 &&
          parsed.events.length === events.length
        );
      }),
    );
  });

  it('rejects bad events one by one and keeps the good ones', () => {
    const good = { ...base, type: 'checkout_started' };
    const parsed = parseBatch(frame([good, { ...good, ts: 'yesterday' }, good]));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.events).toHaveLength(2);
    expect(parsed.rejected).toEqual([
      { index: 1, message: expect.stringMatching(/^events\.1\.ts: /) },
    ]);
  });

  it('refuses frames over the byte limit, counting UTF-8 bytes', () => {
    const big = frame([
      { ...base, type: 'checkout_step', step: '€'.repeat(limits.frameBytes / 3) },
    ]);
    expect(big.length).toBeLessThan(limits.frameBytes);
    expect(parseBatch(big)).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('rejects an event over 16 KiB inside an acceptable frame', () => {
    const parsed = parseBatch(
      frame([{ ...base, type: 'checkout_step', step: 'x'.repeat(limits.eventBytes) }]),
    );
    expect(parsed).toMatchObject({ ok: true, events: [], rejected: [{ index: 0 }] });
  });

  it('refuses more than 100 events a frame, and empty frames', () => {
    const event = { ...base, type: 'checkout_started' };
    expect(parseBatch(frame(Array(limits.eventsPerFrame + 1).fill(event)))).toMatchObject({
      ok: false,
      seq: 7,
      reason: 'invalid',
    });
    expect(parseBatch(frame([]))).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('never throws, and never accepts what is not a batch, for any input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (raw) => {
          const parsed = parseBatch(raw);
          return parsed.ok
            ? JSON.parse(raw).t === 'batch'
            : parsed.reason === 'invalid' || parsed.reason === 'too_large';
        },
      ),
      { numRuns: 500 },
    );
  });

  it('counts bytes like TextEncoder', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        (s) => utf8Bytes(s) === new TextEncoder().encode(s).length,
      ),
    );
  });
});

describe('arbitraries', () => {
  it('make carts whose subtotal is the sum of their lines', () => {
    fc.assert(
      fc.property(
        cartSnapshot(),
        (cart) => cart.subtotal === cart.lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0),
      ),
    );
  });
});
