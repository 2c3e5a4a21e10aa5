import type { JobModule } from '../../jobs.js';
import { refreshRollup, storesToRefresh } from './rollup.js';

export const ANALYTICS_REFRESH_JOB = 'analytics.refresh';
/** Between background refreshes of the rollup. */
const EVERY_MS = 10_000;

/**
 * Keeps the analytics rollup close to the raw rows between admin reads, so a read seldom has
 * more than a few seconds of marks to work off. Each pass refreshes every store with marks,
 * skipping a store whose refresh another process is running. Reads refresh their own store
 * anyway, so this is about latency, not correctness.
 */
export const analyticsJobs: JobModule = ({ db, queue, reconciler, logger }) => {
  queue.process(ANALYTICS_REFRESH_JOB, async () => {
    try {
      for (const storeId of await storesToRefresh(db)) {
        await refreshRollup(db, storeId, { wait: false });
      }
    } catch (error) {
      logger.warn({ err: error }, 'analytics refresh failed; the next pass retries');
    }
    await queue.schedule(ANALYTICS_REFRESH_JOB, 'tick', new Date(Date.now() + EVERY_MS), {});
  });
  reconciler.register({
    kind: ANALYTICS_REFRESH_JOB,
    due: () => [{ id: 'tick', runAt: new Date(Date.now() + EVERY_MS), payload: {} }],
  });
};
