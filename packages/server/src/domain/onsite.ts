import { overlayLocales, overlayTextKeys, overlayTheme } from '@winback/shared/overlay';
import { z } from 'zod';
import { type DiscountPolicy, discountPolicy } from './discount.js';

/**
 * On-site recovery: whether to show the shopper an overlay right now, and whether it may carry a
 * discount. Pure: no clock (`now` is an argument), no I/O.
 *
 * Two moments ask: an `exit_intent` from a page with a cart (the exit modal), and a shopper
 * coming back to a cart that was abandoned (the "your cart is saved" slide-in). The store's rules
 * (`onsiteRules`, the `onsite` store setting) switch each overlay on or off and set the least
 * cart value and risk, the pages it may show on, and how long a dismissal keeps it away. Never
 * more than one overlay a session, and never once the cart is bought.
 *
 * @example
 *   const rules = onsiteRules.parse({});              // every default
 *   decideOverlay(rules, { trigger: 'exit_intent', cart, pagePath: '/cart', ... }, now);
 *   // { show: true, kind: 'exit_modal' } or { show: false, reason: 'below_risk' }
 */

const probability = z.number().min(0).max(1);
const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * A path pattern: `/cart` matches that path only, `*` stands for any run of characters
 * (`/products/*`, `*`), a trailing `/` is ignored. Query strings are never matched.
 */
const pathPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[*/][^?#\s]*$/, 'must be a path such as /cart or /products/*, or *');

/**
 * A discount the exit modal may offer: only to carts at or above `minRisk` and `minValueMinor`
 * (and the discount's own `minSubtotalMinor`), and only while the store issued fewer than
 * `maxPerDay` on-site codes in the last 24 hours (the cap stops a script from farming codes).
 * The store's `onsite.offer` holds one; so may a campaign's on-site step, for its carts.
 */
export const onsiteOfferRule = z.strictObject({
  discount: discountPolicy,
  minRisk: probability.default(0.6),
  minValueMinor: amount.default(0),
  maxPerDay: z.number().int().min(1).max(1_000_000).default(200),
});

export type OnsiteOfferRule = z.infer<typeof onsiteOfferRule>;

export const onsiteRules = z.strictObject({
  /** The exit-intent modal. */
  exitModal: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Least cart value, in the cart currency's minor units. */
      minValueMinor: amount.default(0),
      /** Least live risk score (probability the cart will not be bought). */
      minRisk: probability.default(0.3),
      /** Offer an email field (with an unticked consent box) when the shopper is anonymous. */
      captureEmail: z.boolean().default(true),
      /** Offer a phone field likewise. */
      capturePhone: z.boolean().default(false),
      /** Ask "why are you leaving?" with one-tap answers. */
      askReason: z.boolean().default(true),
    })
    .prefault({}),
  /** The "your cart is saved" slide-in for a shopper back on an abandoned cart. */
  returnSlideIn: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  /** Pages an overlay may show on: any pattern of `include`, none of `exclude`. */
  pages: z
    .strictObject({
      include: z.array(pathPattern).min(1).max(50).default(['*']),
      exclude: z
        .array(pathPattern)
        .max(50)
        .default(['/checkout*', '/checkouts/*', '/account*', '/orders/*']),
    })
    .prefault({}),
  /** Days an overlay stays away from a shopper who dismissed one (0: only this session). */
  dismissCooldownDays: z.number().int().min(0).max(365).default(7),
  /**
   * The discount the exit modal may offer, for carts whose campaign has no on-site step of its
   * own (see `offerRuleFor`). Off unless set.
   */
  offer: onsiteOfferRule.nullable().default(null),
  /** The overlays' language: `auto` takes the browser's when the widget has it, else the store's. */
  locale: z.enum(['auto', ...overlayLocales]).default('auto'),
  /** The store's look: colours, font, corner radius, logo. */
  theme: overlayTheme.default({}),
  /** The store's own wording, per language, replacing the widget's texts of the same key. */
  texts: z
    .partialRecord(
      z.enum(overlayLocales),
      z.partialRecord(z.enum(overlayTextKeys), z.string().max(500)),
    )
    .default({}),
  /**
   * The consent wording beside the capture form's checkbox, and its version (recorded with the
   * consent). Null: the built-in wording of each language, version `winback-default-1`.
   */
  consent: z
    .strictObject({ text: z.string().min(1).max(1000), version: z.string().min(1).max(64) })
    .nullable()
    .default(null),
});

export type OnsiteRules = z.infer<typeof onsiteRules>;
export type OverlayKind = 'exit_modal' | 'return_slide_in';

/** What the decision reads about the moment. */
export interface OverlayFacts {
  trigger: 'exit_intent' | 'return_visit';
  /** The session's cart as the server sees it after this batch; null when there is none. */
  cart: {
    status: 'active' | 'checkout' | 'abandoned' | 'converted' | 'recovered' | 'emptied';
    score: number;
    valueMinor: number;
    lineCount: number;
  } | null;
  /** Path of the page the shopper is on (no query string); null when unknown. */
  pagePath: string | null;
  /** An overlay was already shown in this session. */
  shownThisSession: boolean;
  /** When this shopper last dismissed an overlay, if ever. */
  lastDismissedAt: Date | null;
}

