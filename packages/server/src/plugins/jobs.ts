import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { startJobs } from '../jobs.js';

/**
 * Runs the background jobs inside this server process: always with the in-process queue (there
 * is no other process to run them), and with BullMQ only when asked (a single-node deployment
 * without separate `winback worker` processes).
 */
export const jobsPlugin = fp<{ config: Config }>(
  async (app, { config }) => {
    const jobs = await startJobs({
      db: app.db,
      queue: app.queue,
      config,
      logger: app.log.child({ component: 'jobs' }),
      live: app.live,
    });
    // preClose runs before every onClose, so no reconcile pass schedules into a closed queue.
    app.addHook('preClose', () => jobs.stop());
    // Each module's release waits for its own running handlers before closing what they use.
    app.addHook('onClose', () => jobs.release());
  },
  { name: 'winback-jobs', dependencies: ['winback-db', 'winback-queue', 'winback-live'] },
);
