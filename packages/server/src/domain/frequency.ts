/**
 * Frequency caps: at most one recovery message per channel to the same shopper within a number
 * of hours, whichever cart or campaign it is for. Pure: the last send and the clock are arguments.
 *
 * @example
 *   frequencyCapAllows({ channel: 'sms', now, capHours: 24, lastSentAt: sixHoursAgo }); // false
 *   frequencyCapAllows({ channel: 'email', now, lastSentAt: null }); // true: nothing sent yet
 */

export type CappedChannel = 'email' | 'sms' | 'push';

/**
 * Hours that must pass between two messages on a channel. SMS is the most intrusive and gets
 * the longest gap; push is the least and gets the shortest.
 */
export const defaultFrequencyCapHours: Readonly<Record<CappedChannel, number>> = Object.freeze({
  email: 16,
  sms: 24,
  push: 12,
});

export interface FrequencyCheck {
  channel: CappedChannel;
  now: Date;
  /** Defaults to the channel's `defaultFrequencyCapHours`; 0 turns the cap off. */
  capHours?: number;
  /** When the shopper was last sent a message on this channel, if ever. */
  lastSentAt: Date | null;
}

const hourMs = 3_600_000;

/**
 * When the cap stops holding the next message back, or `null` when it does not hold it back now.
 * A last send in the future (clock skew between nodes) holds messages back until that send plus
 * the cap, never longer.
 */
export function frequencyCapUntil(check: FrequencyCheck): Date | null {
  if (check.lastSentAt === null) return null;
  const lastSent = check.lastSentAt.getTime();
  if (!Number.isFinite(lastSent)) return null;
  const until = lastSent + capHoursFor(check) * hourMs;
  return check.now.getTime() < until ? new Date(until) : null;
}

/** True when a message on `channel` may be sent at `now`. */
export function frequencyCapAllows(check: FrequencyCheck): boolean {
  return frequencyCapUntil(check) === null;
}

function capHoursFor({ channel, capHours }: FrequencyCheck): number {
  // A missing, NaN or negative cap means "the default", not "no cap": a bad setting should not
  // let messages through faster.
  if (capHours === undefined || Number.isNaN(capHours) || capHours < 0) {
    return defaultFrequencyCapHours[channel];
  }
  return capHours;
}
