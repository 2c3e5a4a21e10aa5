import type { JobPayload } from './port.js';

// Kinds become part of Redis keys and BullMQ queue names, which must not contain ':' and whose
// braces would break the Redis Cluster hash tag: keep them to a plain identifier.
const KIND = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_ID_LENGTH = 256;
// A lone UTF-16 surrogate cannot be encoded to UTF-8 faithfully: two different ids would share
// one Redis key.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What one `schedule` call asked for; two of them are the same schedule when this matches. */
export interface ScheduleRequest {
  readonly runAt: number;
  readonly payload: JobPayload;
}

export function validateKind(kind: string): void {
  if (typeof kind !== 'string' || !KIND.test(kind)) {
    throw new TypeError(
      `job kind must be a letter followed by up to 63 letters, digits, '_', '.' or '-' (got ${JSON.stringify(kind)})`,
    );
  }
}

export function validateJobId(id: string): void {
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > MAX_ID_LENGTH ||
    LONE_SURROGATE.test(id)
  ) {
    throw new TypeError(
      `job id must be a non-empty, well-formed string of at most ${MAX_ID_LENGTH} characters`,
    );
  }
}

/**
 * Checks a `schedule` call and returns a frozen copy of its payload. Both adapters hold the
 * same rules, so a payload that BullMQ's JSON round trip would change (NaN, nested objects) is
 * refused everywhere instead of behaving differently per driver.
 */
export function validateSchedule(
  kind: string,
  id: string,
  runAt: Date,
  payload: JobPayload,
): JobPayload {
  validateKind(kind);
  validateJobId(id);
  if (!(runAt instanceof Date) || !Number.isFinite(runAt.getTime())) {
    throw new TypeError('runAt must be a valid Date');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new TypeError('job payload must be a plain object');
  }
  for (const [key, value] of Object.entries(payload)) {
    const scalar =
      value === null ||
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value));
    if (!scalar) {
      throw new TypeError(
        `job payload field ${JSON.stringify(key)} must be a string, finite number, boolean or null`,
      );
    }
  }
  return Object.freeze({ ...payload });
}

/** Re-arming a job with the time and payload it already has must change nothing. */
export function isSameSchedule(a: ScheduleRequest, b: ScheduleRequest): boolean {
  if (a.runAt !== b.runAt) return false;
  const aKeys = Object.keys(a.payload);
  if (aKeys.length !== Object.keys(b.payload).length) return false;
  return aKeys.every(
    (key) => Object.hasOwn(b.payload, key) && Object.is(a.payload[key], b.payload[key]),
  );
}
