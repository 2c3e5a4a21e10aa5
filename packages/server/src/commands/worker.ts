import type { Config } from '../config.js';
import { createDb } from '../db/index.js';
import { UsageError } from '../errors.js';
import { startJobs } from '../jobs.js';
import { createLogger } from '../logger.js';
import { createLiveBus } from '../plugins/live.js';
import { createQueue } from '../queue/index.js';
import { stopOnSignal } from '../shutdown.js';

/** `winback worker`: runs the background jobs against the shared Postgres and Redis. */
export async function workerCommand(config: Config): Promise<void> {
  if (!config.databaseUrl) throw new UsageError('DATABASE_URL is required for `winback worker`');
  if (!config.redisUrl) {
    throw new UsageError(
      'REDIS_URL is required for `winback worker` (without Redis, `winback serve` runs the jobs itself)',
    );
  }
  const logger = createLogger(config);
  const db = createDb(config.databaseUrl, config.databasePoolMax);
  const queue = createQueue({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    logger: logger.child({ component: 'queue' }),
  });
  // Workers tell the admins watching live what they decided, through Redis like every node.
  const live = createLiveBus({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    logger: logger.child({ component: 'live' }),
  });
  const jobs = await startJobs({ db, queue, config, logger, live });
  stopOnSignal(
    async () => {
      await jobs.stop();
      await queue.close();
      await jobs.release();
      await live.close();
      await db.destroy();
    },
    { timeoutMs: config.shutdownTimeoutMs, logger },
  );
  logger.info('worker ready');
}
