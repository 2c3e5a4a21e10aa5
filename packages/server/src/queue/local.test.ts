import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLocalQueue, MAX_TIMER_MS } from './local.js';
import type { Job } from './port.js';

const logger = pino({ level: 'silent' });
const DAY_MS = 24 * 60 * 60 * 1_000;

describe('the local queue with far-off jobs', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('waits past the setTimeout limit (about 24.8 days) and then runs the job once', async () => {
    const queue = createLocalQueue({ logger });
    const seen: Job[] = [];
    queue.process('message.send', async (job) => {
      seen.push(job);
    });
    const runAt = new Date(Date.now() + 40 * DAY_MS);
    await queue.schedule('message.send', 'far', runAt, {});

    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(seen).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(runAt.getTime() - Date.now() - 1);
    expect(seen).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen.map((job) => job.id)).toEqual(['far']);
    await vi.advanceTimersByTimeAsync(100 * DAY_MS);
    expect(seen).toHaveLength(1);
    await queue.close();
  });

  it('retries after the jittered backoff, not before', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // no jitter: exactly backoff × 2^(n-1)
    const queue = createLocalQueue({ logger });
    const attempts: number[] = [];
    queue.process(
      'flaky',
      async (job) => {
        attempts.push(job.attempt);
        throw new Error('down');
      },
      { attempts: 3, backoffMs: 1_000 },
    );
    await queue.schedule('flaky', 'f', new Date(), {});
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts).toEqual([1]);
    await vi.advanceTimersByTimeAsync(999);
    expect(attempts).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(attempts).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(DAY_MS);
    expect(attempts).toEqual([1, 2, 3]);
    await queue.close();
  });

  it('close clears every timer and refuses new work', async () => {
    const queue = createLocalQueue({ logger });
    await queue.schedule('a', '1', new Date(Date.now() + DAY_MS), {});
    await queue.schedule('b', '2', new Date(Date.now() + 60 * DAY_MS), {});
    expect(vi.getTimerCount()).toBe(2);
    await queue.close();
    expect(vi.getTimerCount()).toBe(0);
    await expect(queue.schedule('a', '3', new Date(), {})).rejects.toThrow(/closed/);
    await expect(queue.ping()).rejects.toThrow(/closed/);
    expect(() => queue.process('a', async () => {})).toThrow(/closed/);
  });
});
