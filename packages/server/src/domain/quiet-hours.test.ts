import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ianaTimeZone,
  isValidTimeZone,
  localTime,
  type QuietHoursWindow,
  quietHoursEnd,
  quietHoursWindow,
} from './quiet-hours.js';

const night: QuietHoursWindow = { start: '21:00', end: '08:00' };
const at = (iso: string) => new Date(iso);
const end = (instant: string, window: QuietHoursWindow, zone: string) =>
  quietHoursEnd(at(instant), window, zone)?.toISOString() ?? null;

describe('quietHoursEnd on ordinary days', () => {
  it('ends an overnight window the next local morning', () => {
    // 22:30 CEST on 1 June.
    expect(end('2026-06-01T20:30:00Z', night, 'Europe/Berlin')).toBe('2026-06-02T06:00:00.000Z');
    // 06:00 CEST on 2 June: same window, same end.
    expect(end('2026-06-02T04:00:00Z', night, 'Europe/Berlin')).toBe('2026-06-02T06:00:00.000Z');
  });

  it('returns null outside the window', () => {
    expect(end('2026-06-01T12:00:00Z', night, 'Europe/Berlin')).toBeNull();
    expect(end('2026-06-01T18:59:59.999Z', night, 'Europe/Berlin')).toBeNull();
  });

  it('counts start as quiet and end as not', () => {
    expect(end('2026-06-01T19:00:00Z', night, 'Europe/Berlin')).toBe('2026-06-02T06:00:00.000Z');
    expect(end('2026-06-02T06:00:00Z', night, 'Europe/Berlin')).toBeNull();
    expect(end('2026-06-02T05:59:59.999Z', night, 'Europe/Berlin')).toBe(
      '2026-06-02T06:00:00.000Z',
    );
  });

  it('handles a window within one day', () => {
    const lunch = { start: '12:00', end: '13:30' };
    expect(end('2026-06-01T10:15:00Z', lunch, 'Europe/Berlin')).toBe('2026-06-01T11:30:00.000Z');
    expect(end('2026-06-01T09:59:00Z', lunch, 'Europe/Berlin')).toBeNull();
    expect(end('2026-06-01T11:30:00Z', lunch, 'Europe/Berlin')).toBeNull();
  });

  it('handles a window that starts at midnight and one that ends at midnight', () => {
    const earlyHours = { start: '00:00', end: '06:00' };
    expect(end('2026-06-01T22:00:00Z', earlyHours, 'Europe/Berlin')).toBe(
      '2026-06-02T04:00:00.000Z',
    );
    expect(end('2026-06-01T21:59:00Z', earlyHours, 'Europe/Berlin')).toBeNull();
    const lateEvening = { start: '22:00', end: '00:00' };
    expect(end('2026-06-01T21:00:00Z', lateEvening, 'Europe/Berlin')).toBe(
      '2026-06-01T22:00:00.000Z',
    );
    expect(end('2026-06-01T22:00:00Z', lateEvening, 'Europe/Berlin')).toBeNull();
  });

  it('treats start === end as no quiet hours', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), timeArb, zoneArb, (instant, time, zone) => {
        expect(quietHoursEnd(instant, { start: time, end: time }, zone)).toBeNull();
      }),
    );
  });

  it('reads the window in the zone it is given', () => {
    expect(end('2026-01-15T03:00:00Z', night, 'UTC')).toBe('2026-01-15T08:00:00.000Z');
    // 22:00 EST on 14 January.
    expect(end('2026-01-15T03:00:00Z', night, 'America/New_York')).toBe('2026-01-15T13:00:00.000Z');
    // 08:30 IST: after the end in Kolkata (UTC+05:30).
    expect(end('2026-01-15T03:00:00Z', night, 'Asia/Kolkata')).toBeNull();
    // 08:45 NPT (UTC+05:45), a window ending at 09:00.
    expect(end('2026-01-15T03:00:00Z', { start: '21:00', end: '09:00' }, 'Asia/Kathmandu')).toBe(
      '2026-01-15T03:15:00.000Z',
    );
  });
});

