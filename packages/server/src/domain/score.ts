/**
 * Real-time abandonment risk: the probability that a cart will NOT be bought, from what the
 * shopper's session says so far. Pure: features in, a probability out; no clock, no I/O.
 *
 * The model is a logistic regression over an explicit feature vector. `toModelInputs` turns
 * `ScoreFeatures` into the numbers the model weighs (logs for counts and idle time, one-hot
 * columns for device and source), so a per-store learner can fit its own `ScoreModel` on the same
 * inputs and pass it to `score`.
 *
 * @example
 *   score({ ...freshOneLineDesktopCart, idleSeconds: 3600 }); // 0.8749
 *   score(features, storeModel); // a learned model for one store
 *
 * ## Default coefficients
 *
 * Hand-set from published cart-abandonment research until a store has enough outcomes to learn
 * its own. Desktop, direct traffic, a new shopper and daytime are the reference (weight 0).
 * A weight is the change in log-odds of abandonment per unit of its input.
 *
 * | input              | input is                      | weight | why                                                                  |
 * | ------------------ | ----------------------------- | -----: | -------------------------------------------------------------------- |
 * | intercept          |                               |  +0.85 | logit(0.70): the ~70% average cart abandonment rate (Baymard, ~50 studies) |
 * | idleMinutes        | ln(1 + idle seconds / 60)     |  +0.30 | every idle minute lowers the odds of return, less so as time goes on: 1 min +0.21, 10 min +0.72, 1 h +1.23, 1 day +2.18 |
 * | valueBand          | log2(value / store median)    |  +0.12 | per doubling; extra and unexpected costs are the top stated reason to leave (~48%), bigger carts get compared and deferred |
 * | lines              | ln(1 + line count)            |  -0.20 | more products chosen, more effort invested                           |
 * | edits              | ln(1 + quantity/variant edits) |  -0.10 | tuning a cart is engagement                                          |
 * | removals           | ln(1 + removals)              |  +0.45 | taking things out is price sensitivity or second thoughts            |
 * | checkoutReached    | 1 if checkout was opened      |  -1.30 | the strongest intent signal; checkout abandonment runs well below cart abandonment |
 * | checkoutSteps      | ln(1 + checkout steps seen)   |  -0.35 | each step further (shipping, payment) leaves less to drop out of     |
 * | pageViews          | ln(1 + page views)            |  -0.05 | mild engagement                                                      |
 * | productViews       | ln(1 + product views)         |  +0.10 | many product pages is research mode ("just browsing" ~43% of leavers) |
 * | returningShopper   | 1 if seen before              |  -0.60 | returning visitors convert at about twice the rate of new ones       |
 * | deviceMobile       | one-hot                       |  +0.50 | mobile abandons ~85% vs desktop ~73% (logit gap ~0.8, taken conservatively) |
 * | deviceTablet       | one-hot                       |  +0.25 | tablets sit between (~80%)                                           |
 * | deviceUnknown      | one-hot                       |  +0.15 | unknown devices skew to in-app browsers and bots                     |
 * | sourceSearch       | one-hot                       |  -0.10 | searched for it: intent                                              |
 * | sourceSocial       | one-hot                       |  +0.40 | social traffic converts worst                                        |
 * | sourceEmail        | one-hot                       |  -0.50 | email traffic is existing customers and converts best                |
 * | sourcePaid         | one-hot                       |  +0.15 | ad clicks include many low-intent visits                             |
 * | sourceReferral     | one-hot                       |   0.00 | no consistent difference from direct                                 |
 * | sourceUnknown      | one-hot                       |   0.00 | treated as direct                                                    |
 * | exitMouseTop       | ln(1 + count)                 |  +0.30 | pointer left towards the tab bar or close button                     |
 * | exitScrollUp       | ln(1 + count)                 |  +0.10 | fast scroll to the top on mobile: weak on its own                    |
 * | exitTabHidden      | ln(1 + count)                 |  +0.20 | switched away, often to compare prices                               |
 * | exitIdle           | ln(1 + count)                 |  +0.25 | went idle on the page                                                |
 * | exitBack           | ln(1 + count)                 |  +0.35 | pressed back out of the cart or checkout                             |
 * | tabHidden          | 1 if hidden now               |  +0.30 | not looking at the store right now                                   |
 * | lateNight          | 1 if local hour is 00–04      |  +0.15 | late-night sessions are more often browsing than buying              |
 *
 * Counts saturate through ln(1 + x): the tenth removal says less than the first. Every input is
 * sanitised (NaN and negatives count as 0, infinities and huge values are capped), so `score`
 * never throws and always returns a finite probability strictly between 0 and 1.
 */

