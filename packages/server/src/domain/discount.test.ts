import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  codeAlphabet,
  codeEntropyBits,
  type DiscountPolicy,
  discountPolicy,
  generateCode,
  issueDiscount,
} from './discount.js';

const now = new Date('2026-06-01T12:00:00Z');
const hours = (n: number) => new Date(now.getTime() + n * 3_600_000);

/** A byte source that hands out `bytes` in order, then repeats them. */
function replaying(bytes: number[]): (n: number) => Uint8Array {
  let next = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = bytes[next++ % bytes.length]!;
    return out;
  };
}

const codeShape = /^WB-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/;

describe('generateCode', () => {
  it('reads as PREFIX-XXXX-XXXX-XXXX from an unambiguous alphabet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        fc.pre(bytes.some((byte) => byte < 248));
        const code = generateCode(replaying([...bytes]));
        expect(code).toMatch(codeShape);
        expect(code.slice(3)).not.toMatch(/[01OIL]/);
      }),
    );
  });

  it('uses an alphabet free of 0, O, 1, I and L, with at least 50 bits per code', () => {
    expect(codeAlphabet).toHaveLength(31);
    expect(new Set(codeAlphabet).size).toBe(31);
    expect(codeAlphabet).not.toMatch(/[01OIL]/);
    expect(codeEntropyBits).toBeGreaterThanOrEqual(50);
  });

  it('maps bytes to symbols without bias, skipping the bytes that would add one', () => {
    const counts = new Map<string, number>();
    for (let byte = 0; byte < 256; byte++) {
      if (byte >= 248) {
        expect(() => generateCode(replaying([byte]), '')).toThrow(RangeError);
        continue;
      }
      const symbols = new Set(generateCode(replaying([byte]), '').replaceAll('-', ''));
      expect(symbols.size).toBe(1);
      const [symbol] = symbols;
      counts.set(symbol!, (counts.get(symbol!) ?? 0) + 1);
    }
    // 248 = 31 × 8: every symbol comes from exactly 8 byte values.
    expect([...counts.keys()].sort().join('')).toBe([...codeAlphabet].sort().join(''));
    for (const count of counts.values()) expect(count).toBe(8);
  });

  it('is deterministic for a given byte source', () => {
    expect(generateCode(replaying([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))).toBe(
      'WB-2345-6789-ABCD',
    );
    // 255 and 248 are skipped; 30 is the last symbol.
    expect(generateCode(replaying([255, 248, 30]), 'SAVE')).toBe('SAVE-ZZZZ-ZZZZ-ZZZZ');
  });

  it('gives distinct codes from a real random source', () => {
    const codes = new Set(Array.from({ length: 2000 }, () => generateCode(randomBytes)));
    expect(codes.size).toBe(2000);
    for (const code of codes) expect(code).toMatch(codeShape);
  });

  it('takes a prefix, or none', () => {
    expect(generateCode(replaying([7]), 'SPRING26')).toMatch(/^SPRING26-[A-Z0-9]{4}-/);
    expect(generateCode(replaying([7]), '')).toMatch(/^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$/);
  });

  it('refuses a prefix that is not capitals and digits', () => {
    for (const prefix of ['wb', 'W-B', 'WB ', 'A'.repeat(17), 'ÄB']) {
      expect(() => generateCode(randomBytes, prefix)).toThrow(RangeError);
    }
  });

  it('gives up on a source that never yields a usable byte', () => {
    expect(() => generateCode(replaying([255]))).toThrow(RangeError);
    expect(() => generateCode(() => new Uint8Array(0))).toThrow(RangeError);
  });

  it('copes with a source that returns fewer bytes than asked', () => {
    const stingy = (n: number) => randomBytes(Math.min(n, 1));
    expect(generateCode(stingy)).toMatch(codeShape);
  });
});

describe('discountPolicy schema', () => {
  it.each([
    { kind: 'percent', value: 1, validHours: 1 },
    { kind: 'percent', value: 100, validHours: 720 },
    { kind: 'fixed', value: 500, minSubtotalMinor: 5_000, validHours: 48 },
    { kind: 'free_shipping', value: 0, minSubtotalMinor: 0, validHours: 24 },
  ])('accepts %j', (policy) => {
    expect(discountPolicy.parse(policy)).toEqual(policy);
  });

  it.each([
    ['a percent of 0', { kind: 'percent', value: 0, validHours: 48 }],
    ['a percent over 100', { kind: 'percent', value: 101, validHours: 48 }],
    ['a fractional percent', { kind: 'percent', value: 12.5, validHours: 48 }],
    ['a fixed amount of 0', { kind: 'fixed', value: 0, validHours: 48 }],
    ['a negative fixed amount', { kind: 'fixed', value: -500, validHours: 48 }],
    ['free shipping with a value', { kind: 'free_shipping', value: 5, validHours: 48 }],
    ['an unknown kind', { kind: 'bogo', value: 1, validHours: 48 }],
    ['0 hours', { kind: 'percent', value: 10, validHours: 0 }],
    ['more than 30 days', { kind: 'percent', value: 10, validHours: 721 }],
    ['a negative minimum', { kind: 'percent', value: 10, validHours: 48, minSubtotalMinor: -1 }],
    ['an unknown key', { kind: 'percent', value: 10, validHours: 48, code: 'FREE' }],
    ['no validity', { kind: 'percent', value: 10 }],
  ])('refuses %s', (_, policy) => {
    expect(discountPolicy.safeParse(policy).success).toBe(false);
  });

  it('accepts a percent exactly when it is a whole number from 1 to 100', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double()), (value) => {
        const ok = Number.isInteger(value) && value >= 1 && value <= 100;
        expect(discountPolicy.safeParse({ kind: 'percent', value, validHours: 48 }).success).toBe(
          ok,
        );
      }),
    );
  });
});