describe('quietHoursEnd across daylight-saving changes', () => {
  // Europe/Berlin 2026: 29 March 02:00 CET → 03:00 CEST (at 01:00Z); 25 October 03:00 CEST →
  // 02:00 CET (at 01:00Z), so 02:00–02:59 is shown twice, at 00:00–00:59Z and 01:00–01:59Z.
  // America/New_York 2026: 8 March 02:00 EST → 03:00 EDT (at 07:00Z); 1 November 02:00 EDT →
  // 01:00 EST (at 06:00Z), so 01:00–01:59 is shown twice, at 05:00–05:59Z and 06:00–06:59Z.

  it('ends an overnight window at local 08:00 on a spring-forward night', () => {
    // 23:00 CET on 28 March → 08:00 CEST on 29 March: nine wall hours, eight real ones.
    expect(end('2026-03-28T22:00:00Z', night, 'Europe/Berlin')).toBe('2026-03-29T06:00:00.000Z');
    // 21:00 EST on 7 March → 08:00 EDT on 8 March.
    expect(end('2026-03-08T02:00:00Z', night, 'America/New_York')).toBe('2026-03-08T12:00:00.000Z');
  });

  it('ends an overnight window at local 08:00 on a fall-back night', () => {
    // 22:00 CEST on 24 October → 08:00 CET on 25 October.
    expect(end('2026-10-24T20:00:00Z', night, 'Europe/Berlin')).toBe('2026-10-25T07:00:00.000Z');
    // 21:00 EDT on 31 October → 08:00 EST on 1 November.
    expect(end('2026-11-01T01:00:00Z', night, 'America/New_York')).toBe('2026-11-01T13:00:00.000Z');
  });

  it('ends at the first instant after the gap when the end is skipped', () => {
    const toHalfPastTwo = { start: '22:00', end: '02:30' };
    // 23:00 CET → 02:30 does not exist on 29 March: 03:00 CEST.
    expect(end('2026-03-28T22:00:00Z', toHalfPastTwo, 'Europe/Berlin')).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    // 01:59:59.999 CET, the last instant before the gap, still in the window.
    expect(end('2026-03-29T00:59:59.999Z', toHalfPastTwo, 'Europe/Berlin')).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    // 03:00 CEST: past 02:30 on the wall clock.
    expect(end('2026-03-29T01:00:00Z', toHalfPastTwo, 'Europe/Berlin')).toBeNull();
    // 23:00 EST on 7 March → 03:00 EDT on 8 March.
    expect(end('2026-03-08T04:00:00Z', toHalfPastTwo, 'America/New_York')).toBe(
      '2026-03-08T07:00:00.000Z',
    );
  });

  it('ends an end-of-gap window exactly when the clocks jump', () => {
    const toThree = { start: '22:00', end: '03:00' };
    expect(end('2026-03-28T22:00:00Z', toThree, 'Europe/Berlin')).toBe('2026-03-29T01:00:00.000Z');
  });

  it('never quiets a window that lies wholly in the skipped hour', () => {
    const skipped = { start: '02:10', end: '02:50' };
    for (const instant of [
      '2026-03-29T00:59:59Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T01:30:00Z',
    ]) {
      expect(end(instant, skipped, 'Europe/Berlin')).toBeNull();
    }
  });

  it('is quiet from the gap on when the start is skipped', () => {
    const fromHalfPastTwo = { start: '02:30', end: '06:00' };
    expect(end('2026-03-29T00:59:00Z', fromHalfPastTwo, 'Europe/Berlin')).toBeNull();
    // 03:00 CEST is after 02:30 on the wall clock.
    expect(end('2026-03-29T01:00:00Z', fromHalfPastTwo, 'Europe/Berlin')).toBe(
      '2026-03-29T04:00:00.000Z',
    );
  });

  it('ends at the earlier instant when the end is shown twice', () => {
    const toHalfPastTwo = { start: '22:00', end: '02:30' };
    // 23:00 CEST on 24 October → the first 02:30 (CEST).
    expect(end('2026-10-24T21:00:00Z', toHalfPastTwo, 'Europe/Berlin')).toBe(
      '2026-10-25T00:30:00.000Z',
    );
    // 02:30 and 02:45 CEST: the window is over.
    expect(end('2026-10-25T00:30:00Z', toHalfPastTwo, 'Europe/Berlin')).toBeNull();
    expect(end('2026-10-25T00:45:00Z', toHalfPastTwo, 'Europe/Berlin')).toBeNull();
    // 00:00 EDT on 1 November → the first 01:30 (EDT).
    const toHalfPastOne = { start: '23:00', end: '01:30' };
    expect(end('2026-11-01T04:00:00Z', toHalfPastOne, 'America/New_York')).toBe(
      '2026-11-01T05:30:00.000Z',
    );
  });

  it('is quiet again in the repeated hour, until the later instant', () => {
    const toHalfPastTwo = { start: '22:00', end: '02:30' };
    // 02:00 and 02:29 CET, the second time round: the wall clock is in the window again.
    expect(end('2026-10-25T01:00:00Z', toHalfPastTwo, 'Europe/Berlin')).toBe(
      '2026-10-25T01:30:00.000Z',
    );
    expect(end('2026-10-25T01:29:00Z', toHalfPastTwo, 'Europe/Berlin')).toBe(
      '2026-10-25T01:30:00.000Z',
    );
    expect(end('2026-10-25T01:30:00Z', toHalfPastTwo, 'Europe/Berlin')).toBeNull();
    // 01:15 EST, the second time round in New York.
    const toHalfPastOne = { start: '23:00', end: '01:30' };
    expect(end('2026-11-01T06:15:00Z', toHalfPastOne, 'America/New_York')).toBe(
      '2026-11-01T06:30:00.000Z',
    );
  });

  it('starts at the first showing of a start time shown twice', () => {
    const fromHalfPastTwo = { start: '02:30', end: '05:00' };
    expect(end('2026-10-25T00:29:00Z', fromHalfPastTwo, 'Europe/Berlin')).toBeNull();
    // 02:30 CEST → 05:00 CET.
    expect(end('2026-10-25T00:30:00Z', fromHalfPastTwo, 'Europe/Berlin')).toBe(
      '2026-10-25T04:00:00.000Z',
    );
    // 02:10 CET, second time round: before 02:30 on the wall clock, so not quiet.
    expect(end('2026-10-25T01:10:00Z', fromHalfPastTwo, 'Europe/Berlin')).toBeNull();
  });

  it('handles a half-hour shift (Lord Howe Island) and a skipped day (Samoa, 2011)', () => {
    // Australia/Lord_Howe 2026-04-05: 02:00 +11:00 → 01:30 +10:30 (at 15:00Z on the 4th).
    // 23:00 +11:00 on the 4th → the first 01:45 (+11:00).
    expect(
      end('2026-04-04T12:00:00Z', { start: '23:00', end: '01:45' }, 'Australia/Lord_Howe'),
    ).toBe('2026-04-04T14:45:00.000Z');
    // Pacific/Apia skipped 30 December 2011 (-10:00 → +14:00 at 2011-12-30T10:00Z). 22:00 on
    // the 29th: 08:00 on the 30th never came; the first instant after the gap is 00:00 on the
    // 31st, which is itself inside the night's window, so the night ends at 08:00 on the 31st.
    expect(end('2011-12-30T08:00:00Z', night, 'Pacific/Apia')).toBe('2011-12-30T18:00:00.000Z');
    // America/Los_Angeles skips 02:00–03:00 on 2026-03-08: a window open all day but 02:00–02:01
    // has no minute outside it that night, so it runs on to 02:00 on the 9th (09:00Z, PDT).
    expect(
      end('2026-03-08T07:00:00Z', { start: '02:01', end: '02:00' }, 'America/Los_Angeles'),
    ).toBe('2026-03-09T09:00:00.000Z');
  });
});

