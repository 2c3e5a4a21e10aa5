import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import type { Db } from './db/index.js';
import { partitionJob } from './db/partition-job.js';
import { abandonmentJobs } from './features/abandonment/index.js';
import { analyticsJobs } from './features/analytics/jobs.js';
import { messagingJobs } from './features/messaging/index.js';
import type { LivePublisher } from './plugins/live.js';
import { createReconciler, type JobQueue, type Reconciler } from './queue/index.js';

/** What a feature gets to register its job handlers and the reconcile sources behind them. */
export interface JobContext {
  db: Db;
  queue: JobQueue;
  reconciler: Reconciler;
  config: Config;
  logger: FastifyBaseLogger;
  /** Tells the admins watching a store what just happened (absent where no bus was given). */
  live?: LivePublisher;
}

/**
 * A feature's background work: `queue.process(kind, ...)` for each job kind it owns, and a
 * `reconciler.register(...)` source saying from Postgres which of those jobs should be armed.
 * It may return a function that releases what it opened (an SMTP pool), called after the queue
 * has stopped taking jobs.
 */
export type JobModule = (
  context: JobContext,
) => void | (() => Promise<void>) | Promise<void | (() => Promise<void>)>;

// Each feature that owns jobs adds its module here.
const jobModules: readonly JobModule[] = [
  partitionJob,
  abandonmentJobs,
  messagingJobs,
  analyticsJobs,
];

export interface JobRunner {
  reconciler: Reconciler;
  /** Stops the periodic reconcile passes; closing the queue then drains running handlers. */
  stop(): Promise<void>;
  /** Releases what the modules opened; call after the queue has closed. */
  release(): Promise<void>;
}

/**
 * Starts this process's share of the background work: every feature's handlers, then a first
 * reconcile pass re-arming whatever Postgres says is due but the queue does not hold.
 */
export async function startJobs(
  context: Omit<JobContext, 'reconciler'>,
  modules: readonly JobModule[] = jobModules,
): Promise<JobRunner> {
  const reconciler = createReconciler({
    queue: context.queue,
    logger: context.logger,
    intervalMs: context.config.reconcileIntervalMs,
  });
  const releases: (() => Promise<void>)[] = [];
  for (const register of modules) {
    const release = await register({ ...context, reconciler });
    if (release) releases.push(release);
  }
  const first = await reconciler.start();
  context.logger.info({ rearmed: first.scheduled, failed: first.failedSources }, 'jobs started');
  return {
    reconciler,
    stop: () => reconciler.stop(),
    async release() {
      for (const release of releases) await release();
    },
  };
}
