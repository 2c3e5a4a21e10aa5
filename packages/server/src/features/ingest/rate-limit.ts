import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { describeFailure } from './frames.js';

/** One allowance: at most `limit` units in each window of `windowMs`. */
export interface RateRule {
  limit: number;
  windowMs: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Counts units (events, frames) per key in fixed windows. A take that would go over the limit
 * is refused and counts nothing; a single take bigger than the whole limit passes when the
 * window is still empty, so a frame is never refused for ever.
 */
export interface RateLimiter {
  take(key: string, cost: number, rule: RateRule): Promise<RateDecision>;
  close(): Promise<void>;
}

/** Time in ms; injectable so tests can drive the clock. */
export type Clock = () => number;

/**
 * The in-process limiter, for a single node (local mode). Memory is bounded: windows that ended
 * are dropped as they are met, and past `maxKeys` the oldest keys are evicted first.
 */
export function createMemoryRateLimiter(
  options: { maxKeys?: number; now?: Clock } = {},
): RateLimiter & { readonly size: number } {
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? Date.now;
  // Insertion order is the age order: a key is re-inserted whenever its window restarts.
  const windows = new Map<string, { endsAt: number; used: number }>();

  const sweep = (at: number): void => {
    for (const [key, window] of windows) {
      if (window.endsAt > at && windows.size < maxKeys) break;
      windows.delete(key);
    }
  };

  return {
    get size() {
      return windows.size;
    },
    async take(key, cost, rule) {
      const at = now();
      let window = windows.get(key);
      if (window && window.endsAt <= at) {
        windows.delete(key);
        window = undefined;
      }
      if (!window) {
        sweep(at);
        window = { endsAt: at + rule.windowMs, used: 0 };
        windows.set(key, window);
      }
      if (window.used > 0 && window.used + cost > rule.limit) {
        return { allowed: false, retryAfterMs: Math.max(1, window.endsAt - at) };
      }
      window.used += cost;
      return { allowed: true };
    },
    async close() {
      windows.clear();
    },
  };
}

// KEYS[1] the counter; ARGV cost, limit, window ms. Returns {1, 0} or {0, ms until the window ends}.
const takeScript = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if used > 0 and used + cost > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    ttl = tonumber(ARGV[3])
  end
  return {0, ttl}
end
if redis.call('INCRBY', KEYS[1], cost) == cost then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {1, 0}
`;

/** How long a take may wait for Redis before it is allowed without it. */
const REDIS_WAIT_MS = 250;

/**
 * The Redis limiter, shared by every node (BullMQ mode). One atomic script per take; keys are
 * `<prefix>:rl:{<key>}`. When Redis cannot answer, takes are ALLOWED (fail open) and a warning is
 * logged once per outage: ingest must not stop because the limiter's store is down.
 */
export function createRedisRateLimiter(options: {
  redisUrl: string;
  prefix: string;
  logger: FastifyBaseLogger;
}): RateLimiter {
  const { logger } = options;
  const redis = new Redis(options.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: REDIS_WAIT_MS,
  });
  // Connection errors surface through failed takes; without a listener ioredis would print them.
  redis.on('error', () => {});
  let down = false;

  return {
    async take(key, cost, rule) {
      try {
        const [allowed, retryAfterMs] = (await redis.eval(
          takeScript,
          1,
          `${options.prefix}:rl:{${key}}`,
          cost,
          rule.limit,
          rule.windowMs,
        )) as [number, number];
        if (down) {
          down = false;
          logger.info('rate limiter: redis reachable again');
        }
        return allowed === 1
          ? { allowed: true }
          : { allowed: false, retryAfterMs: Math.max(1, retryAfterMs) };
      } catch (error) {
        if (!down) {
          down = true;
          logger.warn(
            { error: describeFailure(error) },
            'rate limiter: redis unavailable, frames are let through unlimited',
          );
        }
        return { allowed: true };
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}

export interface IngestRateLimits {
  /** Events per second per store public key. */
  eventsPerSecondPerKey: number;
  /** Frames per second per client IP. */
  framesPerSecondPerIp: number;
}

export const defaultRateLimits: IngestRateLimits = {
  eventsPerSecondPerKey: 1_000,
  framesPerSecondPerIp: 50,
};

/** What the ingest routes ask before doing work; `null` means go ahead. */
export interface IngestThrottle {
  /** One frame from `ip`. */
  frame(ip: string): Promise<number | null>;
  /** `events` events for the store of `publicKey`. */
  events(publicKey: string, events: number): Promise<number | null>;
}

/**
 * Addresses not limited per IP: the loopback (with trustProxy a proxied client has its own
 * address, so this is a process on the same machine: the demo, a benchmark) and an address that
 * could not be read. The per-key limit still applies to them.
 */
export function unlimitedAddress(ip: string): boolean {
  return ip === 'unknown' || ip === '::1' || /^(::ffff:)?127\./.test(ip);
}

export function ingestThrottle(limiter: RateLimiter, limits: IngestRateLimits): IngestThrottle {
  const perIp: RateRule = { limit: limits.framesPerSecondPerIp, windowMs: 1_000 };
  const perKey: RateRule = { limit: limits.eventsPerSecondPerKey, windowMs: 1_000 };
  const wait = (decision: RateDecision) => (decision.allowed ? null : decision.retryAfterMs);
  return {
    frame: async (ip) =>
      unlimitedAddress(ip) ? null : wait(await limiter.take(`ip:${ip}`, 1, perIp)),
    events: async (publicKey, events) =>
      wait(await limiter.take(`key:${publicKey}`, events, perKey)),
  };
}
