import { warn } from './safe.js';

// First-party storage that never throws (storage can be blocked, full or disabled) and never
// writes on a hot path: localStorage is synchronous, so writes are coalesced and done when the
// page is idle, except on page hide, when there is no later.

/** Values waiting to be written, by key; undefined when nothing waits. */
let pending: Record<string, unknown> | undefined;

/** Reads a JSON value; anything unreadable (or blocked, or missing) counts as absent. */
export function read<T>(key: string): T | undefined {
  try {
    // A missing key reads as `undefined`, which JSON.parse refuses like any other bad value.
    return JSON.parse(localStorage[key]);
  } catch {}
}

/**
 * Schedules a write of `value` under `key` when the page is idle (soon, where
 * `requestIdleCallback` is missing); the latest value wins, and it is serialised only then.
 * `undefined` removes the key.
 *
 * @example
 *   persist('wb_cart', state);
 */
export function persist(key: string, value: unknown): void {
  if (!pending) {
    pending = {};
    (self.requestIdleCallback || setTimeout)(flushStorage, { timeout: 2000 });
  }
  pending[key] = value;
}

/** Writes everything scheduled now: on page hide, and from tests. */
export function flushStorage(): void {
  for (const key in pending) {
    try {
      const json = JSON.stringify(pending[key]);
      localStorage[json ? 'setItem' : 'removeItem'](key, json as string);
    } catch {
      warn(2);
    }
  }
  pending = undefined;
}
