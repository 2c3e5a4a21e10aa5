import cookie from '@fastify/cookie';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import { z } from 'zod';
import type { Db } from '../../db/index.js';
import { AppError } from '../../errors.js';
import type { LiveBus } from '../../plugins/live.js';
import type { RateLimiter, RateRule } from '../ingest/rate-limit.js';
import { findStoreById, verifyAdminSecret } from '../stores/repository.js';
import {
  createAdminSession,
  deleteAdminSession,
  findAdminSession,
  SESSION_TTL_MS,
} from './sessions.js';

/*
 * Admin sign-in. A merchant proves they hold the store's admin secret once and gets a session
 * cookie: a random token the browser keeps (httpOnly, SameSite=Strict, Path=/admin, Secure over
 * https) and the database knows only by its digest. Writes are also refused unless they come
 * from the admin's own origin, which SameSite alone does not guarantee (a sibling subdomain is
 * "same site").
 */

/** The session cookie. Not `__Host-`: that prefix needs `Path=/`, and this one is `/admin`. */
export const SESSION_COOKIE = 'wb_admin';
const COOKIE_PATH = '/admin';

/** Who is signed in on a request that passed `requireAdmin`. */
export interface AdminPrincipal {
  storeId: string;
  sessionId: string;
  expiresAt: Date;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Route guard for the admin API (a `preHandler`): resolves the session cookie into
     * `request.admin` or answers 401 `WB_ERR_UNAUTHENTICATED`. Decorated inside the admin
     * feature; routes registered there (or in plugins it registers) use it.
     *
     * @example
     *   app.get('/admin/api/carts', { preHandler: app.requireAdmin }, async (request) =>
     *     listCarts(app.db, adminOf(request).storeId));
     */
    requireAdmin: preHandlerAsyncHookHandler;
  }
  interface FastifyRequest {
    /** Set by `requireAdmin`; null on routes it does not guard. */
    admin: AdminPrincipal | null;
  }
}

/** The signed-in admin of a request guarded by `requireAdmin`. */
export function adminOf(request: FastifyRequest): AdminPrincipal {
  // The guard runs before every handler that calls this; reaching here without it is a bug.
  if (!request.admin) throw new Error('admin: route reached without requireAdmin');
  return request.admin;
}

export interface LoginLimits {
  /** Sign-in attempts per client IP per window. */
  perIp: number;
  /** Sign-in attempts per store per window. */
  perStore: number;
  windowMs: number;
}

export const defaultLoginLimits: LoginLimits = { perIp: 10, perStore: 20, windowMs: 60_000 };

export interface AuthOptions {
  db: Db;
  live: LiveBus;
  /** The server's own origin (`scheme://host[:port]` of PUBLIC_URL). */
  ownOrigin: string;
  /** Cookie gets `Secure` (PUBLIC_URL is https). */
  secure: boolean;
  limiter: RateLimiter;
  limits: LoginLimits;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const loginBody = z.strictObject({
  storeId: z.string().regex(uuid, 'must be a store id (uuid)'),
  secret: z.string().min(1).max(200),
});

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function crossOrigin(message: string): AppError {
  return new AppError('WB_ERR_CROSS_ORIGIN', message);
}

/**
 * An `onRequest` hook refusing (403 `WB_ERR_CROSS_ORIGIN`) a state-changing admin request that
 * did not come from the admin page itself: its `Origin` must be the server's own, or, when a
 * browser sent none, Fetch Metadata must say `Sec-Fetch-Site: same-origin`. A non-browser client
 * sends `Origin` with the server's origin. GET, HEAD and OPTIONS pass (they change nothing).
 */
export function sameOriginWrites(ownOrigin: string): onRequestAsyncHookHandler {
  return async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      throw crossOrigin('admin requests must come from the admin page');
    }
    const origin = request.headers.origin;
    if (origin === undefined) {
      if (site === 'same-origin') return;
      throw crossOrigin(`admin requests must send Origin: ${ownOrigin}`);
    }
    if (origin !== ownOrigin) throw crossOrigin('admin requests must come from the admin page');
  };
}

/**
 * An `onRequest` hook for a WebSocket upgrade: browsers send cookies with cross-site WebSocket
 * handshakes and no CORS applies to them, so the `Origin` must be the server's own (403
 * otherwise, before any upgrade).
 */
export function sameOriginUpgrade(ownOrigin: string): onRequestAsyncHookHandler {
  return async (request) => {
    if (request.headers.origin !== ownOrigin) {
      throw crossOrigin('the live feed accepts connections from the admin page only');
    }
  };
}

