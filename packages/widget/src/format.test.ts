import { formatMoney as sharedFormatMoney } from '@winback/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMoney, formatRemaining, formattingLocale } from './format.js';
import { fill } from './texts.js';

describe('formatMoney', () => {
  it('gives what the shared money helper gives, for any amount, currency and locale', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 12 }),
        fc.constantFrom('EUR', 'USD', 'GBP', 'JPY', 'KWD', 'CHF', 'SEK', 'CLP', 'BHD'),
        fc.constantFrom('en', 'de', 'fr', 'es', 'en-GB', 'de-CH', 'fr-CA', 'es-MX'),
        (amount, currency, locale) =>
          formatMoney(amount, currency, locale) === sharedFormatMoney({ amount, currency }, locale),
      ),
    );
  });

  it('uses the currency minor units and the shopper locale', () => {
    expect(formatMoney(1999, 'EUR', 'de')).toBe('19,99\u00a0€');
    expect(formatMoney(1999, 'EUR', 'en')).toBe('€19.99');
    expect(formatMoney(1999, 'EUR', 'fr')).toBe('19,99\u00a0€');
    expect(formatMoney(500, 'JPY', 'en')).toBe('¥500');
    expect(formatMoney(1234, 'KWD', 'en')).toBe('KWD\u00a01.234');
  });
});

describe('formattingLocale', () => {
  it("prefers the browser's own tag of the overlay language", () => {
    expect(formattingLocale('en', ['de-DE', 'en-GB', 'en-US'])).toBe('en-GB');
    expect(formattingLocale('de', ['en-US'])).toBe('de');
    expect(formattingLocale('fr', ['FR-ca'])).toBe('FR-ca');
    expect(formattingLocale('es', [])).toBe('es');
  });
});

describe('formatRemaining', () => {
  it('reads as a clock, rounded up to the second', () => {
    expect(formatRemaining(61_000)).toBe('1:01');
    expect(formatRemaining(60_000)).toBe('1:00');
    expect(formatRemaining(59_001)).toBe('1:00');
    expect(formatRemaining(1)).toBe('0:01');
    expect(formatRemaining(0)).toBe('0:00');
    expect(formatRemaining(-5_000)).toBe('0:00');
    expect(formatRemaining(3_600_000)).toBe('1:00:00');
    expect(formatRemaining(90_061_000)).toBe('25:01:01');
  });
});

describe('fill', () => {
  it('fills known placeholders and leaves the rest as they are', () => {
    expect(fill('Expires in {time}', { time: '1:00' })).toBe('Expires in 1:00');
    expect(fill('{n} × {n}, {other}', { n: 2 })).toBe('2 × 2, {other}');
    expect(fill('{constructor}', {})).toBe('{constructor}');
  });
});
