// Straight from the module: the package entry pulls in the whole app, and the queue contract
// must hold whatever state the rest of the server is in.
import {
  createLogger,
  createQueue,
  createReconciler,
  type Job,
  type JobPayload,
  type JobQueue,
} from '@winback/server';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { needs, uniqueName } from './helpers/services.js';

// One contract, two adapters. Tests wait for outcomes (vi.waitFor has a generous give-up bound)
// and never assert how long anything took.

const redisUrl = needs('redis');
const logger = createLogger({
  logLevel: (process.env.LOG_LEVEL as 'silent' | undefined) ?? 'silent',
  logPretty: false,
});
const runPrefix = uniqueName('wbq');

/** Long enough for BullMQ to promote and deliver a delayed job many times over. */
const SETTLE_MS = 600;
const WAIT = { timeout: 15_000, interval: 10 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const inMs = (ms: number) => new Date(Date.now() + ms);

/** A promise whose resolve is handed out, to hold a handler mid-run. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

interface Adapter {
  readonly driver: 'local' | 'bullmq';
  readonly skip: boolean;
  open(prefix: string): JobQueue;
  /**
   * Makes the queue lose every armed job, as a Redis flush or a restart would, and returns the
   * queue to carry on with.
   */
  loseJobs(queue: JobQueue, prefix: string): Promise<JobQueue>;
}

