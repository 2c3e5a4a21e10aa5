import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMoney, isCurrencyCode, minorUnitDigits, toMinorUnits } from './money.js';

describe('money', () => {
  it('knows each currency’s minor units', () => {
    expect(minorUnitDigits('EUR')).toBe(2);
    expect(minorUnitDigits('jpy')).toBe(0);
    expect(minorUnitDigits('KWD')).toBe(3);
  });

  it('converts platform decimals to integer minor units', () => {
    expect(toMinorUnits('19.99', 'EUR')).toBe(1999);
    expect(toMinorUnits(19.99, 'USD')).toBe(1999);
    expect(toMinorUnits('0.1', 'USD')).toBe(10);
    expect(toMinorUnits('500', 'JPY')).toBe(500);
    expect(toMinorUnits('1.005', 'EUR')).toBe(101);
    expect(toMinorUnits('1.2345', 'KWD')).toBe(1235);
    expect(toMinorUnits('-3.50', 'EUR')).toBe(-350);
  });

  it('refuses what is not a decimal number', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^-?\d+(\.\d+)?$/.test(s.trim())),
        (text) => toMinorUnits(text, 'EUR') === undefined,
      ),
    );
    expect(toMinorUnits('1e3', 'EUR')).toBeUndefined();
    expect(toMinorUnits('9'.repeat(30), 'EUR')).toBeUndefined();
  });

  it('round-trips any cent amount through its decimal text', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 12 }), (cents) => {
        const text = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
        return toMinorUnits(text, 'EUR') === cents;
      }),
    );
  });

  it('formats for people', () => {
    expect(formatMoney({ amount: 1999, currency: 'USD' }, 'en-US')).toBe('$19.99');
    expect(formatMoney({ amount: 500, currency: 'JPY' }, 'en-US')).toBe('¥500');
  });

  it('tells currency codes apart from other strings', () => {
    expect(isCurrencyCode('EUR')).toBe(true);
    expect(isCurrencyCode('eur')).toBe(false);
    expect(isCurrencyCode('EURO')).toBe(false);
    expect(isCurrencyCode('XXQ')).toBe(false);
  });
});
