import type { ProcessOptions } from './port.js';

export type RetryPolicy = Required<ProcessOptions>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  concurrency: 1,
  attempts: 5,
  backoffMs: 1_000,
});

/** No retry waits longer than this, however many attempts came before. */
export const MAX_RETRY_DELAY_MS = 60 * 60 * 1_000;

/** Each delay is spread ±25% around its nominal value, so a burst of failures does not retry
 * in lockstep (thundering herd against a provider that just recovered). */
const JITTER = 0.25;

/** Fills in the defaults and rejects options that would silently do nothing useful. */
export function resolveRetryPolicy(options: ProcessOptions = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(options) };
  if (!Number.isSafeInteger(policy.concurrency) || policy.concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number ≥ 1 (got ${policy.concurrency})`);
  }
  if (!Number.isSafeInteger(policy.attempts) || policy.attempts < 1) {
    throw new RangeError(`attempts must be a whole number ≥ 1 (got ${policy.attempts})`);
  }
  if (!Number.isFinite(policy.backoffMs) || policy.backoffMs < 0) {
    throw new RangeError(`backoffMs must be a finite number ≥ 0 (got ${policy.backoffMs})`);
  }
  return Object.freeze(policy);
}

/**
 * How long to wait before retry number `retry` (1 for the first retry): `backoffMs` doubled
 * for each earlier retry, capped at MAX_RETRY_DELAY_MS, with ±25% jitter (never above the cap).
 *
 * @example
 *   retryDelayMs(1, 1000); // 750..1250
 *   retryDelayMs(3, 1000); // 3000..5000
 */
export function retryDelayMs(
  retry: number,
  backoffMs: number,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(backoffMs * 2 ** Math.max(0, retry - 1), MAX_RETRY_DELAY_MS);
  const jittered = nominal * (1 - JITTER + 2 * JITTER * random());
  return Math.round(Math.min(jittered, MAX_RETRY_DELAY_MS));
}

function definedOnly(options: ProcessOptions): ProcessOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
