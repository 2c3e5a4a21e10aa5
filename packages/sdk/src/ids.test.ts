import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { anonymousId, loadIds, SESSION_TIMEOUT_MS, sessionId, ulid } from './ids.js';
import { flushStorage } from './storage.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const timeOf = (id: string) =>
  [...id.slice(0, 10)].reduce((time, char) => time * 32 + CROCKFORD.indexOf(char), 0);

beforeEach(() => {
  flushStorage();
  localStorage.clear();
});
afterEach(() => vi.restoreAllMocks());

describe('ulid', () => {
  it('is 26 Crockford base32 characters carrying the time and 80 random bits', () => {
    // ulid() remembers the last time it used, so the property walks forward from a fresh base.
    let now = Date.UTC(2100, 0, 1);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1 }), (steps) => {
        for (const step of steps) {
          now += step;
          const id = ulid(now);
          expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
          expect(timeOf(id)).toBe(now);
        }
      }),
    );
  });

  it('draws its randomness from crypto.getRandomValues for each new millisecond', () => {
    const random = vi.spyOn(crypto, 'getRandomValues');
    const start = Date.UTC(2200, 0, 1);
    const ids = new Set(Array.from({ length: 200 }, (_, i) => ulid(start + i)));
    expect(ids.size).toBe(200);
    expect(random).toHaveBeenCalledTimes(200);
  });

  it('sorts by time', () => {
    expect(ulid(1_700_000_000_000) < ulid(1_700_000_000_001)).toBe(true);
  });
});

describe('anonymous id', () => {
  it('is made once and kept in first-party storage', () => {
    loadIds();
    const first = anonymousId;
    expect(first).toMatch(/^[\w-]{8,64}$/);
    flushStorage();
    loadIds();
    expect(anonymousId).toBe(first);
  });

  it('replaces a stored value that is not an id', () => {
    localStorage.setItem('wb_id', JSON.stringify('<script>'));
    loadIds();
    expect(anonymousId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});

describe('session id', () => {
  const start = Date.UTC(2026, 10, 22, 9);

  it('stays while events keep coming and rolls over after 30 minutes without any', () => {
    loadIds();
    const first = sessionId(start);
    expect(sessionId(start + SESSION_TIMEOUT_MS)).toBe(first);
    expect(sessionId(start + 2 * SESSION_TIMEOUT_MS)).toBe(first);
    const second = sessionId(start + 3 * SESSION_TIMEOUT_MS + 1);
    expect(second).not.toBe(first);
    expect(sessionId(start + 3 * SESSION_TIMEOUT_MS + 2)).toBe(second);
  });

  it('carries over to the next page, and follows another tab that kept it alive', () => {
    loadIds();
    const first = sessionId(start);
    flushStorage();
    loadIds();
    expect(sessionId(start + 60_000)).toBe(first);
    // Another tab sent an event much later; this tab's own memory is stale.
    localStorage.setItem(
      'wb_s',
      JSON.stringify({ id: 'other-tab-session', at: start + 50 * 60_000 }),
    );
    expect(sessionId(start + 70 * 60_000)).toBe('other-tab-session');
  });

  it('starts a new session when storage holds nonsense', () => {
    localStorage.setItem('wb_s', JSON.stringify({ id: 5, at: 'never' }));
    loadIds();
    expect(sessionId(start)).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});

describe('ulid order', () => {
  it('sorts ids made in the same millisecond, or after the clock steps back, in the order made', () => {
    const now = Date.UTC(2026, 10, 22, 12);
    const ids = [ulid(now), ulid(now), ulid(now), ulid(now - 5), ulid(now + 1), ulid(now + 1)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
