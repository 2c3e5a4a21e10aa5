import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Db } from './db/index.js';
import type { CapturedMailbox } from './embedded/smtp-capture.js';
import { storefrontPlugin } from './embedded/storefront.js';
import { armIdleTimers } from './features/abandonment/index.js';
import { adminFeature, liveCartUpdates } from './features/admin/index.js';
import { healthFeature } from './features/health/index.js';
import {
  createMemoryRateLimiter,
  createRedisRateLimiter,
  ingestFeature,
  websocketOptions,
} from './features/ingest/index.js';
import { messagingRoutes } from './features/messaging/index.js';
import { metricsFeature } from './features/metrics/index.js';
import { onsiteDecisions } from './features/onsite/index.js';
import { sdkFeature } from './features/sdk/index.js';
import { installErrorHandling } from './http-errors.js';
import { createLogger } from './logger.js';
import { dbPlugin } from './plugins/db.js';
import { jobsPlugin } from './plugins/jobs.js';
import { livePlugin } from './plugins/live.js';
import { queuePlugin } from './plugins/queue.js';
import type { JobQueue } from './queue/index.js';

export interface AppOptions {
  /** Use this logger instead of making one from the config. */
  logger?: FastifyBaseLogger;
  /** Use these handles instead of opening new ones; the caller then owns and closes them. */
  db?: Db;
  queue?: JobQueue;
  /**
   * Run the background jobs in this process. Default: yes with the in-process queue, no with
   * BullMQ (where `winback worker` processes run them).
   */
  runJobs?: boolean;
  /** Serve this folder's files at `/` (the demo storefront; `winback demo` only). */
  storefrontDir?: string;
  /** `%NAME%` values filled into the storefront's HTML (the demo store's key and endpoint). */
  storefrontVariables?: Readonly<Record<string, string>>;
  /** Captured mails the admin page shows (the demo's SMTP capture). */
  mailbox?: CapturedMailbox;
  /**
   * How often open admin live feeds are pinged and their sessions re-checked (default 30 s), so
   * a feed of a revoked store or an ended session closes within about that.
   */
  liveHeartbeatMs?: number;
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
    prefix: config.queuePrefix,
  });
  // What admins watch live: Redis pub/sub across nodes in BullMQ mode, in-process otherwise.
  await app.register(livePlugin, { redisUrl: config.redisUrl, prefix: config.queuePrefix });
  if (options.runJobs ?? config.queue === 'local') await app.register(jobsPlugin, { config });
  await app.register(metricsFeature);
  await app.register(healthFeature);
  // One WebSocket server for every route, limited to the protocol's frame size.
  await app.register(websocket, websocketOptions);
  // Rate limits shared by every node through Redis in BullMQ mode; closed with the app.
  await app.register(ingestFeature, {
    rateLimiter: config.redisUrl
      ? createRedisRateLimiter({
          redisUrl: config.redisUrl,
          prefix: config.queuePrefix,
          logger: app.log,
        })
      : createMemoryRateLimiter(),
    eventsPerSecondPerKey: config.rateLimitEventsPerSecond,
    // Connections of the writer's own: prepared statements, and events by COPY.
    ...(config.databaseUrl ? { writer: { databaseUrl: config.databaseUrl } } : {}),
    framesPerSecondPerIp: config.rateLimitFramesPerIpPerSecond,
    // Every cart activity re-arms the cart's abandonment timer and reaches the live admin view;
    // a page about to lose its shopper may be answered with an overlay.
    onEventsStored: [
      armIdleTimers(app.queue),
      liveCartUpdates(app.live),
      onsiteDecisions({
        db: app.db,
        log: app.log.child({ component: 'onsite' }),
        ...(app.hasDecorator('metrics') ? { metrics: app.metrics } : {}),
      }),
    ],
  });
  await app.register(messagingRoutes, { config });
  await app.register(adminFeature, {
    publicUrl: config.publicUrl,
    live: app.live,
    ...(options.mailbox ? { mailbox: options.mailbox } : {}),
    // Template test sends go out over the same SMTP as recovery mail.
    mail: { ...(config.smtpUrl ? { smtpUrl: config.smtpUrl } : {}), mailFrom: config.mailFrom },
    ...(options.liveHeartbeatMs ? { heartbeatMs: options.liveHeartbeatMs } : {}),
  });
  await app.register(sdkFeature);
  if (options.storefrontDir) {
    await app.register(storefrontPlugin, {
      root: options.storefrontDir,
      ...(options.storefrontVariables ? { variables: options.storefrontVariables } : {}),
    });
  }

  await app.ready();
  return app;
}
