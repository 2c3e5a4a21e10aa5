import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobQueue } from './port.js';
import { createReconciler, type DueJob } from './reconciler.js';

const logger = pino({ level: 'silent' });

/** Records schedule calls; `failOn` makes scheduling that id throw. */
function recordingQueue(failOn?: string) {
  const scheduled: Array<{ kind: string; id: string; runAt: Date }> = [];
  const queue: JobQueue = {
    driver: 'local',
    async schedule(kind, id, runAt) {
      if (id === failOn) throw new Error('redis is unreachable');
      scheduled.push({ kind, id, runAt });
    },
    async cancel() {},
    process() {},
    async ping() {},
    async close() {},
  };
  return { queue, scheduled };
}

const at = (ms: number) => new Date(ms);
const due = (...ids: string[]): DueJob[] =>
  ids.map((id, i) => ({ id, runAt: at(i), payload: { id } }));

describe('the reconciler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('schedules every due job of every source, from arrays, promises or async generators', async () => {
    const { queue, scheduled } = recordingQueue();
    const reconciler = createReconciler({ queue, logger, intervalMs: 1_000 });
    reconciler.register({ kind: 'cart.idle', due: () => due('c1', 'c2') });
    reconciler.register({ kind: 'message.send', due: async () => due('m1') });
    reconciler.register({
      kind: 'other',
      async *due() {
        yield* due('o1', 'o2');
      },
    });
    await expect(reconciler.run()).resolves.toEqual({ scheduled: 5, failedSources: [] });
    expect(scheduled.map((job) => `${job.kind}/${job.id}`)).toEqual([
      'cart.idle/c1',
      'cart.idle/c2',
      'message.send/m1',
      'other/o1',
      'other/o2',
    ]);
    expect(scheduled[1]?.runAt).toEqual(at(1));
  });

  it('reports a failing source and still runs the others', async () => {
    const { queue, scheduled } = recordingQueue('bad');
    const reconciler = createReconciler({ queue, logger, intervalMs: 1_000 });
    reconciler.register({
      kind: 'broken.query',
      due: async () => {
        throw new Error('database is down');
      },
    });
    reconciler.register({ kind: 'broken.schedule', due: () => due('ok1', 'bad', 'never') });
    reconciler.register({ kind: 'fine', due: () => due('f1') });
    await expect(reconciler.run()).resolves.toEqual({
      scheduled: 2,
      failedSources: ['broken.query', 'broken.schedule'],
    });
    expect(scheduled.map((job) => job.id)).toEqual(['ok1', 'f1']);
  });

  it('lets concurrent run() calls share one pass', async () => {
    const { queue, scheduled } = recordingQueue();
    const reconciler = createReconciler({ queue, logger, intervalMs: 1_000 });
    reconciler.register({ kind: 'cart.idle', due: async () => due('c1') });
    const [first, second] = await Promise.all([reconciler.run(), reconciler.run()]);
    expect(first).toBe(second);
    expect(scheduled).toHaveLength(1);
    await reconciler.run();
    expect(scheduled).toHaveLength(2);
  });

  it('runs at start, then every interval until stopped', async () => {
    vi.useFakeTimers();
    const { queue, scheduled } = recordingQueue();
    const reconciler = createReconciler({ queue, logger, intervalMs: 60_000 });
    reconciler.register({ kind: 'cart.idle', due: () => due('c1') });
    await reconciler.start();
    expect(scheduled).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(scheduled).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(scheduled).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(scheduled).toHaveLength(4);
    await reconciler.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(scheduled).toHaveLength(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a bad interval or kind', () => {
    const { queue } = recordingQueue();
    for (const intervalMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createReconciler({ queue, logger, intervalMs })).toThrow(RangeError);
    }
    const reconciler = createReconciler({ queue, logger, intervalMs: 1 });
    expect(() => reconciler.register({ kind: 'bad:kind', due: () => [] })).toThrow(TypeError);
  });
});
