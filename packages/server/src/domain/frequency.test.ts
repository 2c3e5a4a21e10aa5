import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CappedChannel,
  defaultFrequencyCapHours,
  frequencyCapAllows,
  frequencyCapUntil,
} from './frequency.js';

const now = new Date('2026-06-01T12:00:00Z');
const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000);
const channels: CappedChannel[] = ['email', 'sms', 'push'];

describe('frequencyCapAllows', () => {
  it('has the default caps: email 16 h, SMS 24 h, push 12 h', () => {
    expect(defaultFrequencyCapHours).toEqual({ email: 16, sms: 24, push: 12 });
    expect(Object.isFrozen(defaultFrequencyCapHours)).toBe(true);
  });

  it('allows the first message on a channel', () => {
    for (const channel of channels) {
      expect(frequencyCapAllows({ channel, now, lastSentAt: null })).toBe(true);
    }
  });

  it('holds a message back until the cap has passed, and allows it at the cap exactly', () => {
    expect(frequencyCapAllows({ channel: 'sms', now, capHours: 24, lastSentAt: hoursAgo(6) })).toBe(
      false,
    );
    expect(
      frequencyCapAllows({ channel: 'sms', now, capHours: 24, lastSentAt: hoursAgo(24) }),
    ).toBe(true);
    expect(
      frequencyCapUntil({ channel: 'sms', now, capHours: 24, lastSentAt: hoursAgo(6) }),
    ).toEqual(new Date('2026-06-02T06:00:00Z'));
  });

  it('uses the channel’s default cap when none is given or the one given is not usable', () => {
    for (const channel of channels) {
      const cap = defaultFrequencyCapHours[channel];
      for (const capHours of [undefined, Number.NaN, -1]) {
        expect(frequencyCapAllows({ channel, now, capHours, lastSentAt: hoursAgo(cap - 1) })).toBe(
          false,
        );
        expect(frequencyCapAllows({ channel, now, capHours, lastSentAt: hoursAgo(cap) })).toBe(
          true,
        );
      }
    }
  });

  it('turns the cap off at 0 hours', () => {
    expect(frequencyCapAllows({ channel: 'email', now, capHours: 0, lastSentAt: now })).toBe(true);
  });

  it('holds back after a last send in the future, until that send plus the cap', () => {
    const ahead = new Date(now.getTime() + 3_600_000);
    expect(frequencyCapUntil({ channel: 'push', now, capHours: 12, lastSentAt: ahead })).toEqual(
      new Date(ahead.getTime() + 12 * 3_600_000),
    );
  });

  it('allows exactly when at least capHours have passed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...channels),
        fc.integer({ min: 0, max: 72 }),
        fc.integer({ min: -10 * 3_600_000, max: 100 * 3_600_000 }),
        (channel, capHours, elapsedMs) => {
          const lastSentAt = new Date(now.getTime() - elapsedMs);
          const allowed = frequencyCapAllows({ channel, now, capHours, lastSentAt });
          expect(allowed).toBe(elapsedMs >= capHours * 3_600_000);
          const until = frequencyCapUntil({ channel, now, capHours, lastSentAt });
          expect(until === null).toBe(allowed);
          if (until)
            expect(frequencyCapAllows({ channel, now: until, capHours, lastSentAt })).toBe(true);
        },
      ),
    );
  });
});
