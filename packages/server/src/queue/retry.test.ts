import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  MAX_RETRY_DELAY_MS,
  resolveRetryPolicy,
  retryDelayMs,
} from './retry.js';

const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('retryDelayMs', () => {
  it('stays within ±25% of backoff × 2^(retry-1), never above the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 600_000 }),
        random,
        (retry, backoffMs, r) => {
          const delay = retryDelayMs(retry, backoffMs, () => r);
          const nominal = Math.min(backoffMs * 2 ** (retry - 1), MAX_RETRY_DELAY_MS);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(nominal * 0.75));
          expect(delay).toBeLessThanOrEqual(
            Math.min(Math.ceil(nominal * 1.25), MAX_RETRY_DELAY_MS),
          );
        },
      ),
    );
  });

  it('grows: the slowest draw of a retry is never later than the fastest of the one after', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 10_000 }),
        (retry, backoffMs) => {
          const slowest = retryDelayMs(retry, backoffMs, () => 0.999_999);
          const fastest = retryDelayMs(retry + 1, backoffMs, () => 0);
          // 1.25·n ≤ 0.75·2n holds until the cap flattens both.
          expect(fastest).toBeGreaterThanOrEqual(Math.min(slowest, MAX_RETRY_DELAY_MS * 0.75) - 1);
        },
      ),
    );
  });

  it('spreads retries apart (jitter) and is jitter-free only with zero backoff', () => {
    expect(retryDelayMs(1, 1_000, () => 0)).toBe(750);
    expect(retryDelayMs(1, 1_000, () => 0.5)).toBe(1_000);
    expect(retryDelayMs(3, 1_000, () => 0.5)).toBe(4_000);
    expect(retryDelayMs(1, 0, () => 0.9)).toBe(0);
  });

  it('never overflows: huge retry numbers give a delay at the cap', () => {
    expect(retryDelayMs(10_000, 1_000, () => 0.999)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(10_000, 1_000, () => 0)).toBe(MAX_RETRY_DELAY_MS * 0.75);
  });
});

describe('resolveRetryPolicy', () => {
  it('fills in the defaults, ignoring undefined fields', () => {
    expect(resolveRetryPolicy()).toEqual(DEFAULT_RETRY_POLICY);
    expect(resolveRetryPolicy({ attempts: undefined, concurrency: 4 })).toEqual({
      ...DEFAULT_RETRY_POLICY,
      concurrency: 4,
    });
  });

  it('refuses every concurrency or attempts that is not a whole number ≥ 1', () => {
    const bad = fc.oneof(
      fc.integer({ max: 0 }),
      fc.double({ noInteger: true }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
    );
    fc.assert(
      fc.property(bad, fc.constantFrom('concurrency', 'attempts'), (value, field) => {
        expect(() => resolveRetryPolicy({ [field]: value })).toThrow(RangeError);
      }),
    );
  });

  it('refuses negative or non-finite backoff', () => {
    const bad = fc.oneof(
      fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
    );
    fc.assert(
      fc.property(bad, (backoffMs) => {
        expect(() => resolveRetryPolicy({ backoffMs })).toThrow(RangeError);
      }),
    );
  });
});
