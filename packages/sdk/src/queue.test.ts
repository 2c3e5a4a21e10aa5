import type { TrackedEvent } from '@winback/shared';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ulid } from './ids.js';
import { dropped, enqueue, eventBytes, loadQueue, QUEUE_BOUNDS, queued, settle } from './queue.js';
import { flushStorage } from './storage.js';

const KEY = 'wb_q_pk_test_0123456789';

const event = (padding = 0, text = 'x'): TrackedEvent => ({
  id: ulid(),
  type: 'checkout_step',
  ts: Date.now(),
  sessionId: 'session-0001',
  anonymousId: 'anonymous-0001',
  step: `s${text.repeat(padding)}`,
});
const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;
const totalBytes = () => queued.reduce((sum, each) => sum + utf8Bytes(JSON.stringify(each)), 0);

let warnings: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  flushStorage();
  localStorage.clear();
  warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
  loadQueue(KEY);
});
afterEach(() => {
  flushStorage();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('the local queue', () => {
  it('keeps events in order until they are settled', () => {
    const [a, b, c] = [event(), event(), event()];
    for (const each of [a, b, c]) expect(enqueue(each)).toBe(true);
    settle([b], 0);
    expect(queued.map((each) => each.id)).toEqual([a.id, c.id]);
  });

  it('persists to localStorage when the page is idle, not at once', () => {
    const kept = event();
    enqueue(kept);
    expect(localStorage.getItem(KEY)).toBeNull();
    vi.runAllTimers();
    expect(JSON.parse(localStorage.getItem(KEY) ?? '{}').events).toEqual([kept]);

    // The next page finds it.
    loadQueue(KEY);
    expect(queued).toEqual([kept]);
  });

  it('removes the stored queue once everything is acked', () => {
    const kept = event();
    enqueue(kept);
    flushStorage();
    settle([kept], 0);
    flushStorage();
    expect(localStorage.getItem(KEY)).toBeNull();
  });

  it('ignores what is not an event in storage', () => {
    const kept = event();
    localStorage.setItem(
      KEY,
      JSON.stringify({ events: [null, 7, { nope: 1 }, kept], dropped: 'x' }),
    );
    loadQueue(KEY);
    expect(queued).toEqual([kept]);
    expect(dropped).toBe(0);
    localStorage.setItem(KEY, '{not json');
    loadQueue(KEY);
    expect(queued).toEqual([]);
  });

  it('keeps one copy of an event two pages left behind', () => {
    const twice = event();
    localStorage.setItem(KEY, JSON.stringify({ events: [twice, twice] }));
    loadQueue(KEY);
    expect(queued).toEqual([twice]);
  });

  it('refuses, with a warning, an event larger than the protocol allows', () => {
    expect(enqueue(event(17 * 1024))).toBe(false);
    expect(queued).toHaveLength(0);
    expect(warnings).toHaveBeenCalledWith('[winback] W10', 'checkout_step');
  });

  it('counts bytes as UTF-8', () => {
    const wide = event(10, 'é');
    enqueue(wide);
    expect(eventBytes(wide)).toBe(new TextEncoder().encode(JSON.stringify(wide)).length);
    expect(eventBytes(wide)).toBeGreaterThan(JSON.stringify(wide).length);
  });

  it('drops the oldest past 500 events and counts them until a frame reports them', () => {
    const events = Array.from({ length: QUEUE_BOUNDS.events + 5 }, () => event());
    for (const each of events) enqueue(each);
    expect(queued).toEqual(events.slice(5));
    expect(dropped).toBe(5);
    settle([], 3);
    expect(dropped).toBe(2);
    // The count survives a reload.
    flushStorage();
    loadQueue(KEY);
    expect(dropped).toBe(2);
  });

  it('never exceeds its bounds and always drops the oldest first', () => {
    fc.assert(
      fc.property(
        // Long runs of mostly small events reach the count bound, larger ones the byte bound, and
        // a few are over the event limit.
        fc.array(
          fc.oneof(
            { weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) },
            { weight: 1, arbitrary: fc.integer({ min: 0, max: 17 * 1024 }) },
          ),
          { minLength: 1, maxLength: 800, size: 'max' },
        ),
        (paddings) => {
          loadQueue(`${KEY}-property`);
          const accepted: TrackedEvent[] = [];
          for (const padding of paddings) {
            const each = event(padding);
            if (enqueue(each)) accepted.push(each);
          }
          expect(queued.length).toBeLessThanOrEqual(QUEUE_BOUNDS.events);
          expect(totalBytes()).toBeLessThanOrEqual(QUEUE_BOUNDS.bytes);
          // What is kept is the newest events, in order; everything older was dropped and counted.
          const kept = queued.length;
          expect(queued).toEqual(accepted.slice(accepted.length - kept));
          expect(dropped).toBe(accepted.length - kept);
        },
      ),
      { numRuns: 25 },
    );
  });
});
