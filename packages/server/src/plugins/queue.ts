import fp from 'fastify-plugin';
import { createQueue, type JobQueue } from '../queue/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    queue: JobQueue;
  }
}

export interface QueuePluginOptions {
  /** An existing queue (owned by the caller) or settings to open one (owned by the app). */
  queue?: JobQueue;
  redisUrl?: string | undefined;
  prefix?: string;
}

export const queuePlugin = fp<QueuePluginOptions>(
  async (app, options) => {
    if (options.queue) {
      app.decorate('queue', options.queue);
      return;
    }
    const queue = createQueue({
      redisUrl: options.redisUrl,
      logger: app.log.child({ component: 'queue' }),
      ...(options.prefix ? { prefix: options.prefix } : {}),
    });
    app.decorate('queue', queue);
    app.addHook('onClose', async () => {
      await queue.close();
    });
  },
  { name: 'winback-queue' },
);