/** Whether the night ending at `ends` had to run on past a skipped `end` of the night before. */
function skipsTheGap(window: { start: string; end: string }, ends: Date, zone: string): boolean {
  return (
    quietHoursEnd(new Date(ends.getTime() - 25 * 3600_000), window, zone)?.getTime() ===
    ends.getTime()
  );
}

describe('quietHoursEnd with unknown zones and bad input', () => {
  it('reads an unknown or empty zone as UTC', () => {
    fc.assert(
      fc.property(
        fc.date({ noInvalidDate: true }),
        windowArb,
        fc.constantFrom('Nowhere/Atlantis', '', 'Europe/Berlinn', '+25:00', 'not a zone'),
        (instant, window, zone) => {
          expect(quietHoursEnd(instant, window, zone)).toEqual(
            quietHoursEnd(instant, window, 'UTC'),
          );
        },
      ),
    );
    expect(end('2026-06-01T22:00:00Z', night, 'Nowhere/Atlantis')).toBe('2026-06-02T08:00:00.000Z');
  });

  it('throws a RangeError for an invalid date or a window time that is not HH:MM', () => {
    expect(() => quietHoursEnd(new Date(Number.NaN), night, 'UTC')).toThrow(RangeError);
    for (const bad of ['9:00', '24:00', '21:60', '2100', '', ' 21:00', '21:00:00']) {
      expect(() =>
        quietHoursEnd(at('2026-06-01T12:00:00Z'), { ...night, start: bad }, 'UTC'),
      ).toThrow(RangeError);
      expect(() =>
        quietHoursEnd(at('2026-06-01T12:00:00Z'), { ...night, end: bad }, 'UTC'),
      ).toThrow(RangeError);
    }
  });
});

