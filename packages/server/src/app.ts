import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import type { Config } from './config.js';
import type { Db } from './db/index.js';
import { AppError, type ErrorCode, errorBody } from './errors.js';
import { healthFeature } from './features/health/index.js';
import { metricsFeature } from './features/metrics/index.js';
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

const statusCodes: Record<number, ErrorCode> = {
  400: 'WB_ERR_BAD_REQUEST',
  401: 'WB_ERR_UNAUTHORIZED',
  403: 'WB_ERR_FORBIDDEN',
  404: 'WB_ERR_NOT_FOUND',
  409: 'WB_ERR_CONFLICT',
  413: 'WB_ERR_PAYLOAD_TOO_LARGE',
  415: 'WB_ERR_UNSUPPORTED_MEDIA_TYPE',
  429: 'WB_ERR_RATE_LIMITED',
  503: 'WB_ERR_UNAVAILABLE',
};

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

  app.setErrorHandler((error: FastifyError | AppError | ZodError, request, reply) => {
    if (error instanceof AppError) {
      return reply.code(error.statusCode).send(errorBody(error.code, error.message));
    }
    if (error instanceof ZodError) {
      const issue = error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return reply
        .code(400)
        .send(errorBody('WB_ERR_VALIDATION', `${where}${issue?.message ?? 'invalid input'}`));
    }
    const status = error.statusCode ?? 500;
    if (error.validation) {
      return reply.code(400).send(errorBody('WB_ERR_VALIDATION', error.message));
    }
    if (status >= 400 && status < 500) {
      return reply
        .code(status)
        .send(errorBody(statusCodes[status] ?? 'WB_ERR_BAD_REQUEST', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    if (status === 503) {
      return reply
        .code(503)
        .send(errorBody('WB_ERR_UNAVAILABLE', 'service unavailable, try again'));
    }
    return reply.code(500).send(errorBody('WB_ERR_INTERNAL', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(
        errorBody(
          'WB_ERR_NOT_FOUND',
          `no route for ${request.method} ${request.url.split('?')[0]}`,
        ),
      );
  });

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