export type Device = 'desktop' | 'mobile' | 'tablet' | 'unknown';

export type TrafficSource =
  | 'direct'
  | 'search'
  | 'social'
  | 'email'
  | 'paid'
  | 'referral'
  | 'unknown';

export type ExitSignalKind = 'mouse_top' | 'scroll_up' | 'tab_hidden' | 'idle' | 'back';

/** What the session says about one cart at the moment of scoring. */
export interface ScoreFeatures {
  /** Seconds since the shopper's last activity on this cart. */
  idleSeconds: number;
  /**
   * Cart value in the store currency's minor unit. Kept for the live feed; the model uses
   * `valueBand`, because a number of cents means different things in different currencies.
   */
  cartValueMinor: number;
  /**
   * Currency-independent size of the cart: log2 of its value over the store's median cart value
   * (0 is a typical cart, +1 twice typical, -1 half). Capped at ±6.
   */
  valueBand: number;
  lineCount: number;
  /** Quantity or variant changes on lines already in the cart. */
  edits: number;
  /** Lines removed or set to quantity 0. */
  removals: number;
  checkoutReached: boolean;
  /** Distinct checkout steps seen (contact, shipping, payment, ...). */
  checkoutStepsSeen: number;
  pageViews: number;
  productViews: number;
  returningShopper: boolean;
  device: Device;
  source: TrafficSource;
  /** How many times each exit-intent signal fired in this session. */
  exitSignals: Record<ExitSignalKind, number>;
  /** The store's tab is hidden right now. */
  tabHidden: boolean;
  /** Hour of day in the shopper's time zone, 0–23. */
  localHour: number;
}

/** The numbers the model weighs, as `toModelInputs` computes them from `ScoreFeatures`. */
export interface ModelInputs {
  idleMinutes: number;
  valueBand: number;
  lines: number;
  edits: number;
  removals: number;
  checkoutReached: number;
  checkoutSteps: number;
  pageViews: number;
  productViews: number;
  returningShopper: number;
  deviceMobile: number;
  deviceTablet: number;
  deviceUnknown: number;
  sourceSearch: number;
  sourceSocial: number;
  sourceEmail: number;
  sourcePaid: number;
  sourceReferral: number;
  sourceUnknown: number;
  exitMouseTop: number;
  exitScrollUp: number;
  exitTabHidden: number;
  exitIdle: number;
  exitBack: number;
  tabHidden: number;
  lateNight: number;
}

export type ModelInput = keyof ModelInputs;

/** A logistic model: log-odds of abandonment = intercept + Σ weight × input. */
export interface ScoreModel {
  intercept: number;
  weights: Record<ModelInput, number>;
}

/** See the coefficient table at the top of this file. */
export const defaultModel: Readonly<ScoreModel> = Object.freeze({
  intercept: 0.85,
  weights: Object.freeze({
    idleMinutes: 0.3,
    valueBand: 0.12,
    lines: -0.2,
    edits: -0.1,
    removals: 0.45,
    checkoutReached: -1.3,
    checkoutSteps: -0.35,
    pageViews: -0.05,
    productViews: 0.1,
    returningShopper: -0.6,
    deviceMobile: 0.5,
    deviceTablet: 0.25,
    deviceUnknown: 0.15,
    sourceSearch: -0.1,
    sourceSocial: 0.4,
    sourceEmail: -0.5,
    sourcePaid: 0.15,
    sourceReferral: 0,
    sourceUnknown: 0,
    exitMouseTop: 0.3,
    exitScrollUp: 0.1,
    exitTabHidden: 0.2,
    exitIdle: 0.25,
    exitBack: 0.35,
    tabHidden: 0.3,
    lateNight: 0.15,
  }),
});

/** Every model input, in a fixed order, for learners that work on plain arrays. */
export const modelInputNames: readonly ModelInput[] = Object.freeze(
  Object.keys(defaultModel.weights) as ModelInput[],
);

