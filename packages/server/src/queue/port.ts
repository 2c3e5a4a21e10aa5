/**
 * The narrow queue port every feature schedules through. Two adapters implement it behind one
 * contract test suite: `bullmq` (Redis; production and multi-node) and `local` (in-process,
 * single node; the embedded default).
 *
 * Postgres is the source of truth for what is due; the queue only wakes the right handler at the
 * right time. Handlers must therefore be safe to run twice, and a lost job is re-armed by the
 * reconciler from the database.
 */

/** Job payloads carry ids and small scalars, never personal data. */
export type JobPayload = Readonly<Record<string, string | number | boolean | null>>;

export interface Job<P extends JobPayload = JobPayload> {
  readonly kind: string;
  readonly id: string;
  readonly payload: P;
  /** 1 on the first run, 2 on the first retry, and so on. */
  readonly attempt: number;
  readonly runAt: Date;
}

export type JobHandler<P extends JobPayload = JobPayload> = (job: Job<P>) => Promise<void>;

export interface ProcessOptions {
  /** Jobs of this kind run at once in this process. Default 1. */
  concurrency?: number;
  /** Runs in all, including the first. Default 5. */
  attempts?: number;
  /** First retry delay; each later one doubles, with jitter. Default 1000 ms. */
  backoffMs?: number;
}

export interface JobQueue {
  readonly driver: 'bullmq' | 'local';
  /**
   * Arms job `kind`/`id` to run at `runAt` (at once if in the past). Scheduling an id that is
   * already pending replaces it: only the last schedule fires (debounce).
   */
  schedule<P extends JobPayload>(kind: string, id: string, runAt: Date, payload: P): Promise<void>;
  /** Removes a pending job; a no-op when there is none. A job already running finishes. */
  cancel(kind: string, id: string): Promise<void>;
  /** Starts running jobs of `kind` in this process. One handler per kind. */
  process<P extends JobPayload>(
    kind: string,
    handler: JobHandler<P>,
    options?: ProcessOptions,
  ): void;
  /** Resolves when the queue's backing service answers; rejects otherwise (readiness). */
  ping(): Promise<void>;
  /** Stops taking jobs, waits for running ones to finish, releases connections. */
  close(): Promise<void>;
}
