import { IANAZone } from 'luxon';
import { z } from 'zod';

/**
 * Quiet hours: the store's local window (say 21:00–08:00) in which no recovery message is sent.
 * Pure: an instant, a window and a zone in; the instant the window ends out. The window is read
 * on the store's wall clock, so it keeps meaning "no messages at night" across daylight-saving
 * changes.
 *
 * @example
 *   const night = { start: '21:00', end: '08:00' };
 *   quietHoursEnd(new Date('2026-06-01T20:30:00Z'), night, 'Europe/Berlin');
 *   // 22:30 in Berlin, quiet: 2026-06-02T06:00:00.000Z (08:00 CEST the next morning)
 *   quietHoursEnd(new Date('2026-06-01T12:00:00Z'), night, 'Europe/Berlin'); // null: send now
 *
 * ## Rules
 *
 * - The window is `start` inclusive, `end` exclusive: at 21:00 sharp it is quiet, at 08:00 sharp
 *   it is not.
 * - `start` after `end` wraps midnight (21:00–08:00); `start === end` means no quiet hours.
 * - A window end that falls in the hour skipped when clocks go forward (02:30 on a spring-forward
 *   night in Berlin) ends at the first instant after the gap (03:00 CEST) — unless the wall clock
 *   is then inside the window again (a gap that skipped all the minutes outside a long window,
 *   or a whole day as in Samoa in 2011): the end is always a time that is not quiet.
 * - A window end that the wall clock shows twice when clocks go back (02:30 on a fall-back night
 *   in Berlin) ends at the earlier of the two instants, the first time the clock shows it. Only
 *   when `at` is already past that first instant (it lies in the repeated hour, where the wall
 *   clock is inside the window a second time) does the window end at the later one: the end is
 *   always after `at`.
 * - An unknown or empty zone is read as UTC rather than failing the send: the message still
 *   waits out a night, if not the shop's. Check zones with `isValidTimeZone` when they are saved.
 */

/** A local wall-clock time, `HH:MM` on a 24-hour clock, `00:00` to `23:59`. */
export const localTime = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a 24-hour time HH:MM such as 21:00');

/** The store's quiet window (`StoreSettings.quietHours`). */
export const quietHoursWindow = z.strictObject({ start: localTime, end: localTime });

export type QuietHoursWindow = z.infer<typeof quietHoursWindow>;

/** An IANA time zone as stored in settings, e.g. `Europe/Berlin`. */
export const ianaTimeZone = z
  .string()
  .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin');

const minuteMs = 60_000;
const dayMs = 86_400_000;

/**
 * True for a time zone name this runtime knows (`Europe/Berlin`, `America/New_York`, `UTC`);
 * false for anything else, including the empty string and non-strings.
 */
export function isValidTimeZone(timeZone: unknown): timeZone is string {
  return typeof timeZone === 'string' && timeZone !== '' && IANAZone.isValidZone(timeZone);
}

/**
 * When the quiet window that `at` falls in ends, or `null` when `at` is outside it (send now).
 * The window is read on the wall clock of `timeZone`; see the rules at the top of this file for
 * daylight-saving changes. An unknown zone is read as UTC.
 *
 * @throws RangeError when `at` is not a valid date or a window time is not `HH:MM`.
 */
export function quietHoursEnd(
  at: Date,
  window: { start: string; end: string },
  timeZone: string,
): Date | null {
  let end = windowEnd(at, window, timeZone);
  // A clock change can skip the only minutes outside a very long window: the end found then
  // lies in the next night's window already, so follow it to a time that is not quiet.
  for (let hop = 0; end !== null && hop < 3 && Number.isFinite(end.getTime()); hop += 1) {
    const next = windowEnd(end, window, timeZone);
    if (next === null) break;
    end = next;
  }
  return end;
}

function windowEnd(
  at: Date,
  window: { start: string; end: string },
  timeZone: string,
): Date | null {
  const instant = at.getTime();
  if (!Number.isFinite(instant)) throw new RangeError('quietHoursEnd: at is not a valid date');
  const start = minutesOfDay(window.start, 'start');
  const end = minutesOfDay(window.end, 'end');
  if (start === end) return null;

  const zone = IANAZone.create(isValidTimeZone(timeZone) ? timeZone : 'UTC');
  const offsetAt = (ms: number) => zone.offset(ms) * minuteMs;

  // The wall clock as a UTC timestamp: its UTC fields are the local date and time.
  const wall = instant + offsetAt(instant);
  const localMidnight = Math.floor(wall / dayMs) * dayMs;
  const now = wall - localMidnight;
  const startMs = start * minuteMs;
  const endMs = end * minuteMs;

  let endWall: number;
  if (start < end) {
    if (now < startMs || now >= endMs) return null;
    endWall = localMidnight + endMs;
  } else if (now >= startMs) {
    endWall = localMidnight + dayMs + endMs;
  } else if (now < endMs) {
    endWall = localMidnight + endMs;
  } else {
    return null;
  }
  return new Date(instantOfWallTime(endWall, instant, offsetAt));
}

function minutesOfDay(time: string, which: 'start' | 'end'): number {
  const parsed = localTime.safeParse(time);
  if (!parsed.success) {
    throw new RangeError(`quietHoursEnd: window ${which} ${JSON.stringify(time)} is not HH:MM`);
  }
  const [hours, minutes] = parsed.data.split(':').map(Number) as [number, number];
  return hours * 60 + minutes;
}

/**
 * The first instant after `after` at which the zone's wall clock reads `wall`, or, when the wall
 * clock skips that reading (clocks going forward), the first instant after the gap.
 */
function instantOfWallTime(wall: number, after: number, offsetAt: (ms: number) => number): number {
  // Offsets are within ±14 h and a transition moves them by at most a day, so every offset that
  // can apply around `wall` is among those in force two days either side of it.
  const offsets = new Set([offsetAt(wall - 2 * dayMs), offsetAt(wall), offsetAt(wall + 2 * dayMs)]);
  const readings: number[] = [];
  for (const offset of offsets) {
    const candidate = wall - offset;
    if (offsetAt(candidate) === offset) readings.push(candidate);
  }
  readings.sort((a, b) => a - b);
  const first = readings.find((candidate) => candidate > after);
  if (first !== undefined) return first;

  // A gap: between the reading under the largest offset (still before the jump) and under the
  // smallest (already after it), find the first millisecond whose wall clock reaches `wall`.
  const largest = Math.max(...offsets);
  const smallest = Math.min(...offsets);
  let before = wall - largest;
  let reached = wall - smallest;
  while (reached - before > 1) {
    const middle = before + Math.floor((reached - before) / 2);
    if (middle + offsetAt(middle) >= wall) reached = middle;
    else before = middle;
  }
  return reached;
}
