import { z } from 'zod';

/**
 * Discount policy: what a recovery step may offer (10 % off for 48 hours, 5.00 off a cart of
 * 50.00 or more, free shipping), how its code reads, and what is issued for one cart. Pure: the
 * clock and the random source are arguments. Storing codes, or creating them in the shop's own
 * platform, is a `DiscountProvider`'s job.
 *
 * @example
 *   const policy = discountPolicy.parse({ kind: 'percent', value: 10, validHours: 48 });
 *   issueDiscount(policy, { subtotalMinor: 4_999, currency: 'EUR' }, now);
 *   // { kind: 'percent', value: 10, currency: null, minSubtotalMinor: null, expiresAt: now + 48 h }
 *   generateCode(randomBytes); // with node:crypto's randomBytes: 'WB-7KQ4-M9XT-2HFD'
 */

export const discountKinds = ['percent', 'fixed', 'free_shipping'] as const;
export type DiscountKind = (typeof discountKinds)[number];

export const discountPolicy = z
  .strictObject({
    kind: z.enum(discountKinds),
    /** Whole percent (1–100), minor units of the cart's currency (> 0), or 0 for free shipping. */
    value: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** The cart's subtotal must reach this, in the cart currency's minor units. */
    minSubtotalMinor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    /** Hours from issue until the code expires: 1 hour to 30 days. */
    validHours: z.number().int().min(1).max(720),
  })
  .superRefine((policy, ctx) => {
    const problem =
      policy.kind === 'percent' && (policy.value < 1 || policy.value > 100)
        ? 'a percent discount must be 1 to 100'
        : policy.kind === 'fixed' && policy.value < 1
          ? 'a fixed discount must be at least 1 minor unit'
          : policy.kind === 'free_shipping' && policy.value !== 0
            ? 'a free_shipping discount has value 0'
            : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['value'] });
  });

export type DiscountPolicy = z.infer<typeof discountPolicy>;

/**
 * Code alphabet: digits and capitals without the look-alikes 0/O, 1/I/L, so a code read aloud or
 * typed from a phone screen comes out right. 31 symbols, about 4.95 bits each.
 */
export const codeAlphabet = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
const codeGroups = 3;
const groupLength = 4;
/** Entropy of a generated code, in bits: 12 symbols of 31, about 59.4. */
export const codeEntropyBits = codeGroups * groupLength * Math.log2(codeAlphabet.length);

// Bytes at or above this are skipped so that every symbol is equally likely (248 = 31 × 8).
const unbiasedLimit = 256 - (256 % codeAlphabet.length);

/**
 * A new discount code, e.g. `WB-7KQ4-M9XT-2HFD`: the prefix, then three groups of four symbols
 * from `codeAlphabet` drawn from `randomBytes` (pass `crypto.randomBytes` or a seeded source in
 * tests). An empty prefix leaves the prefix and its dash out.
 *
 * @throws RangeError when the prefix is not 1–16 capitals and digits (or empty), or when
 *   `randomBytes` keeps returning nothing usable.
 */
export function generateCode(randomBytes: (n: number) => Uint8Array, prefix = 'WB'): string {
  if (!/^[A-Z0-9]{0,16}$/.test(prefix)) {
    throw new RangeError('generateCode: prefix must be up to 16 capitals and digits');
  }
  const wanted = codeGroups * groupLength;
  const symbols: string[] = [];
  // Each byte is usable with probability 248/256, so a fair source needs one or two rounds; the
  // cap stops a broken source (always 0xFF, always empty) from spinning forever.
  for (let round = 0; symbols.length < wanted; round++) {
    if (round === 100) throw new RangeError('generateCode: the random source gave no usable bytes');
    for (const byte of randomBytes(wanted - symbols.length + 2)) {
      if (byte >= unbiasedLimit) continue;
      symbols.push(codeAlphabet[byte % codeAlphabet.length]!);
      if (symbols.length === wanted) break;
    }
  }
  const groups: string[] = [];
  for (let i = 0; i < wanted; i += groupLength)
    groups.push(symbols.slice(i, i + groupLength).join(''));
  return [...(prefix ? [prefix] : []), ...groups].join('-');
}

/** What to issue for one cart: the row a provider stores, less its code. */
export interface IssuedDiscount {
  kind: DiscountKind;
  value: number;
  /** The currency the value and the minimum are in; `null` when neither involves money. */
  currency: string | null;
  minSubtotalMinor: number | null;
  expiresAt: Date;
}

/** The cart a discount is for. */
export interface DiscountCart {
  /** Sum of the lines before discounts, shipping and tax, in minor units of `currency`. */
  subtotalMinor: number;
  currency: string | null;
}

const hourMs = 3_600_000;

/**
 * The discount `policy` gives `cart` at `now`, or `null` when it gives none: the subtotal is
 * below the policy's minimum (or not a number), or a `fixed` amount has no currency to be in.
 * The result carries the cart's currency when money is involved (a `fixed` value or a minimum
 * subtotal), so the code cannot be redeemed in another currency for the same number of units.
 *
 * @throws ZodError when `policy` does not satisfy `discountPolicy`.
 */
export function issueDiscount(
  policy: DiscountPolicy,
  cart: DiscountCart,
  now: Date,
): IssuedDiscount | null {
  const valid = discountPolicy.parse(policy);
  const minSubtotalMinor = valid.minSubtotalMinor ? valid.minSubtotalMinor : null;
  if (!(cart.subtotalMinor >= (minSubtotalMinor ?? 0))) return null;
  if (valid.kind === 'fixed' && !cart.currency) return null;
  const involvesMoney = valid.kind === 'fixed' || minSubtotalMinor !== null;
  return {
    kind: valid.kind,
    value: valid.value,
    currency: involvesMoney ? (cart.currency ?? null) : null,
    minSubtotalMinor,
    expiresAt: new Date(now.getTime() + valid.validHours * hourMs),
  };
}

/** A request to a `DiscountProvider` for one cart's code. */
export interface DiscountRequest {
  storeId: string;
  cartId: string;
  policy: DiscountPolicy;
  cart: DiscountCart;
  now: Date;
}

/** A code a provider created, and when it stops working. */
export interface ProvidedDiscount {
  code: string;
  expiresAt: Date;
}

/**
 * Where discount codes come from: the built-in provider stores them in the `discounts` table;
 * a platform provider (Shopify price rules, WooCommerce coupons) creates them in the shop. A
 * provider returns `null` when the policy gives this cart nothing (see `issueDiscount`), and
 * should return the same code when asked twice for the same cart and policy, since a send may be
 * retried.
 */
export interface DiscountProvider {
  readonly name: string;
  create(request: DiscountRequest): Promise<ProvidedDiscount | null>;
}
