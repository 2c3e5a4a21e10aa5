import fc from 'fast-check';
import type { CartLine, CartSnapshot, TrackedEvent } from '../protocol.js';

// fast-check generators of valid protocol values, for property tests in every package.

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export const ulid = (): fc.Arbitrary<string> =>
  fc
    .array(fc.constantFrom(...CROCKFORD), { minLength: 26, maxLength: 26 })
    .map((chars) => chars.join(''));

export const token = (): fc.Arbitrary<string> => fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/);

export const cartLine = (): fc.Arbitrary<CartLine> =>
  fc.record(
    {
      id: fc.string({ minLength: 1, maxLength: 40 }),
      title: fc.string({ minLength: 1, maxLength: 80 }),
      variant: fc.string({ maxLength: 40 }),
      quantity: fc.integer({ min: 1, max: 20 }),
      unitPrice: fc.integer({ min: 0, max: 1_000_000 }),
      imageUrl: fc.constantFrom('https://cdn.example.com/a.jpg', 'http://127.0.0.1/b.png'),
    },
    { requiredKeys: ['id', 'title', 'quantity', 'unitPrice'] },
  );

export const cartSnapshot = (): fc.Arbitrary<CartSnapshot> =>
  fc
    .record({
      currency: fc.constantFrom('EUR', 'USD', 'GBP', 'JPY', 'NZD'),
      lines: fc.uniqueArray(cartLine(), { maxLength: 8, selector: (line) => line.id }),
    })
    .map(({ currency, lines }) => ({
      currency,
      lines,
      subtotal: lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0),
    }));

const envelope = () =>
  fc.record({
    id: ulid(),
    ts: fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }),
    sessionId: token(),
    anonymousId: token(),
    cartId: fc.string({ minLength: 1, maxLength: 40 }),
  });

/** Any valid event of any type. */
export const trackedEvent = (): fc.Arbitrary<TrackedEvent> =>
  fc.oneof(
    fc
      .tuple(envelope(), cartSnapshot())
      .map(([base, cart]): TrackedEvent => ({ ...base, type: 'cart_updated', cart })),
    envelope().map(
      (base): TrackedEvent => ({
        ...base,
        type: 'page_view',
        page: { url: 'https://shop.example/products/mug', title: 'Mug' },
      }),
    ),
    fc
      .tuple(
        envelope(),
        fc.constantFrom('mouse_top', 'scroll_up', 'tab_hidden', 'idle', 'back' as const),
      )
      .map(([base, signal]): TrackedEvent => ({ ...base, type: 'exit_intent', signal })),
    envelope().map((base): TrackedEvent => ({ ...base, type: 'checkout_started' })),
    fc
      .tuple(
        envelope(),
        fc.string({ minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 10 ** 9 }),
      )
      .map(
        ([base, orderId, value]): TrackedEvent => ({
          ...base,
          type: 'order_completed',
          orderId,
          value,
          currency: 'EUR',
        }),
      ),
  );
