import { limits } from '@winback/shared';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Counter } from 'prom-client';
import { findStoreByPublicKey } from '../stores/repository.js';
import { createStoreCache } from './access.js';
import { type BatchWriterOptions, createBatchWriter } from './batch-writer.js';
import { collectRoutes } from './collect.js';
import type { IngestDeps } from './deps.js';
import type { EventsStoredListener, FrameContext } from './frames.js';
import {
  createMemoryRateLimiter,
  defaultRateLimits,
  ingestThrottle,
  type RateLimiter,
} from './rate-limit.js';
import { streamRoutes } from './stream.js';

export type { CommandChannel, EventsStoredListener, StoredBatch } from './frames.js';
export {
  createMemoryRateLimiter,
  createRedisRateLimiter,
  type RateLimiter,
} from './rate-limit.js';
export { websocketOptions } from './websocket.js';

export interface IngestFeatureOptions {
  /**
   * Called after every committed batch, before its ack is sent (see `EventsStoredListener`):
   * the place for later work that follows new events, such as re-arming idle timers.
   */
  onEventsStored?: readonly EventsStoredListener[];
  /** How long a store looked up by its public key is reused, in ms. Default 30 s. */
  storeCacheTtlMs?: number;
  /** How long an unknown key is remembered as unknown, in ms. Default 5 s. */
  unknownKeyTtlMs?: number;
  /**
   * Where rate limits are counted. Default: a new in-process limiter (single node). The feature
   * closes it when the app closes.
   */
  rateLimiter?: RateLimiter;
  /** Events per second per store public key. Default 1,000. */
  eventsPerSecondPerKey?: number;
  /** Frames per second per client IP. Default 50. */
  framesPerSecondPerIp?: number;
  /**
   * Group commit (see `createBatchWriter`): most events per transaction, transactions at once,
   * events that may wait before frames are refused, the statement timeout, and `databaseUrl`
   * for connections of its own (prepared statements, events by COPY; without it, the app's
   * pool and `unnest`).
   */
  writer?: Omit<BatchWriterOptions, 'db'>;
}

const defaults = { storeCacheTtlMs: 30_000, unknownKeyTtlMs: 5_000 };
const storeCacheEntries = 10_000;

function checkDuration(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new Error(`ingest feature: option "${name}" must be a whole number of ms >= 0`);
  }
  return value;
}

function checkRate(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`ingest feature: option "${name}" must be a whole number >= 1`);
  }
  return value;
}

function checkLimiter(value: unknown): RateLimiter | undefined {
  if (value === undefined) return undefined;
  const limiter = value as Partial<RateLimiter> | null;
  if (typeof limiter?.take !== 'function' || typeof limiter.close !== 'function') {
    throw new Error('ingest feature: option "rateLimiter" must be a RateLimiter (take, close)');
  }
  return value as RateLimiter;
}

function checkListeners(value: unknown): readonly EventsStoredListener[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'function')) {
    throw new Error('ingest feature: option "onEventsStored" must be an array of functions');
  }
  return [...value];
}

function ingestCounters(app: FastifyInstance): IngestDeps['count'] {
  const skip: NonNullable<FrameContext['count']> = () => {};
  if (!app.hasDecorator('metrics')) return () => skip;
  const frames = new Counter({
    name: 'winback_ingest_frames_total',
    help: 'Ingest frames by transport and outcome (ack or the nack reason)',
    labelNames: ['transport', 'outcome'] as const,
    registers: [app.metrics],
  });
  const events = new Counter({
    name: 'winback_ingest_events_total',
    help: 'Events in acked frames by transport and outcome (stored, duplicate, rejected)',
    labelNames: ['transport', 'outcome'] as const,
    registers: [app.metrics],
  });
  return (transport) => (outcome, counts) => {
    frames.inc({ transport, outcome });
    for (const [name, n] of Object.entries(counts)) {
      if (n > 0) events.inc({ transport, outcome: name }, n);
    }
  };
}

/**
 * Ingest: the sdk's WebSocket `/v1/stream` and HTTP `POST /v1/collect` (see the server README).
 * Validates frames with the shared protocol, stores their events deduplicated on
 * `(store_id, id)`, and acks only after COMMIT.
 *
 * Needs `app.db` and the app's `@fastify/websocket` registered with `websocketOptions` first.
 */
export const ingestFeature: FastifyPluginAsync<IngestFeatureOptions> = async (app, options) => {
  const listeners = checkListeners(options.onEventsStored);
  const ttlMs = checkDuration('storeCacheTtlMs', options.storeCacheTtlMs, defaults.storeCacheTtlMs);
  const unknownTtlMs = checkDuration(
    'unknownKeyTtlMs',
    options.unknownKeyTtlMs,
    defaults.unknownKeyTtlMs,
  );
  const rates = {
    eventsPerSecondPerKey: checkRate(
      'eventsPerSecondPerKey',
      options.eventsPerSecondPerKey,
      defaultRateLimits.eventsPerSecondPerKey,
    ),
    framesPerSecondPerIp: checkRate(
      'framesPerSecondPerIp',
      options.framesPerSecondPerIp,
      defaultRateLimits.framesPerSecondPerIp,
    ),
  };
  const limiter = checkLimiter(options.rateLimiter) ?? createMemoryRateLimiter();
  if (!app.hasDecorator('db')) {
    throw new Error('ingest feature: register the db plugin before it (app.db is missing)');
  }
  if (!app.hasDecorator('websocketServer')) {
    throw new Error('ingest feature: register @fastify/websocket with websocketOptions before it');
  }
  // The ws default (100 MiB) must never stand on a public endpoint.
  const maxPayload = app.websocketServer.options.maxPayload;
  if (typeof maxPayload !== 'number' || maxPayload <= 0 || maxPayload > limits.frameBytes) {
    throw new Error(
      `ingest feature: @fastify/websocket must set options.maxPayload to at most ${limits.frameBytes} (use websocketOptions)`,
    );
  }

  const writer = createBatchWriter({ ...options.writer, db: app.db });
  const deps: IngestDeps = {
    db: app.db,
    writer,
    stores: createStoreCache((publicKey) => findStoreByPublicKey(app.db, publicKey), {
      ttlMs,
      unknownTtlMs,
      maxEntries: storeCacheEntries,
    }),
    listeners,
    throttle: ingestThrottle(limiter, rates),
    count: ingestCounters(app),
  };
  app.addHook('onClose', () => limiter.close());
  // Before the database closes: frames already taken are committed and answered.
  app.addHook('preClose', () => writer.close());
  await app.register(streamRoutes, deps);
  await app.register(collectRoutes, deps);
};