// --- properties, checked against the runtime's own Intl clock ---

const zones = [
  'UTC',
  'Europe/Berlin',
  'Europe/London',
  'America/New_York',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'America/St_Johns',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'Asia/Tokyo',
  'Pacific/Chatham',
  'Pacific/Kiritimati',
];
const zoneArb = fc.constantFrom(...zones);
const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
// Bias towards the small hours, where the clocks change.
const timeArb = fc
  .oneof(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 0, max: 240 }))
  .map(hhmm);
const windowArb = fc.record({ start: timeArb, end: timeArb });
// 1990–2040, and instants near this year's transitions in the zones above.
const transitions = [
  '2026-03-08T07:00:00Z',
  '2026-03-29T01:00:00Z',
  '2026-04-04T15:00:00Z',
  '2026-04-04T16:00:00Z',
  '2026-10-25T01:00:00Z',
  '2026-11-01T06:00:00Z',
].map(Date.parse);
const instantArb = fc.oneof(
  fc.date({
    min: new Date('1990-01-01T00:00:00Z'),
    max: new Date('2040-01-01T00:00:00Z'),
    noInvalidDate: true,
  }),
  fc
    .tuple(fc.constantFrom(...transitions), fc.integer({ min: -36 * 60, max: 36 * 60 }))
    .map(([transition, minutes]) => new Date(transition + minutes * 60_000)),
);

const clocks = new Map<string, Intl.DateTimeFormat>();
/** Minutes since local midnight and the zone's offset, as Intl tells them. */
function wallClock(instant: Date, zone: string): { minutes: number; offset: string } {
  let clock = clocks.get(zone);
  if (!clock) {
    clock = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    clocks.set(zone, clock);
  }
  const parts = clock.formatToParts(instant);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    minutes: Number(part('hour')) * 60 + Number(part('minute')),
    offset: part('timeZoneName'),
  };
}
const toMinutes = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3));
function isQuietOnWallClock(minutes: number, window: QuietHoursWindow): boolean {
  const start = toMinutes(window.start);
  const stop = toMinutes(window.end);
  if (start === stop) return false;
  return start < stop ? minutes >= start && minutes < stop : minutes >= start || minutes < stop;
}

