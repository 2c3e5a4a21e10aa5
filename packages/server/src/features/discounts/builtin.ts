import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, DiscountOrigin } from '../../db/schema.js';
import { type DiscountPolicy, generateCode, issueDiscount } from '../../domain/discount.js';

export interface IssuedDiscount {
  id: string;
  code: string;
  kind: 'percent' | 'fixed' | 'free_shipping';
  value: number;
  expiresAt: Date;
}

/**
 * The built-in discount provider: a unique, single-use, expiring code recorded in `discounts`
 * with its cart, inside the caller's transaction (the claim of the step that carries it). The
 * storefront platform must honour it; platform-backed providers that create the code in the
 * shop itself plug in with the integrations. Null when the policy does not apply to the cart
 * (below its minimum subtotal, or a fixed amount without a currency).
 */
export async function issueBuiltinDiscount(
  trx: Kysely<Database>,
  request: {
    storeId: string;
    cartId: string;
    policy: DiscountPolicy;
    cart: { subtotalMinor: number; currency: string | null };
    now: Date;
    /** What issues it: a recovery message (default) or an on-site overlay. */
    origin?: DiscountOrigin;
  },
): Promise<IssuedDiscount | null> {
  const terms = issueDiscount(request.policy, request.cart, request.now);
  if (!terms) return null;
  // Over 50 random bits per code: a clash is rare enough that a few tries settle it.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const code = generateCode((n) => randomBytes(n));
    const row = await trx
      .insertInto('discounts')
      .values({
        store_id: request.storeId,
        cart_id: request.cartId,
        code,
        kind: terms.kind,
        value: terms.value,
        currency: terms.currency,
        min_subtotal_minor: terms.minSubtotalMinor,
        expires_at: terms.expiresAt,
        origin: request.origin ?? 'message',
      })
      .onConflict((oc) => oc.columns(['store_id', 'code']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (row) {
      return { id: row.id, code, kind: terms.kind, value: terms.value, expiresAt: terms.expiresAt };
    }
  }
  throw new Error('could not find an unused discount code');
}
