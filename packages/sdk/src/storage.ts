import { warn } from './safe.js';

// First-party storage that never throws (storage can be blocked, full or disabled) and never
// writes on a hot path: localStorage is synchronous, so writes are coalesced and done when the
// page is idle, except on page hide, when there is no later.

const pending = new Map<string, () => unknown>();

/** Reads a JSON value; anything unreadable counts as absent. */
export function read<T>(key: string): T | undefined {
  try {
    return JSON.parse(localStorage.getItem(key) as string) ?? undefined;
  } catch {}
}

/**
 * Schedules a write of `value()` under `key` when the page is idle (soon, where
 * `requestIdleCallback` is missing); the latest value wins. `undefined` removes the key.
 *
 * @example
 *   persist('wb_cart', () => state);
 */
export function persist(key: string, value: () => unknown): void {
  if (!pending.size) (self.requestIdleCallback || setTimeout)(flushStorage, { timeout: 2000 });
  pending.set(key, value);
}

/** Writes everything scheduled now: on page hide, and from tests. */
export function flushStorage(): void {
  pending.forEach((value, key) => {
    try {
      const json = JSON.stringify(value());
      json ? localStorage.setItem(key, json) : localStorage.removeItem(key);
    } catch {
      warn(2);
    }
  });
  pending.clear();
}