describe('quietHoursEnd properties', () => {
  it('is quiet exactly when the local wall clock is in the window', () => {
    fc.assert(
      fc.property(instantArb, windowArb, zoneArb, (instant, window, zone) => {
        const quiet = isQuietOnWallClock(wallClock(instant, zone).minutes, window);
        expect(quietHoursEnd(instant, window, zone) !== null).toBe(quiet);
      }),
      { numRuns: 2000 },
    );
  });

  it('ends after `at`, at local `end` or right after a gap that skipped it', () => {
    fc.assert(
      fc.property(instantArb, windowArb, zoneArb, (instant, window, zone) => {
        const ends = quietHoursEnd(instant, window, zone);
        if (ends === null) return;
        expect(ends.getTime()).toBeGreaterThan(instant.getTime());
        // A window is shorter than a day; a fall-back or a 24 h skip stretches it a little, and a
        // clock change that skips every minute outside the window joins two nights into one.
        const hours = (ends.getTime() - instant.getTime()) / 3600_000;
        expect(hours).toBeLessThanOrEqual(skipsTheGap(window, ends, zone) ? 49 : 25);
        const clock = wallClock(ends, zone);
        const justBefore = wallClock(new Date(ends.getTime() - 1), zone);
        const atGap = justBefore.offset !== clock.offset && clock.minutes > toMinutes(window.end);
        expect(clock.minutes === toMinutes(window.end) || atGap).toBe(true);
        // The end itself is not quiet.
        expect(quietHoursEnd(ends, window, zone)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('gives every instant up to the end the same end', () => {
    fc.assert(
      fc.property(
        instantArb,
        windowArb,
        zoneArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (instant, window, zone, fraction) => {
          const ends = quietHoursEnd(instant, window, zone);
          if (ends === null) return;
          const between = new Date(
            instant.getTime() + Math.floor((ends.getTime() - instant.getTime()) * fraction),
          );
          if (between.getTime() >= ends.getTime()) return;
          expect(quietHoursEnd(between, window, zone)).toEqual(ends);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('in UTC, is plain clock arithmetic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1439 }), windowArb, (minute, window) => {
        const instant = new Date(Date.UTC(2026, 5, 1) + minute * 60_000);
        const start = toMinutes(window.start);
        const stop = toMinutes(window.end);
        const ends = quietHoursEnd(instant, window, 'UTC');
        if (!isQuietOnWallClock(minute, window)) {
          expect(ends).toBeNull();
          return;
        }
        const nextDay = start > stop && minute >= start ? 1440 : 0;
        expect(ends).toEqual(new Date(Date.UTC(2026, 5, 1) + (nextDay + stop) * 60_000));
      }),
    );
  });
});

describe('isValidTimeZone and the settings schemas', () => {
  it('knows IANA zones and refuses the rest', () => {
    for (const zone of ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu']) {
      expect(isValidTimeZone(zone)).toBe(true);
      expect(ianaTimeZone.safeParse(zone).success).toBe(true);
    }
    for (const zone of ['', 'Nowhere/Atlantis', 'Europe/Berlinn', 'not a zone', 42, null]) {
      expect(isValidTimeZone(zone)).toBe(false);
      expect(ianaTimeZone.safeParse(zone).success).toBe(false);
    }
  });

  it('accepts HH:MM windows and refuses anything else', () => {
    expect(quietHoursWindow.safeParse(night).success).toBe(true);
    expect(quietHoursWindow.safeParse({ start: '00:00', end: '23:59' }).success).toBe(true);
    expect(quietHoursWindow.safeParse({ ...night, extra: true }).success).toBe(false);
    fc.assert(
      fc.property(fc.string(), (text) => {
        const valid = /^([01]\d|2[0-3]):[0-5]\d$/.test(text);
        expect(localTime.safeParse(text).success).toBe(valid);
      }),
    );
  });
});
