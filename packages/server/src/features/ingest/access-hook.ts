import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import type { Store } from '../stores/repository.js';
import { checkAccess, type StoreCache } from './access.js';
import { describeFailure, retryDelayMs } from './frames.js';

export interface Granted {
  store: Store;
  /** The allowed origin the request came from, normalised. */
  origin: string;
  publicKey: string;
}

// What the access hook granted, for the route handler of the same request. A WeakMap rather
// than a request decorator: nothing outside this feature should read it.
const grants = new WeakMap<FastifyRequest, Granted>();

export function grantOf(request: FastifyRequest): Granted {
  const granted = grants.get(request);
  // The hook runs before every handler of these routes; reaching here without it is a bug.
  if (!granted) throw new Error('ingest: route reached without its access hook');
  return granted;
}

/** The `key` query parameter as parsed: an array when repeated, which `checkAccess` refuses. */
export function publicKeyOf(request: FastifyRequest): unknown {
  const query = request.query as Record<string, unknown> | undefined;
  return query?.key;
}

/**
 * An `onRequest` hook: refuses a request whose store key or Origin is not allowed before any
 * body is read or any socket upgraded. Refusals go through the app's error handler, so an
 * upgrade refused here is a plain HTTP response: 401 WB_ERR_UNAUTHORIZED (unknown or revoked
 * key), 403 WB_ERR_FORBIDDEN (Origin missing or not allowed), 503 WB_ERR_UNAVAILABLE with
 * Retry-After when the store cannot be looked up.
 *
 * With `cors`, every answer varies on Origin and an allowed origin is echoed in
 * Access-Control-Allow-Origin (never `*`), also on the route's error answers, so the sdk can read
 * why a frame was refused.
 */
export function accessHook(stores: StoreCache, options: { cors: boolean }) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (options.cors) reply.header('vary', 'Origin');
    const publicKey = publicKeyOf(request);
    const access = await checkAccess(stores, publicKey, request.headers.origin);
    if (!access.ok) {
      if (access.code === 'WB_ERR_UNAVAILABLE') {
        request.log.warn(
          { error: describeFailure(access.cause) },
          'ingest could not look up a store',
        );
        reply.header('retry-after', String(Math.ceil(retryDelayMs() / 1000)));
      } else {
        request.log.info({ code: access.code }, 'ingest refused a client');
      }
      throw new AppError(access.code, access.message);
    }
    if (options.cors) reply.header('access-control-allow-origin', access.origin);
    grants.set(request, {
      store: access.store,
      origin: access.origin,
      publicKey: publicKey as string,
    });
  };
}
