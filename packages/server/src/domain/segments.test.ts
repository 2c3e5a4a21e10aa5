import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CartFacts,
  deviceKind,
  deviceKinds,
  matchesFilters,
  type TriggerFilters,
  triggerFilters,
} from './segments.js';

const cart: CartFacts = {
  valueMinor: 12_500,
  currency: 'EUR',
  lineCount: 2,
  returningShopper: false,
  device: 'mobile',
  country: 'DE',
  utmSource: 'Newsletter',
};

const matches = (filters: unknown, facts: CartFacts = cart) =>
  matchesFilters(triggerFilters.parse(filters), facts);

// --- arbitraries ---

const currencies = ['EUR', 'USD', 'GBP', 'JPY'];
const countries = ['DE', 'US', 'FR', 'GB'];
const sources = ['newsletter', 'google', 'Facebook', ' instagram '];
const deviceStrings = [...deviceKinds, 'Mobile', 'smart-tv', ''];

const factsArb: fc.Arbitrary<CartFacts> = fc.record({
  valueMinor: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.constant(Number.NaN)),
  currency: fc.option(fc.constantFrom(...currencies, 'eur')),
  lineCount: fc.integer({ min: 0, max: 20 }),
  returningShopper: fc.boolean(),
  device: fc.option(fc.constantFrom(...deviceStrings)),
  country: fc.option(fc.constantFrom(...countries, 'de')),
  utmSource: fc.option(fc.constantFrom(...sources, 'NEWSLETTER')),
});

const someOf = <T>(values: readonly T[]) =>
  fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: values.length });

/** Filters the schema accepts, each key present or not. */
const filtersArb: fc.Arbitrary<TriggerFilters> = fc
  .record(
    {
      minValueMinor: fc.integer({ min: 0, max: 100_000 }),
      maxValueMinor: fc.integer({ min: 0, max: 100_000 }),
      minLines: fc.integer({ min: 1, max: 20 }),
      maxLines: fc.integer({ min: 1, max: 20 }),
      shopper: fc.constantFrom('new' as const, 'returning' as const),
      devices: someOf(deviceKinds),
      countries: someOf(countries),
      utmSources: someOf(sources),
      currencies: someOf(currencies),
    },
    { requiredKeys: [] },
  )
  .map((filters) => {
    const fixed = { ...filters };
    if (fixed.minValueMinor !== undefined && fixed.maxValueMinor !== undefined) {
      [fixed.minValueMinor, fixed.maxValueMinor] = [
        Math.min(fixed.minValueMinor, fixed.maxValueMinor),
        Math.max(fixed.minValueMinor, fixed.maxValueMinor),
      ];
    }
    if (fixed.minLines !== undefined && fixed.maxLines !== undefined) {
      [fixed.minLines, fixed.maxLines] = [
        Math.min(fixed.minLines, fixed.maxLines),
        Math.max(fixed.minLines, fixed.maxLines),
      ];
    }
    return triggerFilters.parse(fixed);
  });

