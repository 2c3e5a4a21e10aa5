import type { FastifyBaseLogger } from 'fastify';
import { createBullmqQueue } from './bullmq.js';
import { createLocalQueue } from './local.js';
import type { JobQueue } from './port.js';

export type { Job, JobHandler, JobPayload, JobQueue, ProcessOptions } from './port.js';
export {
  createReconciler,
  type DueJob,
  type ReconcileReport,
  type Reconciler,
  type ReconcilerOptions,
  type ReconcileSource,
} from './reconciler.js';

export interface QueueOptions {
  /** Redis URL: BullMQ when set, the in-process queue otherwise. */
  redisUrl: string | undefined;
  /** Key prefix, so several apps (or test suites) can share one Redis. */
  prefix?: string;
  logger: FastifyBaseLogger;
}

export const DEFAULT_QUEUE_PREFIX = 'winback';

export function createQueue({ redisUrl, prefix, logger }: QueueOptions): JobQueue {
  return redisUrl
    ? createBullmqQueue({ redisUrl, prefix: prefix ?? DEFAULT_QUEUE_PREFIX, logger })
    : createLocalQueue({ logger });
}
