import type { FastifyBaseLogger } from 'fastify';
import type { JobHandler, JobPayload, JobQueue, ProcessOptions } from './port.js';
import { type RetryPolicy, resolveRetryPolicy, retryDelayMs } from './retry.js';
import { isSameSchedule, validateJobId, validateKind, validateSchedule } from './schedule.js';

/**
 * The in-process queue: one timer per pending (kind, id), nothing persisted. Jobs are lost when
 * the process stops; the reconciler re-arms them from Postgres at the next start.
 */

/** setTimeout fires at once (with a warning) beyond 2^31-1 ms, about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** One `schedule` call. Its retries share it, so a newer schedule or a cancel stops them. */
interface Scheduled {
  readonly key: string;
  readonly kind: string;
  readonly id: string;
  readonly runAt: number;
  readonly payload: JobPayload;
}

/** One run of a schedule, waiting on its timer or for a free handler slot. */
interface Attempt {
  readonly scheduled: Scheduled;
  readonly number: number;
  readonly startAt: number;
  timer: NodeJS.Timeout | undefined;
}

interface Registration {
  readonly handler: JobHandler;
  readonly policy: RetryPolicy;
  running: number;
}

export interface LocalQueueOptions {
  logger: FastifyBaseLogger;
}

export function createLocalQueue({ logger }: LocalQueueOptions): JobQueue {
  /** The live schedule of each (kind, id): pending, running or between retries. */
  const latest = new Map<string, Scheduled>();
  /** The attempt armed for each (kind, id), if any. */
  const armed = new Map<string, Attempt>();
  /** Attempts that are due, per kind, waiting for a handler or a free slot (FIFO). */
  const due = new Map<string, Attempt[]>();
  const registrations = new Map<string, Registration>();
  const running = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;

  const keyOf = (kind: string, id: string) => `${kind}\u0000${id}`;

  function arm(attempt: Attempt): void {
    armed.set(attempt.scheduled.key, attempt);
    const wait = attempt.startAt - Date.now();
    if (wait <= 0) {
      attempt.timer = undefined;
      enqueue(attempt);
      return;
    }
    // Long waits are re-armed in chunks; each wake-up recomputes what is left.
    attempt.timer = setTimeout(() => arm(attempt), Math.min(wait, MAX_TIMER_MS));
    // A pending job alone must not keep the process alive; close() clears the rest.
    attempt.timer.unref();
  }

  function disarm(key: string): void {
    const attempt = armed.get(key);
    if (!attempt) return;
    armed.delete(key);
    clearTimeout(attempt.timer);
    const list = due.get(attempt.scheduled.kind);
    const index = list?.indexOf(attempt) ?? -1;
    if (list && index >= 0) list.splice(index, 1);
  }

  function enqueue(attempt: Attempt): void {
    const kind = attempt.scheduled.kind;
    const list = due.get(kind) ?? [];
    list.push(attempt);
    due.set(kind, list);
    drain(kind);
  }

  function drain(kind: string): void {
    const registration = registrations.get(kind);
    const list = due.get(kind);
    if (closing || !registration || !list) return;
    while (list.length > 0 && registration.running < registration.policy.concurrency) {
      const attempt = list.shift()!;
      armed.delete(attempt.scheduled.key);
      start(attempt, registration);
    }
  }

  function start(attempt: Attempt, registration: Registration): void {
    registration.running += 1;
    const run = execute(attempt, registration).finally(() => {
      registration.running -= 1;
      running.delete(run);
      drain(attempt.scheduled.kind);
    });
    running.add(run);
  }

  async function execute(attempt: Attempt, registration: Registration): Promise<void> {
    const { scheduled } = attempt;
    const { kind, id } = scheduled;
    try {
      await registration.handler({
        kind,
        id,
        payload: scheduled.payload,
        attempt: attempt.number,
        runAt: new Date(scheduled.runAt),
      });
    } catch (error) {
      retryOrGiveUp(attempt, registration.policy, error);
      return;
    }
    if (latest.get(scheduled.key) === scheduled) latest.delete(scheduled.key);
  }

  function retryOrGiveUp(attempt: Attempt, policy: RetryPolicy, error: unknown): void {
    const { scheduled } = attempt;
    const { kind, id } = scheduled;
    if (closing) {
      logger.warn({ kind, id, attempt: attempt.number, err: error }, 'job failed while closing');
      return;
    }
    // Superseded or cancelled while running: the newer schedule (if any) owns the id now.
    if (latest.get(scheduled.key) !== scheduled) return;
    if (attempt.number >= policy.attempts) {
      latest.delete(scheduled.key);
      logger.error({ kind, id, attempt: attempt.number, err: error }, 'job failed: giving up');
      return;
    }
    const delayMs = retryDelayMs(attempt.number, policy.backoffMs);
    logger.warn({ kind, id, attempt: attempt.number, delayMs, err: error }, 'job failed: retrying');
    arm({ scheduled, number: attempt.number + 1, startAt: Date.now() + delayMs, timer: undefined });
  }

  function assertOpen(): void {
    if (closing) throw new Error('the queue is closed');
  }

  return {
    driver: 'local',

    async schedule(kind, id, runAt, payload) {
      const frozen = validateSchedule(kind, id, runAt, payload);
      assertOpen();
      const key = keyOf(kind, id);
      const request = { runAt: runAt.getTime(), payload: frozen };
      const current = latest.get(key);
      // The reconciler re-arms what is already armed: that must neither delay nor duplicate it.
      if (current && isSameSchedule(current, request)) return;
      disarm(key);
      const scheduled: Scheduled = { key, kind, id, ...request };
      latest.set(key, scheduled);
      arm({ scheduled, number: 1, startAt: scheduled.runAt, timer: undefined });
    },

    async cancel(kind, id) {
      validateKind(kind);
      validateJobId(id);
      assertOpen();
      const key = keyOf(kind, id);
      latest.delete(key);
      disarm(key);
    },

    process<P extends JobPayload>(kind: string, handler: JobHandler<P>, options?: ProcessOptions) {
      validateKind(kind);
      assertOpen();
      if (registrations.has(kind)) throw new Error(`a handler for ${kind} jobs is already set`);
      registrations.set(kind, {
        // The payload was validated when scheduled; the handler's type is the caller's promise.
        handler: handler as unknown as JobHandler,
        policy: resolveRetryPolicy(options),
        running: 0,
      });
      drain(kind);
    },

    async ping() {
      assertOpen();
    },

    close() {
      closing ??= (async () => {
        for (const attempt of armed.values()) clearTimeout(attempt.timer);
        armed.clear();
        due.clear();
        latest.clear();
        while (running.size > 0) await Promise.allSettled([...running]);
      })();
      return closing;
    },
  };
}
