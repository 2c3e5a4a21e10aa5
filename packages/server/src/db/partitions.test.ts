import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { monthStarts, ulidTimePrefix } from './partitions.js';

describe('ulidTimePrefix', () => {
  it('matches the ULID specification example', () => {
    // From the spec's canonical example 01ARYZ6S41TSV4RRFFQ69G5FAV.
    expect(ulidTimePrefix(1469918176385)).toBe('01ARYZ6S41');
    expect(ulidTimePrefix(0)).toBe('0000000000');
    expect(ulidTimePrefix(2 ** 48 - 1)).toBe('7ZZZZZZZZZ');
  });

  it('sorts as time sorts, so months are id ranges', () => {
    const ms = fc.integer({ min: 0, max: 2 ** 48 - 1 });
    fc.assert(
      fc.property(ms, ms, (a, b) => {
        const [pa, pb] = [ulidTimePrefix(a), ulidTimePrefix(b)];
        expect(pa.length).toBe(10);
        // Byte order, as the events id column uses the "C" collation.
        expect(Math.sign(pa < pb ? -1 : pa > pb ? 1 : 0)).toBe(Math.sign(a - b));
      }),
    );
  });

  it('refuses moments a ULID cannot hold', () => {
    expect(() => ulidTimePrefix(-1)).toThrow(RangeError);
    expect(() => ulidTimePrefix(2 ** 48)).toThrow(RangeError);
    expect(() => ulidTimePrefix(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('monthStarts', () => {
  it('gives the first UTC day of this month and the following ones, across years', () => {
    expect(monthStarts(new Date('2026-11-30T23:59:59Z'), 2)).toEqual([
      '2026-11-01',
      '2026-12-01',
      '2027-01-01',
    ]);
    expect(monthStarts(new Date('2026-01-01T00:00:00Z'), 0)).toEqual(['2026-01-01']);
  });
});
