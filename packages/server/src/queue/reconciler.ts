import type { FastifyBaseLogger } from 'fastify';
import type { JobPayload, JobQueue } from './port.js';
import { validateKind } from './schedule.js';

/**
 * Postgres is the source of truth for what is due; the queue only holds timers. The reconciler
 * asks each registered source for the jobs the database says should be armed and schedules them
 * again, at start-up and then periodically, so a Redis flush, a restart of the in-process queue
 * or a schedule that failed while Redis was down loses nothing. Scheduling an already-armed job
 * with the same time and payload is a no-op in both adapters, which is what makes this safe.
 */

export interface DueJob<P extends JobPayload = JobPayload> {
  readonly id: string;
  readonly runAt: Date;
  readonly payload: P;
}

/**
 * A feature's view of its own jobs, e.g. carts with `idle_due_at` set, or send-ledger rows still
 * `scheduled`.
 *
 * @example
 *   reconciler.register({
 *     kind: 'cart.idle',
 *     async *due() {
 *       for (const cart of await listIdleDue(db)) {
 *         yield { id: cart.id, runAt: cart.idle_due_at, payload: { storeId: cart.store_id } };
 *       }
 *     },
 *   });
 */
export interface ReconcileSource<P extends JobPayload = JobPayload> {
  readonly kind: string;
  /** Every job of `kind` that should be armed now, overdue and future alike. */
  due(): AsyncIterable<DueJob<P>> | Iterable<DueJob<P>> | Promise<Iterable<DueJob<P>>>;
}

export interface ReconcileReport {
  /** Jobs handed to `schedule` (most of them usually already armed, so no-ops). */
  readonly scheduled: number;
  /** Sources that failed part-way; the next run tries them again. */
  readonly failedSources: readonly string[];
}

export interface Reconciler {
  register<P extends JobPayload>(source: ReconcileSource<P>): void;
  /** One pass over every source. Concurrent calls share the pass in progress. */
  run(): Promise<ReconcileReport>;
  /** Runs a pass now and then every `intervalMs`; resolves with the first pass. */
  start(): Promise<ReconcileReport>;
  /** Stops the periodic passes and waits for one in progress. */
  stop(): Promise<void>;
}

export interface ReconcilerOptions {
  queue: JobQueue;
  logger: FastifyBaseLogger;
  /** Between periodic passes, e.g. `config.reconcileIntervalMs`. */
  intervalMs: number;
}

export function createReconciler({ queue, logger, intervalMs }: ReconcilerOptions): Reconciler {
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`intervalMs must be a positive number (got ${intervalMs})`);
  }
  const sources: ReconcileSource[] = [];
  let pass: Promise<ReconcileReport> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function runPass(): Promise<ReconcileReport> {
    let scheduled = 0;
    const failedSources: string[] = [];
    for (const source of sources) {
      try {
        // One job at a time: a pass is background work and must not crowd out live scheduling.
        for await (const job of await source.due()) {
          await queue.schedule(source.kind, job.id, job.runAt, job.payload);
          scheduled += 1;
        }
      } catch (error) {
        // The rest of this source waits for the next pass; other sources still run now.
        failedSources.push(source.kind);
        logger.warn({ kind: source.kind, err: error }, 'reconcile failed for this kind');
      }
    }
    logger.debug({ scheduled, failedSources }, 'reconciled queue with the database');
    return { scheduled, failedSources };
  }

  const run = (): Promise<ReconcileReport> => {
    pass ??= runPass().finally(() => {
      pass = undefined;
    });
    return pass;
  };

  return {
    register(source) {
      validateKind(source.kind);
      sources.push(source);
    },
    run,
    start() {
      if (!timer) {
        timer = setInterval(() => void run(), intervalMs);
        // The periodic pass is housekeeping: it must not hold the process open on shutdown.
        timer.unref();
      }
      return run();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await pass;
    },
  };
}