export type OverlayDecision =
  | { show: true; kind: OverlayKind }
  | {
      show: false;
      reason:
        | 'disabled'
        | 'no_cart'
        | 'bought'
        | 'shown_this_session'
        | 'dismissed_recently'
        | 'page_excluded'
        | 'below_value'
        | 'below_risk';
    };

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether to show an overlay now, and which; when not, the first rule that said no. */
export function decideOverlay(rules: OnsiteRules, facts: OverlayFacts, now: Date): OverlayDecision {
  const kind: OverlayKind = facts.trigger === 'exit_intent' ? 'exit_modal' : 'return_slide_in';
  const enabled = kind === 'exit_modal' ? rules.exitModal.enabled : rules.returnSlideIn.enabled;
  if (!enabled) return { show: false, reason: 'disabled' };
  const cart = facts.cart;
  if (cart === null || cart.lineCount === 0 || cart.status === 'emptied') {
    return { show: false, reason: 'no_cart' };
  }
  if (cart.status === 'converted' || cart.status === 'recovered') {
    return { show: false, reason: 'bought' };
  }
  if (kind === 'return_slide_in' && cart.status !== 'abandoned') {
    return { show: false, reason: 'no_cart' };
  }
  if (facts.shownThisSession) return { show: false, reason: 'shown_this_session' };
  if (
    facts.lastDismissedAt !== null &&
    now.getTime() - facts.lastDismissedAt.getTime() < rules.dismissCooldownDays * DAY_MS
  ) {
    return { show: false, reason: 'dismissed_recently' };
  }
  if (!pageAllowed(rules.pages, facts.pagePath)) return { show: false, reason: 'page_excluded' };
  if (kind === 'exit_modal') {
    if (cart.valueMinor < rules.exitModal.minValueMinor) {
      return { show: false, reason: 'below_value' };
    }
    if (cart.score < rules.exitModal.minRisk) return { show: false, reason: 'below_risk' };
  }
  return { show: true, kind };
}

/**
 * The discount policy the exit modal may offer this cart under the store's own `offer` rule, or
 * null. The same as `offerDiscount(rules.offer, ...)`, for callers that know no campaign.
 */
export function onsiteOffer(
  rules: OnsiteRules,
  cart: { score: number; valueMinor: number },
  issuedLastDay: number,
): DiscountPolicy | null {
  return offerDiscount(rules.offer, cart, issuedLastDay);
}

/**
 * The discount policy the exit modal may offer this cart under `offer`, or null: only with an
 * offer rule, for a cart at or above its risk and value (and the discount's own minimum), while
 * fewer than `maxPerDay` on-site codes were issued for the store in the last day.
 */
export function offerDiscount(
  offer: OnsiteOfferRule | null,
  cart: { score: number; valueMinor: number },
  issuedLastDay: number,
): DiscountPolicy | null {
  if (offer === null) return null;
  // Written as `!(fact >= bound)` so that a NaN score or value fails a bound rather than passing.
  if (!(cart.score >= offer.minRisk) || !(cart.valueMinor >= offer.minValueMinor)) return null;
  if (offer.discount.minSubtotalMinor !== undefined) {
    if (!(cart.valueMinor >= offer.discount.minSubtotalMinor)) return null;
  }
  if (!(issuedLastDay < offer.maxPerDay)) return null;
  return offer.discount;
}

/**
 * A campaign's on-site step as the offer decision reads it: `offer` is the campaign's own rule
 * for its carts' exit modal, or null for "no discount for these carts".
 */
export interface OnsiteStepOffer {
  offer: OnsiteOfferRule | null;
}

/**
 * The offer rule for a cart's exit modal: its campaign's on-site step decides when the campaign
 * has one (its rule, or null: no discount even where the store offers one); otherwise, and for
 * a cart no campaign would take, the store's own `offer`.
 *
 * @example
 *   offerRuleFor(store.offer, null);               // the store's rule
 *   offerRuleFor(store.offer, { onsite: null });   // the store's rule
 *   offerRuleFor(store.offer, { onsite: { offer: null } }); // null: no discount
 */
export function offerRuleFor(
  storeOffer: OnsiteOfferRule | null,
  campaign: { onsite: OnsiteStepOffer | null } | null,
): OnsiteOfferRule | null {
  const step = campaign?.onsite ?? null;
  return step === null ? storeOffer : step.offer;
}

/**
 * Whether an overlay may show on `path`: some `include` pattern matches and no `exclude` one
 * does. An unknown path is allowed only when `include` allows every page.
 */
export function pageAllowed(pages: OnsiteRules['pages'], path: string | null): boolean {
  if (path === null) return pages.include.includes('*');
  const normal = normalPath(path);
  const matches = (pattern: string) => patternRegex(pattern).test(normal);
  return pages.include.some(matches) && !pages.exclude.some(matches);
}

function normalPath(path: string): string {
  const bare = path.replace(/[?#].*$/, '');
  return bare.length > 1 && bare.endsWith('/') ? bare.slice(0, -1) : bare || '/';
}

const compiled = new Map<string, RegExp>();

function patternRegex(pattern: string): RegExp {
  let regex = compiled.get(pattern);
  if (!regex) {
    const body = normalPath(pattern)
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${body}$`, 'i');
    if (compiled.size > 1_000) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}