function cookieOf(request: FastifyRequest): string | undefined {
  const value = request.cookies[SESSION_COOKIE];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function unauthenticated(): AppError {
  return new AppError('WB_ERR_UNAUTHENTICATED', 'sign in to the admin first');
}

/**
 * The admin's sign-in, the `requireAdmin` guard and the session routes:
 * `POST /admin/api/session` (sign in), `GET /admin/api/session` (who am I),
 * `DELETE /admin/api/session` (sign out). Registered by the admin feature, in its scope.
 */
export async function registerAuth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const { db, live, ownOrigin, secure, limiter, limits } = options;
  await app.register(cookie);
  app.decorateRequest('admin', null);
  app.addHook('onRequest', sameOriginWrites(ownOrigin));

  const requireAdmin: preHandlerAsyncHookHandler = async (request) => {
    const token = cookieOf(request);
    const session = token === undefined ? undefined : await findAdminSession(db, token);
    if (!session) throw unauthenticated();
    request.admin = {
      storeId: session.storeId,
      sessionId: session.id,
      expiresAt: session.expiresAt,
    };
  };
  app.decorate('requireAdmin', requireAdmin);

  const cookieOptions = {
    path: COOKIE_PATH,
    httpOnly: true,
    secure,
    sameSite: 'strict',
  } as const;
  const clearSession = (reply: FastifyReply) => reply.clearCookie(SESSION_COOKIE, cookieOptions);
  const perIp: RateRule = { limit: limits.perIp, windowMs: limits.windowMs };
  const perStore: RateRule = { limit: limits.perStore, windowMs: limits.windowMs };

  await app.register(async (api) => {
    // Answers about who is signed in are for this browser only, never for a cache.
    api.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });

    api.post('/admin/api/session', { bodyLimit: 4096 }, async (request, reply) => {
      const { storeId, secret } = loginBody.parse(request.body);
      // Counted per address and per store before the secret is looked at, hits or misses:
      // guessing is slowed down from one address and from many.
      for (const [key, rule] of [
        [`admin-login:ip:${request.ip}`, perIp],
        [`admin-login:store:${storeId.toLowerCase()}`, perStore],
      ] as const) {
        const decision = await limiter.take(key, 1, rule);
        if (!decision.allowed) {
          reply.header('retry-after', String(Math.ceil(decision.retryAfterMs / 1000)));
          request.log.info({ storeId }, 'admin sign-in rate limited');
          throw new AppError('WB_ERR_RATE_LIMITED', 'too many sign-in attempts, try again later');
        }
      }
      // One answer for an unknown store and a wrong secret, so neither can be told apart.
      if (!(await verifyAdminSecret(db, storeId, secret))) {
        request.log.info({ storeId }, 'admin sign-in refused');
        throw new AppError('WB_ERR_BAD_CREDENTIALS', 'unknown store or wrong admin secret');
      }
      const store = await findStoreById(db, storeId);
      if (!store) {
        throw new AppError('WB_ERR_BAD_CREDENTIALS', 'unknown store or wrong admin secret');
      }
      const session = await createAdminSession(db, store.id);
      request.log.info({ storeId: store.id, sessionId: session.id }, 'admin signed in');
      reply.setCookie(SESSION_COOKIE, session.token, {
        ...cookieOptions,
        maxAge: Math.floor(SESSION_TTL_MS / 1000),
      });
      return reply.code(201).send({
        storeId: store.id,
        storeName: store.name,
        expiresAt: session.expiresAt.toISOString(),
      });
    });

    api.get('/admin/api/session', { preHandler: requireAdmin }, async (request) => {
      const admin = adminOf(request);
      const store = await findStoreById(db, admin.storeId);
      // Deleted between the guard's query and this one: as good as signed out.
      if (!store) throw unauthenticated();
      return {
        storeId: admin.storeId,
        storeName: store.name,
        expiresAt: admin.expiresAt.toISOString(),
      };
    });

    // Signing out works with any cookie, or none, and always clears it.
    api.delete('/admin/api/session', async (request, reply) => {
      const token = cookieOf(request);
      const ended = token === undefined ? undefined : await deleteAdminSession(db, token);
      if (ended) {
        request.log.info({ storeId: ended.storeId, sessionId: ended.id }, 'admin signed out');
        // Its live feeds close too, on whichever node they are.
        live.endSession(ended.storeId, ended.id);
      }
      clearSession(reply);
      return reply.code(204).send();
    });
  });
}
