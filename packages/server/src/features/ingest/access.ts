import type { ErrorCode } from '../../errors.js';
import { publicKeyPattern } from '../stores/keys.js';
import { normalizeOrigin } from '../stores/origins.js';
import type { Store } from '../stores/repository.js';

/** Finds the live store a public key belongs to (`findStoreByPublicKey` bound to a db). */
export type StoreLookup = (publicKey: string) => Promise<Store | undefined>;

export interface StoreCacheOptions {
  /** How long a found store is trusted; revocations and origin edits take effect within it. */
  ttlMs: number;
  /** How long an unknown key stays unknown without asking the database again. */
  unknownTtlMs: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries: number;
  /** Clock, in milliseconds (tests pass their own). */
  now?: () => number;
}

export interface StoreCache {
  /** The store for `publicKey`, or undefined. Rejects when the lookup itself failed. */
  get(publicKey: string): Promise<Store | undefined>;
  readonly size: number;
}

/**
 * Public key → store, kept in process for a short while so a busy socket does not query the
 * stores table on every frame. Concurrent misses for one key share a single lookup (a reconnect
 * storm after a deploy asks once per key, not once per socket). Failed lookups are not cached:
 * the next call asks again.
 */
export function createStoreCache(lookup: StoreLookup, options: StoreCacheOptions): StoreCache {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { store: Store | undefined; expiresAt: number }>();
  const inFlight = new Map<string, Promise<Store | undefined>>();

  function remember(publicKey: string, store: Store | undefined): void {
    entries.delete(publicKey);
    // Map iteration follows insertion order, so the first key is the oldest entry.
    while (entries.size >= options.maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done) break;
      entries.delete(oldest.value);
    }
    const ttl = store ? options.ttlMs : options.unknownTtlMs;
    entries.set(publicKey, { store, expiresAt: now() + ttl });
  }

  return {
    get size() {
      return entries.size;
    },
    async get(publicKey) {
      // Strings that cannot be keys never reach the database nor take a cache slot, so a scan of
      // random keys cannot push real stores out.
      if (!publicKeyPattern.test(publicKey)) return undefined;
      const entry = entries.get(publicKey);
      if (entry && entry.expiresAt > now()) return entry.store;
      const pending = inFlight.get(publicKey);
      if (pending) return pending;
      const lookedUp = lookup(publicKey).then(
        (store) => {
          inFlight.delete(publicKey);
          remember(publicKey, store);
          return store;
        },
        (error: unknown) => {
          inFlight.delete(publicKey);
          throw error;
        },
      );
      inFlight.set(publicKey, lookedUp);
      return lookedUp;
    },
  };
}

/**
 * The store's allowed origin matching an `Origin` header, in the form browsers send, or
 * undefined. Both sides are normalised, so the match is exact on `scheme://host[:port]`; a
 * missing header (server-to-server), `null` (sandboxed frames, file pages) or anything malformed
 * never matches.
 */
export function matchOrigin(
  store: Pick<Store, 'allowed_origins'>,
  header: unknown,
): string | undefined {
  if (typeof header !== 'string' || header.length === 0) return undefined;
  let origin: string;
  try {
    origin = normalizeOrigin(header);
  } catch {
    return undefined;
  }
  return store.allowed_origins.includes(origin) ? origin : undefined;
}

export type Access =
  | { ok: true; store: Store; origin: string }
  | {
      ok: false;
      code: Extract<ErrorCode, 'WB_ERR_UNAUTHORIZED' | 'WB_ERR_FORBIDDEN' | 'WB_ERR_UNAVAILABLE'>;
      message: string;
      /** Why the lookup failed, for the log (only with WB_ERR_UNAVAILABLE). */
      cause?: unknown;
    };

/**
 * Decides whether a browser may send events: the key must name a live store (else
 * WB_ERR_UNAUTHORIZED) and the Origin must be one the store allows (else WB_ERR_FORBIDDEN).
 * When the store cannot be looked up at all the answer is WB_ERR_UNAVAILABLE, never a refusal:
 * a database outage must not make the sdk think its key was revoked.
 */
export async function checkAccess(
  stores: StoreCache,
  key: unknown,
  origin: unknown,
): Promise<Access> {
  if (typeof key !== 'string' || key.length === 0) {
    return {
      ok: false,
      code: 'WB_ERR_UNAUTHORIZED',
      message: 'a store key is required (?key=pk_...)',
    };
  }
  let store: Store | undefined;
  try {
    store = await stores.get(key);
  } catch (cause) {
    return {
      ok: false,
      code: 'WB_ERR_UNAVAILABLE',
      message: 'the store could not be looked up, try again later',
      cause,
    };
  }
  if (!store)
    return { ok: false, code: 'WB_ERR_UNAUTHORIZED', message: 'unknown or revoked store key' };
  const allowed = matchOrigin(store, origin);
  if (!allowed) {
    return {
      ok: false,
      code: 'WB_ERR_FORBIDDEN',
      message:
        origin === undefined
          ? 'an Origin header is required'
          : 'this origin is not allowed for the store',
    };
  }
  return { ok: true, store, origin: allowed };
}