describe('issueDiscount', () => {
  const tenPercent: DiscountPolicy = { kind: 'percent', value: 10, validHours: 48 };
  const fiveOff: DiscountPolicy = {
    kind: 'fixed',
    value: 500,
    minSubtotalMinor: 5_000,
    validHours: 72,
  };

  it('issues a percent discount valid for its hours, with no currency', () => {
    expect(issueDiscount(tenPercent, { subtotalMinor: 4_999, currency: 'EUR' }, now)).toEqual({
      kind: 'percent',
      value: 10,
      currency: null,
      minSubtotalMinor: null,
      expiresAt: hours(48),
    });
  });

  it('issues a fixed amount in the cart currency once the minimum is reached', () => {
    expect(issueDiscount(fiveOff, { subtotalMinor: 5_000, currency: 'USD' }, now)).toEqual({
      kind: 'fixed',
      value: 500,
      currency: 'USD',
      minSubtotalMinor: 5_000,
      expiresAt: hours(72),
    });
    expect(issueDiscount(fiveOff, { subtotalMinor: 4_999, currency: 'USD' }, now)).toBeNull();
  });

  it('issues no fixed amount to a cart without a currency', () => {
    expect(issueDiscount(fiveOff, { subtotalMinor: 9_000, currency: null }, now)).toBeNull();
  });

  it('ties a minimum subtotal to the cart currency', () => {
    const policy: DiscountPolicy = {
      kind: 'free_shipping',
      value: 0,
      minSubtotalMinor: 3_000,
      validHours: 24,
    };
    expect(issueDiscount(policy, { subtotalMinor: 3_000, currency: 'GBP' }, now)).toMatchObject({
      currency: 'GBP',
      minSubtotalMinor: 3_000,
    });
    // A minimum of 0 is no minimum.
    expect(
      issueDiscount({ ...policy, minSubtotalMinor: 0 }, { subtotalMinor: 0, currency: 'GBP' }, now),
    ).toMatchObject({ currency: null, minSubtotalMinor: null });
  });

  it('issues nothing for a subtotal that is not a number', () => {
    expect(issueDiscount(fiveOff, { subtotalMinor: Number.NaN, currency: 'USD' }, now)).toBeNull();
  });

  it('throws on a policy the schema refuses', () => {
    expect(() =>
      issueDiscount(
        { kind: 'percent', value: 150, validHours: 48 },
        { subtotalMinor: 1, currency: 'EUR' },
        now,
      ),
    ).toThrow();
  });

  it('issues exactly when the subtotal reaches the minimum and a fixed amount has a currency', () => {
    const policyArb = fc
      .record({
        kind: fc.constantFrom('percent' as const, 'fixed' as const, 'free_shipping' as const),
        value: fc.integer({ min: 1, max: 100 }),
        minSubtotalMinor: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        validHours: fc.integer({ min: 1, max: 720 }),
      })
      .map((p) => ({ ...p, value: p.kind === 'free_shipping' ? 0 : p.value }));
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 0, max: 20_000 }),
        fc.option(fc.constantFrom('EUR', 'USD', 'JPY')),
        fc.date({
          noInvalidDate: true,
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
        }),
        (policy, subtotalMinor, currency, at) => {
          const issued = issueDiscount(policy, { subtotalMinor, currency }, at);
          const eligible =
            subtotalMinor >= (policy.minSubtotalMinor ?? 0) &&
            (policy.kind !== 'fixed' || currency !== null);
          expect(issued !== null).toBe(eligible);
          if (!issued) return;
          expect(issued.kind).toBe(policy.kind);
          expect(issued.value).toBe(policy.value);
          expect(issued.expiresAt.getTime() - at.getTime()).toBe(policy.validHours * 3_600_000);
          if (policy.kind === 'fixed') expect(issued.currency).toBe(currency);
        },
      ),
    );
  });
});
