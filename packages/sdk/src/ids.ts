import { persist, read } from './storage.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A session ends after 30 minutes without an event. */
export const SESSION_TIMEOUT_MS = 30 * 60_000;

/**
 * A ULID: 48 bits of milliseconds then 80 random bits from `crypto.getRandomValues`, in
 * Crockford base32. Ids sort by time and are made in the browser, so a retried event keeps its
 * id and the server can drop the duplicate.
 *
 * @example
 *   ulid(); // e.g. '01JD2Z3K8QF4W7XG2M9TB6C1RD'
 */
let lastTime = 0;
const lastRandom: number[] = [];

export function ulid(now: number = Date.now()): string {
  // Within one millisecond (or when the clock steps back) the random part counts up instead of
  // being drawn again, so ids made one after another sort in that order: the server orders a
  // session's events by (ts, id).
  if (now <= lastTime) {
    now = lastTime;
    // Add one to the 16-digit base-32 number, carrying leftwards.
    for (let digit = 15; digit >= 0; digit--) {
      lastRandom[digit] = ((lastRandom[digit] ?? 0) + 1) % 32;
      if (lastRandom[digit]) break;
    }
  } else {
    lastTime = now;
    crypto.getRandomValues(new Uint8Array(16)).forEach((byte, i) => {
      lastRandom[i] = byte & 31;
    });
  }
  let id = '';
  for (let i = 0; i < 10; i++, now = Math.floor(now / 32)) id = CROCKFORD[now % 32] + id;
  for (const digit of lastRandom) id += CROCKFORD[digit];
  return id;
}

interface Session {
  id: string;
  /** When the last event was sent, ms since the epoch. */
  at: number;
}

let anonymous = '';
let session: Session | undefined;

/** Reads the anonymous id from first-party storage, making one if none. */
export function loadIds(): void {
  const stored = read('wb_id');
  anonymous = typeof stored === 'string' && /^[\w-]{8,64}$/.test(stored) ? stored : ulid();
  persist('wb_id', () => anonymous);
  session = undefined;
}

/** The browser's anonymous id (for this page only if storage is blocked). */
export const anonymousId = (): string => anonymous;

/** `!(a <= b)` also treats a missing or corrupted (NaN) time as expired. */
const expired = (now: number) => !(now - (session?.at as number) <= SESSION_TIMEOUT_MS);

/**
 * The current session id: the same while events keep coming, a new one after 30 minutes
 * without any. Tabs share the session through storage.
 */
export function sessionId(now: number = Date.now()): string {
  // Another tab may have kept the session alive while this one slept.
  if (expired(now)) session = read('wb_s');
  if (expired(now)) session = { id: ulid(now), at: now };
  const current = session as Session;
  current.at = now;
  persist('wb_s', () => current);
  return current.id;
}
