import { persist, read } from './storage.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A session ends after 30 minutes without an event. */
export const SESSION_TIMEOUT_MS = 30 * 60_000;

let lastTime = 0;
/** The random part of the last id, as 16 base-32 digits (drawn by the first call). */
let random: Uint8Array;

/**
 * A ULID: 48 bits of milliseconds then 80 random bits from `crypto.getRandomValues`, in
 * Crockford base32. Ids sort by time and are made in the browser, so a retried event keeps its
 * id and the server can drop the duplicate.
 *
 * @example
 *   ulid(); // e.g. '01JD2Z3K8QF4W7XG2M9TB6C1RD'
 */
export function ulid(now: number = Date.now()): string {
  if (now > lastTime) {
    lastTime = now;
    random = crypto.getRandomValues(new Uint8Array(16)).map((byte) => byte & 31);
  } else {
    // Within one millisecond (or when the clock steps back) the random part counts up instead
    // of being drawn again, so ids made one after another sort in that order: the server orders
    // a session's events by (ts, id). One is added to the last digit, carrying leftwards.
    now = lastTime;
    for (let digit = 15; digit >= 0; digit--) {
      random[digit] = ((random[digit] as number) + 1) & 31;
      if (random[digit]) break;
    }
  }
  let id = '';
  // `& 31` reads the integer part, so `now` can be divided exactly (by a power of two) in place.
  for (let digit = 10; digit--; now /= 32) id = CROCKFORD[now & 31] + id;
  for (const digit of random) id += CROCKFORD[digit];
  return id;
}

/** The browser's anonymous id, from first-party storage (for this page only if it is blocked). */
export let anonymousId = '';
interface Session {
  id: string;
  /** When the last event was sent, ms since the epoch. */
  at: number;
}
let session: Session | undefined;

/** Reads the anonymous id from first-party storage, making one if none. */
export function loadIds(): void {
  const stored = read('wb_id');
  anonymousId = typeof stored === 'string' && /^[\w-]{8,64}$/.test(stored) ? stored : ulid();
  persist('wb_id', anonymousId);
  session = undefined;
}

/**
 * The current session id: the same while events keep coming, a new one after 30 minutes
 * without any. Tabs share the session through storage. (`!(a <= b)` also treats a missing or
 * corrupted, NaN, time as expired.)
 */
export function sessionId(now: number = Date.now()): string {
  // Another tab may have kept the session alive while this one slept.
  if (!(now - (session?.at as number) <= SESSION_TIMEOUT_MS)) session = read('wb_s');
  if (!(now - (session?.at as number) <= SESSION_TIMEOUT_MS)) session = { id: ulid(now), at: now };
  (session as Session).at = now;
  persist('wb_s', session);
  return (session as Session).id;
}
