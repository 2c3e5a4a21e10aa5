import type { CartChange } from '@winback/shared';
import { cartSnapshot } from '@winback/shared/testing';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  cartFilled,
  cartId,
  cartTotals,
  clearCart,
  diffCart,
  loadCart,
  quantities,
  updateCart,
} from './cart.js';
import { flushStorage } from './storage.js';
import type { Cart } from './types.js';

/** Applies changes to quantities, as the server would replay them. */
function apply(before: Map<string, number>, changes: CartChange[]): Map<string, number> {
  const after = new Map(before);
  for (const change of changes) {
    if (change.kind === 'remove') after.delete(change.lineId);
    else after.set(change.lineId, change.to as number);
  }
  return after;
}

const mug = { id: 'mug', title: 'Sunrise mug', quantity: 1, unitPrice: 1800 };
const beans = { id: 'beans', title: 'House blend', quantity: 2, unitPrice: 1450 };
const cart = (...lines: Cart['lines']): Cart => ({ currency: 'EUR', lines });

beforeEach(() => {
  flushStorage();
  localStorage.clear();
  loadCart();
});

describe('diffCart', () => {
  it('names adds, removes and quantity changes', () => {
    const changes = diffCart(
      new Map([
        ['mug', 1],
        ['tea', 3],
      ]),
      new Map([
        ['mug', 2],
        ['beans', 1],
      ]),
    );
    expect(changes).toEqual([
      { kind: 'quantity', lineId: 'mug', from: 1, to: 2 },
      { kind: 'add', lineId: 'beans', to: 1 },
      { kind: 'remove', lineId: 'tea', from: 3 },
    ]);
  });

  it('applied to the first cart gives the second, for any two carts', () => {
    const lines = fc.array(
      fc.record({
        id: fc.oneof(fc.constantFrom('a', 'b', 'c', '__proto__', 'constructor'), fc.string()),
        quantity: fc.integer({ min: 1, max: 50 }),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(lines, lines, (first, second) => {
        const before = quantities(first);
        const after = quantities(second);
        expect(apply(before, diffCart(before, after))).toEqual(after);
        // Nothing changed, nothing said.
        expect(diffCart(after, after)).toEqual([]);
      }),
    );
  });

  it("holds for the protocol's own cart generator", () => {
    fc.assert(
      fc.property(cartSnapshot(), cartSnapshot(), (first, second) => {
        const before = quantities(first.lines);
        expect(apply(before, diffCart(before, quantities(second.lines)))).toEqual(
          quantities(second.lines),
        );
      }),
    );
  });
});

describe('updateCart', () => {
  it('reports the first cart as adds, with a new cart id and a computed subtotal', () => {
    expect(cartFilled()).toBe(false);
    const fields = updateCart(cart(mug, beans));
    expect(fields).toEqual({
      cart: { currency: 'EUR', lines: [mug, beans], subtotal: 1800 + 2 * 1450 },
      changes: [
        { kind: 'add', lineId: 'mug', to: 1 },
        { kind: 'add', lineId: 'beans', to: 2 },
      ],
    });
    expect(cartId()).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(cartFilled()).toBe(true);
    expect(cartTotals()).toEqual({ value: 4700, currency: 'EUR' });
  });

  it('does not report an unchanged cart again, even on the next page', () => {
    updateCart(cart(mug));
    expect(updateCart(cart({ ...mug }))).toBeUndefined();
    flushStorage();
    loadCart();
    expect(updateCart(cart(mug))).toBeUndefined();
    expect(updateCart(cart({ ...mug, quantity: 3 }))).toMatchObject({
      changes: [{ kind: 'quantity', lineId: 'mug', from: 1, to: 3 }],
    });
  });

  it("keeps the store's own cart id out of the snapshot and on the envelope", () => {
    const fields = updateCart({ ...cart(mug), id: 'shopify-token-1', subtotal: 1500 });
    expect(fields).toMatchObject({ cart: { subtotal: 1500 } });
    expect(JSON.parse(JSON.stringify(fields)).cart).not.toHaveProperty('id');
    expect(cartId()).toBe('shopify-token-1');
  });

  it('keeps the cart id until the order completes, then starts a new cart', () => {
    updateCart(cart(mug));
    const first = cartId();
    updateCart(cart());
    expect(cartId()).toBe(first);
    expect(cartFilled()).toBe(false);
    clearCart();
    expect(cartId()).toBeUndefined();
    updateCart(cart(beans));
    expect(cartId()).not.toBe(first);
  });

  it('starts afresh when storage holds something else', () => {
    localStorage.setItem('wb_cart', JSON.stringify({ lines: 42 }));
    loadCart();
    expect(updateCart(cart(mug))).toMatchObject({ changes: [{ kind: 'add', lineId: 'mug' }] });
  });
});
