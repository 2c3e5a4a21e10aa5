import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Db } from './db/index.js';
import { healthFeature } from './features/health/index.js';
import { metricsFeature } from './features/metrics/index.js';
import { installErrorHandling } from './http-errors.js';
import { createLogger } from './logger.js';
import { dbPlugin } from './plugins/db.js';
import { queuePlugin } from './plugins/queue.js';
import type { JobQueue } from './queue/index.js';

export interface AppOptions {
  /** Use this logger instead of making one from the config. */
  logger?: FastifyBaseLogger;
  /** Use these handles instead of opening new ones; the caller then owns and closes them. */
  db?: Db;
  queue?: JobQueue;
  /** Redis key prefix for the queue (tests share one Redis). */
  queuePrefix?: string;
}

/**
 * Builds the whole Winback server as a ready, un-listened Fastify app. Only the CLI listens;
 * tests use `inject` or listen on 127.0.0.1 themselves, and always `close()` it.
 *
 * @example
 *   const app = await buildApp(loadConfig(process.env));
 *   await app.listen({ port: 3000 });
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (options.logger ?? createLogger(config)) as FastifyBaseLogger,
    disableRequestLogging: false,
    // Request bodies are small JSON frames; anything bigger is refused before it is parsed.
    bodyLimit: 1024 * 1024,
    // Behind a load balancer the client's address comes from X-Forwarded-For.
    trustProxy: true,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  installErrorHandling(app);

  // Infrastructure decorates the root; features stay encapsulated.
  await app.register(dbPlugin, {
    ...(options.db ? { db: options.db } : {}),
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    poolMax: config.databasePoolMax,
  });
  await app.register(queuePlugin, {
    ...(options.queue ? { queue: options.queue } : {}),
    redisUrl: config.redisUrl,
    ...(options.queuePrefix ? { prefix: options.queuePrefix } : {}),
  });
  await app.register(metricsFeature);
  await app.register(healthFeature);

  await app.ready();
  return app;
}
