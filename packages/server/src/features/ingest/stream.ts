import type { WebSocket } from '@fastify/websocket';
import { type NackFrame, parseBatch, type ServerFrame } from '@winback/shared';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { deviceFromHeaders } from '../../domain/device.js';
import { AppError } from '../../errors.js';
import { checkAccess } from './access.js';
import { accessHook, grantOf } from './access-hook.js';
import type { IngestDeps } from './deps.js';
import { type CommandChannel, ingestFrame, rateLimited, retryDelayMs } from './frames.js';

// A socket whose frames arrive faster than they commit stops being read (TCP backpressure
// reaches the client) once this many wait, and is read again when the backlog has drained to
// the low mark. Memory per socket stays below PAUSE_AT x the frame limit.
const PAUSE_AT = 16;
const RESUME_AT = 4;

/** Close code for a key or origin that stopped being allowed mid-stream: policy violation. */
const CLOSE_POLICY = 1008;

type RawData = Buffer | ArrayBuffer | Buffer[];

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/**
 * `GET /v1/stream?key=pk_...`: the sdk's WebSocket. Key and Origin are checked at the upgrade
 * (a refusal is a plain HTTP 401/403/503). Each text message is one batch frame, answered with
 * an `ack` after its events committed or a `nack`.
 */
export const streamRoutes: FastifyPluginAsync<IngestDeps> = async (app, deps) => {
  app.route({
    method: 'GET',
    url: '/v1/stream',
    onRequest: accessHook(deps.stores, { cors: false }),
    // Reached only by a plain GET: the endpoint speaks WebSocket and nothing else.
    handler: async () => {
      throw new AppError('WB_ERR_BAD_REQUEST', '/v1/stream expects a WebSocket upgrade');
    },
    wsHandler: (socket, request) => serveStream(socket, request, deps),
  });
};

function serveStream(socket: WebSocket, request: FastifyRequest, deps: IngestDeps): void {
  const { store, publicKey } = grantOf(request);
  const origin = request.headers.origin;
  const device = deviceFromHeaders(request.headers);
  const ip = clientIp(request);
  const log = request.log.child({ storeId: store.id });
  const count = deps.count('ws');
  // Frames are handled as they arrive, up to PAUSE_AT at once, so the frames a socket has in
  // flight can share one group commit; their answers leave in arrival order (seq order), each
  // once its own frame is done. Two frames of a socket may commit in either order: every merge
  // compares event times, never arrival order, so the rows converge all the same.
  let tail: Promise<void> = Promise.resolve();
  let waiting = 0;
  // Set once the store's key or origin stopped being allowed; later frames are not stored.
  let refused = false;

  const send = (frame: ServerFrame): void => {
    // A client that left gets no answer; it resends what was not acked, and dedupe absorbs it.
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
  };
  // What listeners answer the page with (overlay commands), on this same socket.
  const channel: CommandChannel = { send };

  /** One frame's answer, and whether the socket must close once it has been sent. */
  type Answer = { frame: ServerFrame; close?: true } | undefined;

  const handle = async (data: RawData, isBinary: boolean, receivedAt: Date): Promise<Answer> => {
    if (refused) return undefined;
    // Every message counts against the client's address, valid or not; the socket stays open.
    const ipWait = await deps.throttle.frame(ip);
    if (ipWait !== null) {
      count('rate_limited', { stored: 0, duplicate: 0, rejected: 0 });
      return { frame: rateLimited(isBinary ? -1 : parseBatch(textOf(data)).seq, ipWait) };
    }
    if (isBinary) {
      count('invalid', { stored: 0, duplicate: 0, rejected: 0 });
      return { frame: nack(-1, 'invalid', 0, 'frames are JSON text messages, not binary') };
    }
    const text = textOf(data);
    // The cache makes this cheap; it is what lets a revocation or an origin edit reach sockets
    // that were opened before it.
    const access = await checkAccess(deps.stores, publicKey, origin);
    if (!access.ok) {
      // Rare (an outage or a revocation), so reading the seq may cost a parse: it tells the
      // sdk which frame the answer is about.
      const seq = parseBatch(text).seq;
      if (access.code === 'WB_ERR_UNAVAILABLE') {
        return { frame: nack(seq, 'unavailable', retryDelayMs(), access.message) };
      }
      refused = true;
      log.info({ code: access.code }, 'ingest stream no longer allowed');
      return { frame: nack(seq, 'unauthorized', 0, access.message), close: true };
    }
    const answer = await ingestFrame(
      {
        db: deps.db,
        writer: deps.writer,
        storeId: access.store.id,
        receivedAt,
        log,
        listeners: deps.listeners,
        channel,
        device,
        count,
        admit: (events) => deps.throttle.events(publicKey, events),
      },
      text,
    );
    return { frame: answer };
  };

  socket.on('message', (data: RawData, isBinary: boolean) => {
    const receivedAt = new Date();
    waiting += 1;
    if (waiting >= PAUSE_AT && !socket.isPaused) socket.pause();
    // Started now; settled into a value so that a failure waits for its turn in `tail`.
    const answer = handle(data, isBinary, receivedAt).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    tail = tail
      .then(() => answer)
      .then((outcome) => {
        if ('error' in outcome) throw outcome.error;
        if (!outcome.value) return;
        send(outcome.value.frame);
        if (outcome.value.close) {
          socket.close(CLOSE_POLICY, 'store key or origin no longer allowed');
        }
      })
      .catch((error: unknown) => {
        // ingestFrame answers storage failures itself; this is a bug, so the socket ends and
        // the client reconnects and resends.
        log.error(
          { error: error instanceof Error ? error.name : typeof error },
          'ingest stream failed',
        );
        socket.terminate();
      })
      .finally(() => {
        waiting -= 1;
        if (socket.isPaused && waiting <= RESUME_AT) socket.resume();
      });
  });
}

/**
 * The client's address (X-Forwarded-For through trustProxy), read once at the upgrade: after
 * it, the raw request's socket may be gone. One shared bucket when it cannot be read.
 */
function clientIp(request: FastifyRequest): string {
  try {
    return request.ip || 'unknown';
  } catch {
    return 'unknown';
  }
}

function nack(
  seq: number,
  reason: NackFrame['reason'],
  retryAfterMs: number,
  message: string,
): NackFrame {
  return { t: 'nack', seq, retryAfterMs, reason, message };
}