async function deleteKeys(pattern: string): Promise<void> {
  const redis = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

const adapters: Adapter[] = [
  {
    driver: 'local',
    skip: false,
    open: () => createQueue({ redisUrl: undefined, logger }),
    // The in-process queue keeps jobs in memory only: a restart is what loses them.
    async loseJobs(queue) {
      await queue.close();
      return createQueue({ redisUrl: undefined, logger });
    },
  },
  {
    driver: 'bullmq',
    skip: !redisUrl,
    open: (prefix) => createQueue({ redisUrl, prefix, logger }),
    // A flush of everything under this prefix while the queue stays up.
    async loseJobs(queue, prefix) {
      await deleteKeys(`${prefix}:*`);
      return queue;
    },
  },
];

afterAll(async () => {
  if (redisUrl) await deleteKeys(`${runPrefix}*`);
});

describe.each(adapters)('the $driver queue', (adapter) => {
  const opened: JobQueue[] = [];
  let counter = 0;

  /** A fresh queue under its own key prefix, closed after the test. */
  function openQueue(): { queue: JobQueue; prefix: string } {
    counter += 1;
    const prefix = `${runPrefix}_${adapter.driver}_${counter}`;
    const queue = adapter.open(prefix);
    opened.push(queue);
    return { queue, prefix };
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((queue) => queue.close()));
  });

  function record(queue: JobQueue, kind: string, options?: Parameters<JobQueue['process']>[2]) {
    const seen: Job[] = [];
    queue.process(
      kind,
      async (job) => {
        seen.push(job);
      },
      options,
    );
    return seen;
  }

  describe.skipIf(adapter.skip)('contract', () => {
    it('names its driver and answers ping', async () => {
      const { queue } = openQueue();
      expect(queue.driver).toBe(adapter.driver);
      await expect(queue.ping()).resolves.toBeUndefined();
    });

    it('runs a job due soon and an overdue one, with their ids, payloads and times', async () => {
      const { queue } = openQueue();
      const seen = record(queue, 'reminder');
      const soon = inMs(150);
      const overdue = new Date(Date.now() - 60_000);
      await queue.schedule('reminder', 'soon', soon, { storeId: 's1', step: 2 });
      await queue.schedule('reminder', 'overdue', overdue, { storeId: 's1', urgent: true });

      await vi.waitFor(() => expect(seen).toHaveLength(2), WAIT);
      const byId = Object.fromEntries(seen.map((job) => [job.id, job]));
      expect(byId.soon).toMatchObject({
        kind: 'reminder',
        payload: { storeId: 's1', step: 2 },
        attempt: 1,
        runAt: soon,
      });
      expect(byId.overdue).toMatchObject({
        kind: 'reminder',
        payload: { storeId: 's1', urgent: true },
        attempt: 1,
        runAt: overdue,
      });
    });

    it('takes ids of any shape, including colons and digits only', async () => {
      const { queue } = openQueue();
      const seen = record(queue, 'odd.ids');
      const ids = ['cart:42', '12345', 'a|b/c?d#e%20f', 'ünïcödé 🛒', ' spaced '];
      for (const id of ids) await queue.schedule('odd.ids', id, inMs(20), { id });
      await vi.waitFor(() => expect(seen).toHaveLength(ids.length), WAIT);
      expect(seen.map((job) => job.id).sort()).toEqual([...ids].sort());
      for (const job of seen) expect(job.payload).toEqual({ id: job.id });
    });

    it('re-scheduling a pending id keeps only the last schedule, which runs exactly once', async () => {
      const { queue } = openQueue();
      const seen = record(queue, 'cart.idle');
      await queue.schedule('cart.idle', 'cart-1', inMs(300), { version: 1 });
      await queue.schedule('cart.idle', 'cart-1', inMs(200), { version: 2 });
      await queue.schedule('cart.idle', 'cart-1', inMs(250), { version: 3 });
      // A sentinel shows the queue was delivering while we waited for stray versions.
      await queue.schedule('cart.idle', 'sentinel', inMs(400), { version: 0 });

      await vi.waitFor(() => expect(seen.map((job) => job.id)).toContain('sentinel'), WAIT);
      await sleep(SETTLE_MS);
      expect(seen.filter((job) => job.id === 'cart-1').map((job) => job.payload)).toEqual([
        { version: 3 },
      ]);
    });

    it('cancel removes a pending job; cancelling nothing is a no-op', async () => {
      const { queue } = openQueue();
      const seen = record(queue, 'message.send');
      await queue.schedule('message.send', 'cancelled', inMs(150), { n: 1 });
      await queue.schedule('message.send', 'kept', inMs(200), { n: 2 });
      await queue.cancel('message.send', 'cancelled');
      await queue.cancel('message.send', 'never-scheduled');
      await queue.cancel('other.kind', 'cancelled');

      await vi.waitFor(() => expect(seen.map((job) => job.id)).toEqual(['kept']), WAIT);
      await sleep(SETTLE_MS);
      expect(seen.map((job) => job.id)).toEqual(['kept']);
    });

    it('a job can be scheduled again after a cancel', async () => {
      const { queue } = openQueue();
      const seen = record(queue, 'message.send');
      await queue.schedule('message.send', 'm1', inMs(200), { n: 1 });
      await queue.cancel('message.send', 'm1');
      await queue.schedule('message.send', 'm1', inMs(50), { n: 2 });
      await vi.waitFor(() => expect(seen).toHaveLength(1), WAIT);
      await sleep(SETTLE_MS);
      expect(seen.map((job) => job.payload)).toEqual([{ n: 2 }]);
    });

    it('retries a failing job with a growing attempt number until it succeeds', async () => {
      const { queue } = openQueue();
      const attempts: Job[] = [];
      queue.process(
        'flaky',
        async (job) => {
          attempts.push(job);
          if (job.attempt < 3) throw new Error(`provider timeout on attempt ${job.attempt}`);
        },
        { attempts: 5, backoffMs: 20 },
      );
      const runAt = inMs(10);
      await queue.schedule('flaky', 'f1', runAt, { messageId: 'm1' });

      await vi.waitFor(() => expect(attempts).toHaveLength(3), WAIT);
      await sleep(SETTLE_MS);
      expect(attempts.map((job) => job.attempt)).toEqual([1, 2, 3]);
      for (const job of attempts) {
        expect(job).toMatchObject({ id: 'f1', payload: { messageId: 'm1' }, runAt });
      }
    });

    it('gives up after `attempts` runs, and the id can be scheduled again afterwards', async () => {
      const { queue } = openQueue();
      const attempts: Job[] = [];
      queue.process(
        'doomed',
        async (job) => {
          attempts.push(job);
          if (job.payload.fail) throw new Error('permanently broken');
        },
        { attempts: 3, backoffMs: 10 },
      );
      await queue.schedule('doomed', 'd1', inMs(0), { fail: true });
      await vi.waitFor(() => expect(attempts).toHaveLength(3), WAIT);
      await sleep(SETTLE_MS);
      expect(attempts.map((job) => job.attempt)).toEqual([1, 2, 3]);

      await queue.schedule('doomed', 'd1', inMs(0), { fail: false });
      await vi.waitFor(() => expect(attempts).toHaveLength(4), WAIT);
      expect(attempts[3]).toMatchObject({ id: 'd1', attempt: 1, payload: { fail: false } });
    });

    it('cancelling a running job lets it finish but stops its retries', async () => {
      const { queue } = openQueue();
      const release = gate();
      const attempts: Job[] = [];
      let finished = 0;
      queue.process(
        'cancel.running',
        async (job) => {
          attempts.push(job);
          await release.opened;
          finished += 1;
          throw new Error('fails after the cancel');
        },
        { attempts: 5, backoffMs: 10 },
      );
      await queue.schedule('cancel.running', 'c1', inMs(0), {});
      await vi.waitFor(() => expect(attempts).toHaveLength(1), WAIT);
      await queue.cancel('cancel.running', 'c1');
      release.open();
      await vi.waitFor(() => expect(finished).toBe(1), WAIT);
      await sleep(SETTLE_MS);
      expect(attempts.map((job) => job.attempt)).toEqual([1]);
    });

    it('a new schedule replaces a retry waiting out its backoff', async () => {
      const { queue } = openQueue();
      const attempts: Job[] = [];
      queue.process(
        'replace.retry',
        async (job) => {
          attempts.push(job);
          if (job.payload.version === 1) throw new Error('first version always fails');
        },
        // Long enough that the retry is still waiting when the new schedule arrives.
        { attempts: 5, backoffMs: 60_000 },
      );
      await queue.schedule('replace.retry', 'r1', inMs(0), { version: 1 });
      await vi.waitFor(() => expect(attempts).toHaveLength(1), WAIT);
      await queue.schedule('replace.retry', 'r1', inMs(0), { version: 2 });
      await vi.waitFor(() => expect(attempts).toHaveLength(2), WAIT);
      await sleep(SETTLE_MS);
      expect(attempts.map((job) => [job.payload.version, job.attempt])).toEqual([
        [1, 1],
        [2, 1],
      ]);
    });

    it('delivers a job scheduled again after it ran; an idempotent handler dedupes it', async () => {
      const { queue } = openQueue();
      const deliveries: Job[] = [];
      const sent = new Map<string, number>(); // the effect, keyed by what must happen once
      queue.process('message.send', async (job) => {
        deliveries.push(job);
        const ledgerId = String(job.payload.ledgerId);
        if (!sent.has(ledgerId)) sent.set(ledgerId, job.attempt);
      });
      const runAt = inMs(20);
      await queue.schedule('message.send', 'ledger-7', runAt, { ledgerId: 'ledger-7' });
      await vi.waitFor(() => expect(deliveries).toHaveLength(1), WAIT);

      // Same id, time and payload once more, e.g. a reconcile pass that raced the first run.
      await queue.schedule('message.send', 'ledger-7', runAt, { ledgerId: 'ledger-7' });
      await vi.waitFor(() => expect(deliveries).toHaveLength(2), WAIT);
      expect(deliveries[1]).toMatchObject({
        id: 'ledger-7',
        runAt,
        payload: { ledgerId: 'ledger-7' },
      });
      expect([...sent.keys()]).toEqual(['ledger-7']);
    });

    it('runs jobs scheduled before a handler was registered', async () => {
      const { queue } = openQueue();
      await queue.schedule('late.handler', 'past', new Date(Date.now() - 1_000), { n: 1 });
      await queue.schedule('late.handler', 'soon', inMs(50), { n: 2 });
      await sleep(200);
      const seen = record(queue, 'late.handler');
      await vi.waitFor(() => expect(seen).toHaveLength(2), WAIT);
      expect(seen.map((job) => job.id).sort()).toEqual(['past', 'soon']);
    });

    it('runs no more jobs at once than `concurrency`', async () => {
      const { queue } = openQueue();
      const release = gate();
      let running = 0;
      let mostAtOnce = 0;
      const started: string[] = [];
      queue.process(
        'bounded',
        async (job) => {
          started.push(job.id);
          running += 1;
          mostAtOnce = Math.max(mostAtOnce, running);
          await release.opened;
          running -= 1;
        },
        { concurrency: 2 },
      );
      for (const id of ['a', 'b', 'c', 'd']) await queue.schedule('bounded', id, inMs(0), {});
      await vi.waitFor(() => expect(started).toHaveLength(2), WAIT);
      await sleep(SETTLE_MS);
      expect(started).toHaveLength(2);
      release.open();
      await vi.waitFor(() => expect(started).toHaveLength(4), WAIT);
      expect(mostAtOnce).toBe(2);
    });

    it('close waits for running handlers and starts nothing new', async () => {
      const { queue } = openQueue();
      const release = gate();
      const events: string[] = [];
      queue.process('drain', async (job) => {
        events.push(`start ${job.id}`);
        await release.opened;
        events.push(`finish ${job.id}`);
      });
      await queue.schedule('drain', 'first', inMs(0), {});
      await queue.schedule('drain', 'second', inMs(0), {});
      await vi.waitFor(() => expect(events).toEqual(['start first']), WAIT);

      let closed = false;
      const closing = queue.close().then(() => {
        closed = true;
        events.push('closed');
      });
      await sleep(SETTLE_MS);
      expect(closed).toBe(false);
      release.open();
      await closing;
      await sleep(SETTLE_MS);
      expect(events).toEqual(['start first', 'finish first', 'closed']);
      await expect(queue.schedule('drain', 'third', inMs(0), {})).rejects.toThrow(/closed/);
    });

    it('the reconciler re-arms a job the queue lost, and it runs once', async () => {
      const { queue: before, prefix } = openQueue();
      const runAt = inMs(100);
      const due = [{ id: 'cart-9', runAt, payload: { storeId: 's9' } }];
      await before.schedule('cart.idle', 'cart-9', runAt, { storeId: 's9' });

      const queue = await adapter.loseJobs(before, prefix);
      if (queue !== before) opened.push(queue);
      const seen = record(queue, 'cart.idle');
      await sleep(SETTLE_MS);
      expect(seen).toHaveLength(0); // really lost: nothing fires without the reconciler

      const reconciler = createReconciler({ queue, logger, intervalMs: 60_000 });
      reconciler.register({ kind: 'cart.idle', due: async () => due });
      await expect(reconciler.run()).resolves.toEqual({ scheduled: 1, failedSources: [] });
      await vi.waitFor(() => expect(seen).toHaveLength(1), WAIT);
      await sleep(SETTLE_MS);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ id: 'cart-9', runAt, payload: { storeId: 's9' } });
    });

    it('re-arming a pending job neither duplicates nor replaces it', async () => {
      const { queue } = openQueue();
      const runAt = inMs(300);
      const payload: JobPayload = { storeId: 's1' };
      await queue.schedule('cart.idle', 'cart-1', runAt, payload);

      const reconciler = createReconciler({ queue, logger, intervalMs: 60_000 });
      reconciler.register({
        kind: 'cart.idle',
        async *due() {
          yield { id: 'cart-1', runAt: new Date(runAt), payload: { ...payload } };
        },
      });
      await reconciler.run();
      await Promise.all([reconciler.run(), reconciler.run()]);
      await queue.schedule('cart.idle', 'cart-1', new Date(runAt), { storeId: 's1' });

      const seen = record(queue, 'cart.idle');
      await vi.waitFor(() => expect(seen).toHaveLength(1), WAIT);
      await sleep(SETTLE_MS);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ id: 'cart-1', runAt, payload, attempt: 1 });
    });

    it('re-arming a job while it runs does not run it again', async () => {
      const { queue } = openQueue();
      const release = gate();
      const seen: Job[] = [];
      queue.process('cart.idle', async (job) => {
        seen.push(job);
        await release.opened;
      });
      const runAt = inMs(0);
      await queue.schedule('cart.idle', 'cart-2', runAt, { storeId: 's1' });
      await vi.waitFor(() => expect(seen).toHaveLength(1), WAIT);

      const reconciler = createReconciler({ queue, logger, intervalMs: 60_000 });
      reconciler.register({
        kind: 'cart.idle',
        due: () => [{ id: 'cart-2', runAt, payload: { storeId: 's1' } }],
      });
      await reconciler.run();
      release.open();
      await sleep(SETTLE_MS);
      expect(seen).toHaveLength(1);
    });

    it('re-scheduling a running job with a new time runs it again after', async () => {
      const { queue } = openQueue();
      const release = gate();
      const seen: Job[] = [];
      queue.process('cart.idle', async (job) => {
        seen.push(job);
        if (job.payload.version === 1) await release.opened;
      });
      await queue.schedule('cart.idle', 'cart-3', inMs(0), { version: 1 });
      await vi.waitFor(() => expect(seen).toHaveLength(1), WAIT);
      await queue.schedule('cart.idle', 'cart-3', inMs(50), { version: 2 });
      release.open();
      await vi.waitFor(() => expect(seen).toHaveLength(2), WAIT);
      await sleep(SETTLE_MS);
      expect(seen.map((job) => job.payload.version)).toEqual([1, 2]);
    });

    it('refuses bad arguments before touching the backing store', async () => {
      const { queue } = openQueue();
      await expect(queue.schedule('bad:kind', 'x', inMs(0), {})).rejects.toThrow(TypeError);
      await expect(queue.schedule('ok', '', inMs(0), {})).rejects.toThrow(TypeError);
      await expect(queue.schedule('ok', 'x', new Date(Number.NaN), {})).rejects.toThrow(TypeError);
      await expect(
        queue.schedule('ok', 'x', inMs(0), { n: Number.POSITIVE_INFINITY }),
      ).rejects.toThrow(TypeError);
      await expect(
        queue.schedule('ok', 'x', inMs(0), { nested: {} as unknown as string }),
      ).rejects.toThrow(TypeError);
      expect(() => queue.process('ok', async () => {}, { attempts: 0 })).toThrow(RangeError);
      queue.process('ok', async () => {});
      expect(() => queue.process('ok', async () => {})).toThrow(/already/);
    });
  });
});
