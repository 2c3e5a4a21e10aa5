import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Store } from '../stores/repository.js';
import { checkAccess, createStoreCache, matchOrigin, type StoreLookup } from './access.js';

const KEY = 'pk_AAAAAAAAAAAAAAAAAAAAAAAA';
const OTHER_KEY = 'pk_BBBBBBBBBBBBBBBBBBBBBBBB';

function store(overrides: Partial<Store> = {}): Store {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'Shop',
    public_key: KEY,
    allowed_origins: ['https://shop.example', 'http://localhost:3000'],
    settings: {
      idleThresholdMinutes: 30,
      timezone: 'UTC',
      attributionWindowDays: 7,
      quietHours: { start: '21:00', end: '08:00' },
    },
    postal_address: null,
    revoked_at: null,
    created_at: new Date(0),
    updated_at: new Date(0),
    ...overrides,
  };
}

/** A lookup that counts its calls and answers from a table the test edits. */
function countingLookup(table: Map<string, Store>) {
  const calls: string[] = [];
  const lookup: StoreLookup = async (key) => {
    calls.push(key);
    return table.get(key);
  };
  return { calls, lookup };
}

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('createStoreCache', () => {
  it('reuses a found store until its TTL passes, then asks again', async () => {
    const table = new Map([[KEY, store()]]);
    const { calls, lookup } = countingLookup(table);
    const time = clock();
    const cache = createStoreCache(lookup, {
      ttlMs: 30_000,
      unknownTtlMs: 5_000,
      maxEntries: 10,
      now: time.now,
    });
    expect((await cache.get(KEY))?.id).toBe(store().id);
    time.advance(29_999);
    expect((await cache.get(KEY))?.id).toBe(store().id);
    expect(calls).toEqual([KEY]);

    // Revoked meanwhile: seen once the entry expires.
    table.delete(KEY);
    time.advance(1);
    expect(await cache.get(KEY)).toBeUndefined();
    expect(calls).toEqual([KEY, KEY]);
  });

  it('remembers an unknown key for the shorter negative TTL', async () => {
    const table = new Map<string, Store>();
    const { calls, lookup } = countingLookup(table);
    const time = clock();
    const cache = createStoreCache(lookup, {
      ttlMs: 30_000,
      unknownTtlMs: 5_000,
      maxEntries: 10,
      now: time.now,
    });
    expect(await cache.get(KEY)).toBeUndefined();
    expect(await cache.get(KEY)).toBeUndefined();
    expect(calls).toHaveLength(1);
    table.set(KEY, store());
    time.advance(5_000);
    expect((await cache.get(KEY))?.id).toBe(store().id);
    expect(calls).toHaveLength(2);
  });

  it('shares one lookup among concurrent misses for a key', async () => {
    const { calls, lookup } = countingLookup(new Map([[KEY, store()]]));
    const cache = createStoreCache(lookup, { ttlMs: 30_000, unknownTtlMs: 5_000, maxEntries: 10 });
    const found = await Promise.all(Array.from({ length: 20 }, () => cache.get(KEY)));
    expect(found.every((item) => item?.id === store().id)).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('does not cache a failed lookup', async () => {
    let fail = true;
    let calls = 0;
    const cache = createStoreCache(
      async () => {
        calls += 1;
        if (fail) throw new Error('connection refused');
        return store();
      },
      { ttlMs: 30_000, unknownTtlMs: 5_000, maxEntries: 10 },
    );
    await expect(cache.get(KEY)).rejects.toThrow('connection refused');
    fail = false;
    expect((await cache.get(KEY))?.id).toBe(store().id);
    expect(calls).toBe(2);
  });

  it('never looks up, nor keeps, strings that cannot be keys', async () => {
    const { calls, lookup } = countingLookup(new Map());
    const cache = createStoreCache(lookup, { ttlMs: 30_000, unknownTtlMs: 5_000, maxEntries: 10 });
    await fc.assert(
      fc.asyncProperty(fc.string(), async (text) => {
        fc.pre(!/^pk_[A-Za-z0-9_-]{24,}$/.test(text));
        expect(await cache.get(text)).toBeUndefined();
      }),
    );
    expect(calls).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, dropping the oldest', async () => {
    const { calls, lookup } = countingLookup(new Map());
    const cache = createStoreCache(lookup, { ttlMs: 30_000, unknownTtlMs: 5_000, maxEntries: 3 });
    const keys = Array.from({ length: 5 }, (_, i) => `pk_${String(i).repeat(24)}`);
    for (const key of keys) await cache.get(key);
    expect(cache.size).toBe(3);
    await cache.get(keys[4]!);
    await cache.get(keys[0]!);
    expect(calls).toEqual([...keys, keys[0]]);
  });
});

describe('matchOrigin', () => {
  const shop = store();

  it('matches an allowed origin exactly, after normalising it', () => {
    expect(matchOrigin(shop, 'https://shop.example')).toBe('https://shop.example');
    expect(matchOrigin(shop, 'https://SHOP.example:443')).toBe('https://shop.example');
    expect(matchOrigin(shop, 'http://localhost:3000')).toBe('http://localhost:3000');
  });

  it('matches nothing else', () => {
    for (const header of [
      undefined,
      '',
      'null',
      'https://shop.example.evil.example',
      'https://evil.example',
      'https://sub.shop.example',
      'http://shop.example',
      'https://shop.example:8443',
      'http://localhost:3001',
      'https://shop.example/path',
      ['https://shop.example'],
    ]) {
      expect(matchOrigin(shop, header), String(header)).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl()), (header) => {
        const match = matchOrigin(shop, header);
        expect(match === undefined || shop.allowed_origins.includes(match)).toBe(true);
      }),
    );
  });
});

describe('checkAccess', () => {
  const cacheOf = (lookup: StoreLookup) =>
    createStoreCache(lookup, { ttlMs: 30_000, unknownTtlMs: 5_000, maxEntries: 10 });
  const stores = cacheOf(async (key) => (key === KEY ? store() : undefined));

  it('grants a live key from an allowed origin', async () => {
    expect(await checkAccess(stores, KEY, 'https://shop.example')).toMatchObject({
      ok: true,
      origin: 'https://shop.example',
      store: { id: store().id },
    });
  });

  it('refuses a missing or unknown key as unauthorized, whatever the origin', async () => {
    for (const key of [undefined, '', ['pk_x'], OTHER_KEY, 'sk_secret']) {
      expect(await checkAccess(stores, key, 'https://shop.example')).toMatchObject({
        ok: false,
        code: 'WB_ERR_UNAUTHORIZED',
      });
    }
  });

  it('refuses a missing or foreign origin as forbidden', async () => {
    for (const origin of [undefined, 'https://evil.example']) {
      expect(await checkAccess(stores, KEY, origin)).toMatchObject({
        ok: false,
        code: 'WB_ERR_FORBIDDEN',
      });
    }
  });

  it('answers unavailable, not unauthorized, when the store cannot be looked up', async () => {
    const failure = new Error('ECONNREFUSED');
    const broken = cacheOf(async () => {
      throw failure;
    });
    expect(await checkAccess(broken, KEY, 'https://shop.example')).toEqual({
      ok: false,
      code: 'WB_ERR_UNAVAILABLE',
      message: expect.any(String),
      cause: failure,
    });
  });
});
