import { randomUUID } from 'node:crypto';
import { type Job as BullJob, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import type { JobHandler, JobPayload, JobQueue, ProcessOptions } from './port.js';
import { bullmqJobId, latestKey, queueName, validatePrefix } from './redis-keys.js';
import { resolveRetryPolicy, retryDelayMs } from './retry.js';
import { isSameSchedule, validateJobId, validateKind, validateSchedule } from './schedule.js';

/**
 * The Redis queue (BullMQ), for production and several nodes.
 *
 * Debounce without races: every `schedule` adds a BullMQ job with a fresh id (a generation) and
 * records it as the latest for (kind, id) under `latestKey`. A worker runs a job only while it is
 * still the latest; older generations that could not be removed (already running, or added by a
 * concurrent schedule on another node) become no-ops when they fire. `cancel` deletes the record,
 * which turns the pending job and any retries of a running one into no-ops as well.
 */

/** What a BullMQ job carries: the caller's id and time, and the payload (ids only). */
interface StoredJob {
  readonly id: string;
  readonly runAt: number;
  readonly payload: JobPayload;
}

export interface BullmqQueueOptions {
  redisUrl: string;
  prefix: string;
  logger: FastifyBaseLogger;
}

// Workers decide when to stop retrying (their own `attempts`, see `process`); the job only needs
// a ceiling BullMQ will never reach first.
const ATTEMPTS_CEILING = 10_000;
const BACKOFF_TYPE = 'winback-jittered-exponential';
// A latest-record outlives its job's due time by this much, so a record whose job vanished
// (a flush, a crash between two commands) does not stay in Redis forever.
const LATEST_GRACE_MS = 30 * 24 * 60 * 60 * 1_000;
// Calls made in the first moments after start-up wait this long (at most, counted from
// creation) for the first connection; any later call made while Redis is down fails at once.
const FIRST_CONNECT_WAIT_MS = 5_000;
// Finished jobs are kept for a while to help debugging, bounded in count and age.
const KEEP_COMPLETED = { age: 60 * 60, count: 1_000 };
const KEEP_FAILED = { age: 7 * 24 * 60 * 60, count: 10_000 };

// Deletes the latest-record only if it still names this job: a newer schedule keeps its own.
const FORGET_IF_LATEST = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export function createBullmqQueue({ redisUrl, prefix, logger }: BullmqQueueOptions): JobQueue {
  validatePrefix(prefix);

  // API calls schedule through this one: it must fail fast when Redis is down, never queue
  // commands offline or retry them while a request waits.
  const producer = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: FIRST_CONNECT_WAIT_MS,
    commandTimeout: 5_000,
  });
  // Settles with the first connection, or `false` once the start-up grace is over.
  const firstConnect = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), FIRST_CONNECT_WAIT_MS);
    timer.unref();
    producer.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  let redisDown = false;
  producer.on('ready', () => {
    if (redisDown) logger.info('redis reachable again');
    redisDown = false;
  });
  producer.on('error', (error: Error) => {
    if (redisDown) return;
    redisDown = true;
    logger.warn({ err: error }, 'redis unreachable: scheduling fails until it is back');
  });

  // Workers wait out a Redis outage instead (BullMQ requires maxRetriesPerRequest: null). Opened
  // on the first `process`, so nodes that only schedule hold a single connection.
  let consumer: Redis | undefined;
  let stopping = false;
  const consumerConnection = (): Redis => {
    if (!consumer) {
      consumer = new Redis(redisUrl, {
        maxRetriesPerRequest: null,
        // Once closing, a failed reconnect ends the connection, which fails the commands
        // BullMQ queued during an outage instead of leaving close() waiting for Redis forever.
        retryStrategy: (times) => (stopping ? null : Math.min(times * 50, 2_000)),
      });
      consumer.on('error', (error: Error) => logger.debug({ err: error }, 'worker redis error'));
    }
    return consumer;
  };

  const queues = new Map<string, Promise<Queue<StoredJob>>>();
  const workers = new Map<string, Worker<StoredJob>>();
  /** Handler calls in progress, which close() waits for whatever state Redis is in. */
  const handling = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  async function producerReady(): Promise<void> {
    if (closing) throw new Error('the queue is closed');
    const isReady = () => producer.status === 'ready';
    if (isReady()) return;
    // Only the first connection is waited for; later outages fail at once.
    if (!(await firstConnect) || !isReady()) throw new Error('redis is unreachable');
  }

  /** Calls a handler and remembers it until it settles, so close() can wait for it. */
  function tracked(call: () => Promise<void>): Promise<void> {
    // The async wrapper turns a handler that throws before returning a promise into a rejection.
    const handled = (async () => call())();
    const settled: Promise<unknown> = handled.then(
      () => handling.delete(settled),
      () => handling.delete(settled),
    );
    handling.add(settled);
    return handled;
  }

  /** The producer-side BullMQ queue of a kind, created once the connection is ready. */
  function queueFor(kind: string): Promise<Queue<StoredJob>> {
    const existing = queues.get(kind);
    if (existing) return existing;
    // skipWaitingForReady: BullMQ would otherwise wait for Redis without bound on first use.
    const queue = new Queue<StoredJob>(queueName(kind), {
      connection: producer,
      prefix,
      skipWaitingForReady: true,
    });
    queue.on('error', (error) => logger.debug({ kind, err: error }, 'queue redis error'));
    const ready = queue.waitUntilReady().then(
      () => queue,
      async (error: unknown) => {
        // A queue whose first connection failed stays broken: forget it, retry on next use.
        queues.delete(kind);
        await queue.close().catch(() => {});
        throw error;
      },
    );
    queues.set(kind, ready);
    return ready;
  }

  return {
    driver: 'bullmq',

    async schedule(kind, id, runAt, payload) {
      const frozen = validateSchedule(kind, id, runAt, payload);
      await producerReady();
      const queue = await queueFor(kind);
      const key = latestKey(prefix, kind, id);
      const request: StoredJob = { id, runAt: runAt.getTime(), payload: frozen };

      // The reconciler re-arms what is already armed: that must neither delay nor duplicate it.
      const latestJobId = await producer.get(key);
      if (latestJobId) {
        const current = await queue.getJob(latestJobId);
        if (current && current.finishedOn === undefined && isSameSchedule(current.data, request)) {
          return;
        }
      }

      const jobId = bullmqJobId(id, randomUUID());
      const delay = Math.max(0, request.runAt - Date.now());
      // Recorded before the job exists, so a worker that picks it up at once already sees it
      // as the latest.
      const replaced = await producer.set(key, jobId, 'PX', delay + LATEST_GRACE_MS, 'GET');
      // Fails (returns 0) while that job is running: it finishes, and the new one still runs.
      if (replaced) await queue.remove(replaced);
      await queue.add(kind, request, {
        jobId,
        delay,
        attempts: ATTEMPTS_CEILING,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: KEEP_COMPLETED,
        removeOnFail: KEEP_FAILED,
      });
    },

    async cancel(kind, id) {
      validateKind(kind);
      validateJobId(id);
      await producerReady();
      const queue = await queueFor(kind);
      const latestJobId = await producer.getdel(latestKey(prefix, kind, id));
      if (latestJobId) await queue.remove(latestJobId);
    },

    process<P extends JobPayload>(kind: string, handler: JobHandler<P>, options?: ProcessOptions) {
      validateKind(kind);
      if (closing) throw new Error('the queue is closed');
      if (workers.has(kind)) throw new Error(`a handler for ${kind} jobs is already set`);
      const policy = resolveRetryPolicy(options);
      const connection = consumerConnection();

      const run = async (job: BullJob<StoredJob>): Promise<void> => {
        const { id, runAt, payload } = job.data;
        const key = latestKey(prefix, kind, id);
        if ((await connection.get(key)) !== job.id) {
          logger.debug({ kind, id }, 'job superseded or cancelled: skipped');
          return;
        }
        const attempt = job.attemptsMade + 1;
        try {
          await tracked(() =>
            handler({ kind, id, payload: payload as P, attempt, runAt: new Date(runAt) }),
          );
        } catch (error) {
          if (attempt < policy.attempts) {
            logger.warn({ kind, id, attempt, err: error }, 'job failed: retrying');
            throw error;
          }
          await connection.eval(FORGET_IF_LATEST, 1, key, job.id);
          logger.error({ kind, id, attempt, err: error }, 'job failed: giving up');
          throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
        }
        await connection.eval(FORGET_IF_LATEST, 1, key, job.id);
      };

      const worker = new Worker<StoredJob>(queueName(kind), run, {
        connection,
        prefix,
        concurrency: policy.concurrency,
        settings: {
          // BullMQ passes the attempts made so far, 1 after the first failure: retry number n.
          backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade, policy.backoffMs),
        },
      });
      worker.on('error', (error) => {
        // An outage is logged once by the producer; repeated reconnect errors are noise.
        const level = connection.status === 'ready' ? 'warn' : 'debug';
        logger[level]({ kind, err: error }, 'queue worker error');
      });
      workers.set(kind, worker);
    },

    async ping() {
      await producerReady();
      await producer.ping();
    },

    close() {
      closing ??= (async () => {
        // Workers first: they stop fetching, and nothing new starts meanwhile.
        const workersClosed = Promise.allSettled([...workers.values()].map((w) => w.close()));
        while (handling.size > 0) await Promise.allSettled([...handling]);
        // BullMQ's close also waits for its own Redis commands (fetching, marking jobs done),
        // which would wait out an outage forever. With no handler left running, giving up on
        // Redis costs nothing: a job not marked done is picked up again by the stalled check.
        stopping = true;
        await Promise.race([workersClosed, consumer ? unreachable(consumer) : workersClosed]);
        const opened = await Promise.allSettled([...queues.values()]);
        await Promise.allSettled(
          opened.map((result) => (result.status === 'fulfilled' ? result.value.close() : null)),
        );
        await Promise.allSettled([quit(producer), consumer ? quit(consumer) : null]);
      })();
      return closing;
    },
  };
}

/** Resolves once `redis` has no usable connection (at once if it has none now). */
function unreachable(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('close', () => resolve()));
}

async function quit(redis: Redis): Promise<void> {
  // QUIT lets pending replies arrive; a connection that is down has nothing to wait for.
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    redis.disconnect();
  }
}
