import type { JobModule } from '../jobs.js';
import { ensureEventPartitions } from './partitions.js';

export const PARTITION_JOB = 'db.partitions';

/** The next midnight UTC after `now`: a stable time, so every reconcile pass re-arms the same job. */
export function nextMidnightUtc(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/**
 * Keeps the monthly events partitions two months ahead, once a day. `winback migrate` makes the
 * first ones; this keeps a long-running deployment from ever writing a month into the default
 * partition.
 */
export const partitionJob: JobModule = ({ db, queue, reconciler, logger }) => {
  queue.process(PARTITION_JOB, async () => {
    const made = await ensureEventPartitions(db);
    logger.debug({ partitions: made }, 'events partitions ensured');
    await queue.schedule(PARTITION_JOB, 'daily', nextMidnightUtc(new Date()), {});
  });
  reconciler.register({
    kind: PARTITION_JOB,
    due: () => [{ id: 'daily', runAt: nextMidnightUtc(new Date()), payload: {} }],
  });
};