// Caps keep inputs bounded so a learned model cannot be pushed to extremes by one absurd value.
const maxIdleSeconds = 30 * 24 * 3600;
const maxCount = 10_000;
const maxValueBand = 6;
// Beyond ±30 the probability rounds to 0 or 1 anyway; clamping keeps exp() finite.
const maxLogit = 30;
const decimals = 1e4;
const lowest = 1 / decimals;
const highest = 1 - 1 / decimals;

/** NaN and negatives become 0; +Infinity and anything above `cap` become `cap`. */
function nonNegative(value: unknown, cap: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) return 0;
  return Math.min(value, cap);
}

/** NaN becomes 0; infinities and values beyond ±`cap` become ±`cap`. */
function bounded(value: unknown, cap: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) return 0;
  return Math.max(-cap, Math.min(cap, value));
}

const saturatingCount = (value: unknown) => Math.log1p(nonNegative(value, maxCount));
const flag = (value: unknown) => (value === true ? 1 : 0);

function isLateNight(localHour: unknown): number {
  // An unknown hour is not evidence of a late night.
  if (typeof localHour !== 'number' || !Number.isFinite(localHour)) return 0;
  const hour = ((Math.floor(localHour) % 24) + 24) % 24;
  return hour < 5 ? 1 : 0;
}

/**
 * Turns features into the numeric inputs the model weighs. Exported so a learner fits
 * coefficients on exactly the inputs `score` uses.
 */
export function toModelInputs(features: ScoreFeatures): ModelInputs {
  const exits: Partial<Record<ExitSignalKind, number>> = features.exitSignals ?? {};
  return {
    idleMinutes: Math.log1p(nonNegative(features.idleSeconds, maxIdleSeconds) / 60),
    valueBand: bounded(features.valueBand, maxValueBand),
    lines: saturatingCount(features.lineCount),
    edits: saturatingCount(features.edits),
    removals: saturatingCount(features.removals),
    checkoutReached: flag(features.checkoutReached),
    checkoutSteps: saturatingCount(features.checkoutStepsSeen),
    pageViews: saturatingCount(features.pageViews),
    productViews: saturatingCount(features.productViews),
    returningShopper: flag(features.returningShopper),
    deviceMobile: features.device === 'mobile' ? 1 : 0,
    deviceTablet: features.device === 'tablet' ? 1 : 0,
    deviceUnknown: features.device === 'unknown' ? 1 : 0,
    sourceSearch: features.source === 'search' ? 1 : 0,
    sourceSocial: features.source === 'social' ? 1 : 0,
    sourceEmail: features.source === 'email' ? 1 : 0,
    sourcePaid: features.source === 'paid' ? 1 : 0,
    sourceReferral: features.source === 'referral' ? 1 : 0,
    sourceUnknown: features.source === 'unknown' ? 1 : 0,
    exitMouseTop: saturatingCount(exits.mouse_top),
    exitScrollUp: saturatingCount(exits.scroll_up),
    exitTabHidden: saturatingCount(exits.tab_hidden),
    exitIdle: saturatingCount(exits.idle),
    exitBack: saturatingCount(exits.back),
    tabHidden: flag(features.tabHidden),
    lateNight: isLateNight(features.localHour),
  };
}

/**
 * Log-odds that the cart will not be bought: intercept + Σ weight × input. Unrounded and
 * unclamped, for learners and for comparing carts whose scores both round to the same value.
 * Non-finite or missing coefficients count as 0.
 */
export function riskLogit(features: ScoreFeatures, model: ScoreModel = defaultModel): number {
  const inputs = toModelInputs(features);
  let logit = coefficient(model?.intercept);
  for (const name of modelInputNames) {
    logit += coefficient(model?.weights?.[name]) * inputs[name];
  }
  return logit;
}

function coefficient(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * Probability in (0, 1) that the cart will not be bought, rounded to 4 decimals and kept within
 * [0.0001, 0.9999]. Never throws.
 *
 * @example
 *   score(features);                  // default, research-based coefficients
 *   score(features, learnedForStore); // same inputs, a store's own coefficients
 */
export function score(features: ScoreFeatures, model: ScoreModel = defaultModel): number {
  const logit = bounded(riskLogit(features, model), maxLogit);
  const probability = 1 / (1 + Math.exp(-logit));
  const rounded = Math.round(probability * decimals) / decimals;
  return Math.min(highest, Math.max(lowest, rounded));
}
