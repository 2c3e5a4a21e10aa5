import type { FastifyPluginAsync } from 'fastify';
import type { CapturedMailbox } from '../../embedded/smtp-capture.js';
import type { LiveBus } from '../../plugins/live.js';
import { createMemoryRateLimiter, type RateLimiter } from '../ingest/index.js';
import type { RateRule } from '../ingest/rate-limit.js';
import { adminApi } from './api/index.js';
import { defaultTestSendRule } from './api/test-send.js';
import { defaultLoginLimits, type LoginLimits, registerAuth } from './auth.js';
import { registerLiveFeed } from './live.js';
import { defaultFeedLimits, type FeedLimits } from './live-socket.js';
import { adminPage } from './page.js';
import { standingSessions } from './sessions.js';

export { type AdminPrincipal, adminOf, SESSION_COOKIE } from './auth.js';
export { liveCartUpdates } from './live.js';

export interface AdminFeatureOptions {
  /**
   * The URL the admin is reached at (PUBLIC_URL): its origin is the only one admin writes and
   * the live feed accept, and an https one makes the session cookie `Secure`.
   */
  publicUrl: string;
  /** The live bus the feed follows (`app.live`). */
  live: LiveBus;
  /** The demo's SMTP capture, shown by the page's outbox (`/admin/api/outbox`). */
  mailbox?: CapturedMailbox;
  /**
   * How template test sends go out: the server's SMTP (SMTP_URL; none refuses them) and sender
   * (MAIL_FROM). Default: no SMTP.
   */
  mail?: { smtpUrl?: string; mailFrom: string };
  /** Test sends a store may make per window (default 5 a minute). */
  testSendLimit?: RateRule;
  /**
   * Where sign-in attempts are counted. Default: a new in-process limiter, closed with the app
   * (each node counts its own).
   */
  loginLimiter?: RateLimiter;
  /** Sign-in attempts allowed per client IP and per store in each window. */
  loginLimits?: LoginLimits;
  /** How often live sockets are pinged; one unanswered ping closes a socket. Default 30 s. */
  heartbeatMs?: number;
  /** How much a slow live socket may hold back (see `createFeed`). */
  feedLimits?: FeedLimits;
}

function checkPositive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`admin feature: option "${name}" must be a whole number >= 1`);
  }
  return value;
}

function ownOriginOf(publicUrl: unknown): URL {
  try {
    if (typeof publicUrl !== 'string') throw new TypeError();
    const url = new URL(publicUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError();
    return url;
  } catch {
    throw new Error('admin feature: option "publicUrl" must be an http:// or https:// URL');
  }
}

/**
 * The admin: its page (`GET /admin`), sign-in and sessions (`/admin/api/session`), the
 * `requireAdmin` guard for admin API routes registered inside this plugin, and the live feed
 * (`GET /admin/live`). Needs `app.db` and the app's `@fastify/websocket`.
 */
export const adminFeature: FastifyPluginAsync<AdminFeatureOptions> = async (app, options) => {
  const url = ownOriginOf(options.publicUrl);
  const live = options.live;
  if (
    typeof live?.subscribe !== 'function' ||
    typeof live.publish !== 'function' ||
    typeof live.endSession !== 'function'
  ) {
    throw new Error('admin feature: option "live" must be a LiveBus (app.live)');
  }
  if (options.mailbox !== undefined && typeof options.mailbox.list !== 'function') {
    throw new Error('admin feature: option "mailbox" must have a list() method');
  }
  if (options.loginLimiter !== undefined && typeof options.loginLimiter.take !== 'function') {
    throw new Error('admin feature: option "loginLimiter" must be a RateLimiter (take, close)');
  }
  const limits = options.loginLimits ?? defaultLoginLimits;
  const loginLimits: LoginLimits = {
    perIp: checkPositive('loginLimits.perIp', limits.perIp, defaultLoginLimits.perIp),
    perStore: checkPositive('loginLimits.perStore', limits.perStore, defaultLoginLimits.perStore),
    windowMs: checkPositive('loginLimits.windowMs', limits.windowMs, defaultLoginLimits.windowMs),
  };
  const heartbeatMs = checkPositive('heartbeatMs', options.heartbeatMs, 30_000);
  const mail = options.mail ?? { mailFrom: 'Winback <recovery@localhost>' };
  if (typeof mail.mailFrom !== 'string' || mail.mailFrom === '') {
    throw new Error('admin feature: option "mail.mailFrom" must be a sender address');
  }
  const sendLimit = options.testSendLimit ?? defaultTestSendRule;
  const testSendLimit: RateRule = {
    limit: checkPositive('testSendLimit.limit', sendLimit.limit, defaultTestSendRule.limit),
    windowMs: checkPositive(
      'testSendLimit.windowMs',
      sendLimit.windowMs,
      defaultTestSendRule.windowMs,
    ),
  };
  if (!app.hasDecorator('db')) {
    throw new Error('admin feature: register the db plugin before it (app.db is missing)');
  }
  if (!app.hasDecorator('websocketServer')) {
    throw new Error('admin feature: register @fastify/websocket before it');
  }

  const limiter = options.loginLimiter ?? createMemoryRateLimiter({ maxKeys: 10_000 });
  if (!options.loginLimiter) app.addHook('onClose', () => limiter.close());

  // The guard and the origin check first: hooks of this scope cover every route below.
  await registerAuth(app, {
    db: app.db,
    live,
    ownOrigin: url.origin,
    secure: url.protocol === 'https:',
    limiter,
    limits: loginLimits,
  });
  registerLiveFeed(app, {
    live,
    ownOrigin: url.origin,
    heartbeatMs,
    feedLimits: options.feedLimits ?? defaultFeedLimits,
    sessionCheck: (ids) => standingSessions(app.db, ids),
  });
  await app.register(adminPage, { publicUrl: url.href });
  // Admin API routes register in `adminApi`, inside this scope, behind `app.requireAdmin`.
  await app.register(adminApi, {
    live,
    publicUrl: url.href,
    ...(options.mailbox ? { mailbox: options.mailbox } : {}),
    testSend: {
      ...(mail.smtpUrl ? { smtpUrl: mail.smtpUrl } : {}),
      mailFrom: mail.mailFrom,
      limiter,
      rule: testSendLimit,
    },
  });
};
