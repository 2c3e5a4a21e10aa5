import type { FastifyBaseLogger } from 'fastify';
import type { JobQueue } from './port.js';

export type { Job, JobHandler, JobPayload, JobQueue, ProcessOptions } from './port.js';

export interface QueueOptions {
  /** Redis URL: BullMQ when set, the in-process queue otherwise. */
  redisUrl: string | undefined;
  /** Key prefix, so several apps (or test suites) can share one Redis. */
  prefix?: string;
  logger: FastifyBaseLogger;
}

export function createQueue(_options: QueueOptions): JobQueue {
  throw new Error('not implemented yet');
}