describe('matchesFilters', () => {
  it('matches every cart with empty filters', () => {
    fc.assert(
      fc.property(factsArb, (facts) => {
        expect(matchesFilters({}, facts)).toBe(true);
      }),
    );
  });

  it('never matches more carts when a filter is added', () => {
    fc.assert(
      fc.property(filtersArb, filtersArb, factsArb, (filters, extra, facts) => {
        // Add each filter of `extra` that `filters` does not have yet.
        const narrowed = { ...extra, ...filters };
        if (triggerFilters.safeParse(narrowed).success && matchesFilters(narrowed, facts)) {
          expect(matchesFilters(filters, facts)).toBe(true);
        }
      }),
    );
  });

  it('never matches more carts when a list shrinks or a bound tightens', () => {
    fc.assert(
      fc.property(filtersArb, factsArb, fc.nat(), (filters, facts, seed) => {
        const narrowed: TriggerFilters = { ...filters };
        const drop = <T>(values: T[] | undefined) =>
          values && values.length > 1
            ? values.filter((_, i) => i !== seed % values.length)
            : values;
        narrowed.devices = drop(filters.devices);
        narrowed.countries = drop(filters.countries);
        narrowed.utmSources = drop(filters.utmSources);
        narrowed.currencies = drop(filters.currencies);
        if (narrowed.minValueMinor !== undefined) narrowed.minValueMinor += seed % 1000;
        if (narrowed.maxLines !== undefined) narrowed.maxLines = Math.max(1, narrowed.maxLines - 1);
        if (matchesFilters(narrowed, facts)) expect(matchesFilters(filters, facts)).toBe(true);
      }),
    );
  });

  it('is the conjunction of its filters taken one at a time', () => {
    fc.assert(
      fc.property(filtersArb, factsArb, (filters, facts) => {
        const each = Object.entries(filters).map(([key, value]) =>
          matchesFilters({ [key]: value }, facts),
        );
        expect(matchesFilters(filters, facts)).toBe(each.every(Boolean));
      }),
    );
  });

  it('bounds the cart value inclusively', () => {
    expect(matches({ minValueMinor: 12_500 })).toBe(true);
    expect(matches({ minValueMinor: 12_501 })).toBe(false);
    expect(matches({ maxValueMinor: 12_500 })).toBe(true);
    expect(matches({ maxValueMinor: 12_499 })).toBe(false);
    expect(matches({ minValueMinor: 10_000, maxValueMinor: 20_000 })).toBe(true);
    expect(matches({ minValueMinor: 0 }, { ...cart, valueMinor: Number.NaN })).toBe(false);
  });

  it('bounds the line count inclusively', () => {
    expect(matches({ minLines: 2, maxLines: 2 })).toBe(true);
    expect(matches({ minLines: 3 })).toBe(false);
    expect(matches({ maxLines: 1 })).toBe(false);
  });

  it('tells new and returning shoppers apart', () => {
    expect(matches({ shopper: 'new' })).toBe(true);
    expect(matches({ shopper: 'returning' })).toBe(false);
    expect(matches({ shopper: 'returning' }, { ...cart, returningShopper: true })).toBe(true);
  });

  it('matches devices, reading null and unrecognised devices as unknown', () => {
    expect(matches({ devices: ['mobile', 'tablet'] })).toBe(true);
    expect(matches({ devices: ['desktop'] })).toBe(false);
    expect(matches({ devices: ['unknown'] }, { ...cart, device: null })).toBe(true);
    expect(matches({ devices: ['unknown'] }, { ...cart, device: 'smart-tv' })).toBe(true);
    expect(matches({ devices: ['desktop'] }, { ...cart, device: null })).toBe(false);
    expect(deviceKind(' Tablet ')).toBe('tablet');
  });

  it('matches countries and currencies whatever the fact’s case', () => {
    expect(matches({ countries: ['DE', 'AT'] })).toBe(true);
    expect(matches({ countries: ['DE'] }, { ...cart, country: 'de' })).toBe(true);
    expect(matches({ countries: ['FR'] })).toBe(false);
    expect(matches({ currencies: ['EUR'] }, { ...cart, currency: 'eur' })).toBe(true);
    expect(matches({ currencies: ['USD'] })).toBe(false);
  });

  it('compares utm sources without regard to case or spaces', () => {
    expect(matches({ utmSources: ['newsletter'] })).toBe(true);
    expect(matches({ utmSources: [' NEWSLETTER '] })).toBe(true);
    expect(matches({ utmSources: ['google'] })).toBe(false);
  });

  it('does not match a list with an unknown fact', () => {
    expect(matches({ countries: ['DE'] }, { ...cart, country: null })).toBe(false);
    expect(matches({ utmSources: ['newsletter'] }, { ...cart, utmSource: null })).toBe(false);
    expect(matches({ currencies: ['EUR'] }, { ...cart, currency: null })).toBe(false);
    // With no list, an unknown fact is no obstacle.
    expect(matches({}, { ...cart, country: null, utmSource: null, currency: null })).toBe(true);
  });

  it('matches nothing with a list given empty by hand', () => {
    fc.assert(
      fc.property(factsArb, (facts) => {
        expect(matchesFilters({ countries: [] }, facts)).toBe(false);
        expect(matchesFilters({ devices: [] }, facts)).toBe(false);
      }),
    );
  });
});

describe('triggerFilters schema', () => {
  it('accepts every filter together', () => {
    const all = {
      minValueMinor: 0,
      maxValueMinor: 50_000,
      minLines: 1,
      maxLines: 10,
      shopper: 'returning',
      devices: ['desktop', 'unknown'],
      countries: ['DE', 'AT', 'CH'],
      utmSources: ['newsletter'],
      currencies: ['EUR', 'CHF'],
    };
    expect(triggerFilters.parse(all)).toEqual(all);
    expect(triggerFilters.parse({})).toEqual({});
  });

  it.each([
    ['an unknown key', { minValue: 1 }],
    ['a negative value', { minValueMinor: -1 }],
    ['a fractional value', { maxValueMinor: 1.5 }],
    ['zero lines', { minLines: 0 }],
    ['min above max value', { minValueMinor: 10, maxValueMinor: 9 }],
    ['min above max lines', { minLines: 3, maxLines: 2 }],
    ['an unknown shopper kind', { shopper: 'vip' }],
    ['an unknown device', { devices: ['tv'] }],
    ['a lower-case country', { countries: ['de'] }],
    ['a three-letter country', { countries: ['DEU'] }],
    ['an unknown currency', { currencies: ['XXQ'] }],
    ['a lower-case currency', { currencies: ['eur'] }],
    ['an empty list', { countries: [] }],
    ['a blank utm source', { utmSources: ['  '] }],
    ['a list that is not a list', { devices: 'mobile' }],
    ['null', null],
  ])('refuses %s', (_, filters) => {
    expect(triggerFilters.safeParse(filters).success).toBe(false);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const parsed = triggerFilters.safeParse(input);
        if (parsed.success) expect(typeof parsed.data).toBe('object');
      }),
    );
  });
});
