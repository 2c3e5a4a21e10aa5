import type { CartChange } from '@winback/shared';
import { ulid } from './ids.js';
import { persist, read } from './storage.js';
import type { Cart } from './types.js';

// A Map, not an object: line ids are the store's strings, and `constructor` or `__proto__` must
// stay plain keys.
type Quantities = Map<string, number>;

/** Quantity per line id; lines sharing an id add up, so a diff never loses one of them. */
export function quantities(lines: readonly { id: string; quantity: number }[]): Quantities {
  const result: Quantities = new Map();
  for (const line of lines) result.set(line.id, (result.get(line.id) ?? 0) + line.quantity);
  return result;
}

/**
 * What changed between two carts, line by line: `add` for a new line, `remove` for a gone one,
 * `quantity` for a changed count (`from` and `to` are left out where there is none). Applying
 * the changes to `before` gives `after`.
 *
 * @example
 *   diffCart(new Map([['mug', 1]]), new Map([['mug', 2], ['beans', 1]]));
 *   // [{ kind: 'quantity', lineId: 'mug', from: 1, to: 2 }, { kind: 'add', lineId: 'beans', to: 1 }]
 */
export function diffCart(before: Quantities, after: Quantities): CartChange[] {
  const changes: CartChange[] = [];
  // Every line of either cart, the new cart's first.
  new Map([...after, ...before]).forEach((_, lineId) => {
    const from = before.get(lineId);
    const to = after.get(lineId);
    if (from !== to) {
      changes.push({
        kind: from === undefined ? 'add' : to === undefined ? 'remove' : 'quantity',
        lineId,
        from,
        to,
      });
    }
  });
  return changes;
}

/** The cart as this browser last reported it, kept across pages so the next page diffs against it. */
interface CartState {
  id?: string | undefined;
  /** `[lineId, quantity]` pairs. */
  lines: [string, number][];
  subtotal?: number;
  currency?: string;
}

let state: CartState = { lines: [] };

/** Makes `next` the last reported cart. */
const save = (next: CartState) => {
  state = next;
  persist('wb_cart', next);
};

/** Reads the last reported cart from first-party storage. */
export function loadCart(): void {
  const stored = read<CartState>('wb_cart') as CartState;
  try {
    // Its lines must be what a Map is made of: [lineId, quantity] pairs.
    state = { ...stored, lines: [...new Map(stored.lines)] };
  } catch {
    // Nothing there, or something else wrote there: start as if there were no cart.
    state = { lines: [] };
  }
}

/**
 * The `cart_updated` fields for a new snapshot: the cart (its subtotal computed from the lines
 * when left out) and the changes since the last one. Undefined when nothing changed, and for an
 * empty cart that follows no cart with lines (such as the first one a browser sees).
 */
export function updateCart(cart: Cart): object | undefined {
  const lines = cart.lines;
  const after = quantities(lines);
  const changes = diffCart(new Map(state.lines), after);
  const subtotal =
    cart.subtotal ?? lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
  if (
    changes.length ||
    (after.size && (subtotal !== state.subtotal || cart.currency !== state.currency))
  ) {
    save({
      id: cart.id ?? state.id ?? (lines[0] && ulid()),
      lines: [...after],
      subtotal,
      currency: cart.currency,
    });
    // The cart's id travels in the envelope (`cartId`), not in the snapshot.
    return { cart: { ...cart, id: undefined, subtotal }, changes };
  }
}

/** The id events carry while there is a cart. */
export const cartId = (): string | undefined => state.id;

/** Whether the last reported cart had lines. */
export const cartFilled = (): boolean => state.lines.length > 0;

/** The last cart's subtotal and currency: what `checkout_started` defaults to. */
export const cartTotals = () => ({ value: state.subtotal, currency: state.currency });

/** Forgets the cart after its order completed: the next cart gets a new id. */
export const clearCart = (): void => save({ lines: [] });
