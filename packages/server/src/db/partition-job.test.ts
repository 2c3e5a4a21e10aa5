import { describe, expect, it } from 'vitest';
import { nextMidnightUtc } from './partition-job.js';

describe('nextMidnightUtc', () => {
  it('is the start of the next UTC day, across month and year ends', () => {
    expect(nextMidnightUtc(new Date('2026-11-22T13:45:00Z')).toISOString()).toBe(
      '2026-11-23T00:00:00.000Z',
    );
    expect(nextMidnightUtc(new Date('2026-11-30T23:59:59Z')).toISOString()).toBe(
      '2026-12-01T00:00:00.000Z',
    );
    expect(nextMidnightUtc(new Date('2026-12-31T00:00:00Z')).toISOString()).toBe(
      '2027-01-01T00:00:00.000Z',
    );
  });

  it('is the same all day long, so re-arming it changes nothing', () => {
    const morning = nextMidnightUtc(new Date('2026-03-29T00:00:01Z'));
    const night = nextMidnightUtc(new Date('2026-03-29T23:59:59Z'));
    expect(morning).toEqual(night);
  });
});
