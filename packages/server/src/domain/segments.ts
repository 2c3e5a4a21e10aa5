import { currency } from '@winback/shared';
import { z } from 'zod';

/**
 * Segment rules: which abandoned carts a campaign is for. A campaign stores its rules as
 * `campaigns.trigger_filters`; `matchesFilters` decides whether one cart's facts meet them.
 * Pure: no clock, no I/O.
 *
 * Every filter is optional and they combine with AND: an empty object matches every cart, and
 * each filter added can only narrow the segment. A list filter matches when the cart's fact is
 * one of the listed values; a cart whose fact is unknown (`null`) matches no list, with one
 * exception: an unknown or unrecognised device counts as the device kind `unknown`.
 *
 * @example
 *   const bigMobileCarts = triggerFilters.parse({ minValueMinor: 10_000, devices: ['mobile'] });
 *   matchesFilters(bigMobileCarts, facts); // true for a mobile cart worth 100.00 or more
 *
 * Values are compared in the cart's own currency's minor units: in a store that sells in more
 * than one currency, pair `minValueMinor`/`maxValueMinor` with `currencies`.
 */

export const deviceKinds = ['desktop', 'mobile', 'tablet', 'unknown'] as const;
export type DeviceKind = (typeof deviceKinds)[number];

const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const lineCount = z.number().int().min(1).max(100_000);
// An empty list would match no cart at all: a campaign that never runs. Leave the filter out
// to match every cart instead.
const list = <T extends z.ZodType>(item: T, max: number) =>
  z
    .array(item)
    .min(1, 'must list at least one value; leave the filter out to match every cart')
    .max(max);

export const triggerFilters = z
  .strictObject({
    /** Cart value at least this, in the cart currency's minor units. */
    minValueMinor: amount.optional(),
    /** Cart value at most this, in the cart currency's minor units. */
    maxValueMinor: amount.optional(),
    /** At least this many lines. */
    minLines: lineCount.optional(),
    /** At most this many lines. */
    maxLines: lineCount.optional(),
    /** A shopper seen before (`returning`) or not (`new`). */
    shopper: z.enum(['new', 'returning']).optional(),
    devices: list(z.enum(deviceKinds), deviceKinds.length).optional(),
    /** ISO 3166-1 alpha-2 codes, upper-case: `DE`, `US`. */
    countries: list(
      z.string().regex(/^[A-Z]{2}$/, 'must be an upper-case ISO 3166-1 alpha-2 code such as DE'),
      300,
    ).optional(),
    /** `utm_source` values, compared without regard to case or surrounding spaces. */
    utmSources: list(z.string().trim().min(1).max(200), 100).optional(),
    /** ISO 4217 codes: `EUR`, `USD`. */
    currencies: list(currency, 200).optional(),
  })
  .refine(
    (filters) =>
      filters.minValueMinor === undefined ||
      filters.maxValueMinor === undefined ||
      filters.minValueMinor <= filters.maxValueMinor,
    { message: 'minValueMinor must not exceed maxValueMinor', path: ['maxValueMinor'] },
  )
  .refine(
    (filters) =>
      filters.minLines === undefined ||
      filters.maxLines === undefined ||
      filters.minLines <= filters.maxLines,
    { message: 'minLines must not exceed maxLines', path: ['maxLines'] },
  );

export type TriggerFilters = z.infer<typeof triggerFilters>;

/** What a campaign's filters look at in one cart. */
export interface CartFacts {
  /** Cart value in minor units of `currency`. */
  valueMinor: number;
  currency: string | null;
  lineCount: number;
  returningShopper: boolean;
  /** `desktop`, `mobile`, `tablet`; anything else or `null` is the kind `unknown`. */
  device: string | null;
  /** ISO 3166-1 alpha-2, either case. */
  country: string | null;
  utmSource: string | null;
}

/** The device kind a stored device string stands for. */
export function deviceKind(device: string | null): DeviceKind {
  const kind = device?.trim().toLowerCase();
  return kind === 'desktop' || kind === 'mobile' || kind === 'tablet' ? kind : 'unknown';
}

const upper = (value: string | null) => value?.trim().toUpperCase() ?? null;
const lower = (value: string | null) => value?.trim().toLowerCase() ?? null;

function inList(
  allowed: readonly string[] | undefined,
  fact: string | null,
  normalise: (value: string | null) => string | null,
): boolean {
  if (allowed === undefined) return true;
  if (fact === null) return false;
  const wanted = normalise(fact);
  return allowed.some((value) => normalise(value) === wanted);
}

/**
 * True when the cart meets every filter. Filters should come from `triggerFilters.parse`; a list
 * given empty by hand matches no cart.
 */
export function matchesFilters(filters: TriggerFilters, facts: CartFacts): boolean {
  // Written as `!(fact >= bound)` so that a NaN fact fails a bound rather than passing it.
  if (filters.minValueMinor !== undefined && !(facts.valueMinor >= filters.minValueMinor)) {
    return false;
  }
  if (filters.maxValueMinor !== undefined && !(facts.valueMinor <= filters.maxValueMinor)) {
    return false;
  }
  if (filters.minLines !== undefined && !(facts.lineCount >= filters.minLines)) return false;
  if (filters.maxLines !== undefined && !(facts.lineCount <= filters.maxLines)) return false;
  if (
    filters.shopper !== undefined &&
    (filters.shopper === 'returning') !== facts.returningShopper
  ) {
    return false;
  }
  if (filters.devices !== undefined && !filters.devices.includes(deviceKind(facts.device))) {
    return false;
  }
  return (
    inList(filters.countries, facts.country, upper) &&
    inList(filters.utmSources, facts.utmSource, lower) &&
    inList(filters.currencies, facts.currency, upper)
  );
}
