import { limits } from '@winback/shared';
import type { FastifyPluginAsync } from 'fastify';
import { deviceFromHeaders } from '../../domain/device.js';
import { AppError } from '../../errors.js';
import { accessHook, grantOf } from './access-hook.js';
import type { IngestDeps } from './deps.js';
import { ingestFrame } from './frames.js';

/** How long a browser may reuse a preflight answer; short, so origin edits reach it soon. */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * `POST /v1/collect?key=pk_...`: the same batch frame as the WebSocket carries, for clients that
 * cannot hold a socket open and for `sendBeacon` on page hide. Answers 200 with the ack frame
 * once the events committed.
 */
export const collectRoutes: FastifyPluginAsync<IngestDeps> = async (app, deps) => {
  // Both content types reach the one frame validator as the raw string: beacons send
  // `text/plain` (no preflight), fetch sends `application/json`. Parsing JSON only inside
  // parseBatch keeps one set of rules for both transports. Scoped to this plugin: the rest of
  // the app keeps Fastify's parsers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'text/plain'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );

  const onRequest = accessHook(deps.stores, { cors: true });
  const count = deps.count('http');

  app.options('/v1/collect', { onRequest }, async (_request, reply) => {
    return reply
      .code(204)
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type')
      .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S))
      .send();
  });

  app.post(
    '/v1/collect',
    // Fastify refuses a longer body with 413 while reading it, before it is buffered whole.
    { onRequest, bodyLimit: limits.frameBytes },
    async (request, reply) => {
      const { store, publicKey } = grantOf(request);
      const ipWait = await deps.throttle.frame(request.ip);
      if (ipWait !== null) {
        count('rate_limited', { stored: 0, duplicate: 0, rejected: 0 });
        reply.header('retry-after', retryAfterSeconds(ipWait));
        throw new AppError('WB_ERR_RATE_LIMITED', 'rate limit reached for this address');
      }
      const answer = await ingestFrame(
        {
          db: deps.db,
          writer: deps.writer,
          storeId: store.id,
          receivedAt: new Date(),
          log: request.log.child({ storeId: store.id }),
          listeners: deps.listeners,
          device: deviceFromHeaders(request.headers),
          count,
          admit: (events) => deps.throttle.events(publicKey, events),
        },
        typeof request.body === 'string' ? request.body : '',
      );
      if (answer.t === 'ack') return answer;
      const message = answer.message ?? 'the frame was refused';
      switch (answer.reason) {
        case 'rate_limited':
          reply.header('retry-after', retryAfterSeconds(answer.retryAfterMs));
          throw new AppError('WB_ERR_RATE_LIMITED', message);
        case 'unavailable':
          reply.header('retry-after', retryAfterSeconds(answer.retryAfterMs));
          throw new AppError('WB_ERR_UNAVAILABLE', message);
        case 'too_large':
          throw new AppError('WB_ERR_PAYLOAD_TOO_LARGE', message);
        default:
          throw new AppError('WB_ERR_VALIDATION', message);
      }
    },
  );
};

/** A delay in ms as a `Retry-After` value: whole seconds, at least 1. */
function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}
