import type { WebSocket } from '@fastify/websocket';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { LiveBus, LiveMessage } from '../../plugins/live.js';
import type { EventsStoredListener } from '../ingest/index.js';
import { type AdminPrincipal, adminOf, sameOriginUpgrade } from './auth.js';
import {
  CLOSE_SESSION_ENDED,
  createFeed,
  createHeartbeat,
  type FeedLimits,
  type Heartbeat,
  type SessionCheck,
} from './live-socket.js';

/** Close code when the bus could not subscribe: a server-side failure, reconnect later. */
const CLOSE_UNAVAILABLE = 1011;

/**
 * An ingest listener: after each committed batch, the carts it changed go to the admins
 * watching the store. On a node where nobody watches (local mode) it does nothing.
 */
export function liveCartUpdates(live: LiveBus): EventsStoredListener {
  return (batch) => {
    if (batch.carts.length === 0 || !live.watched(batch.storeId)) return;
    const messages: LiveMessage[] = batch.carts.map((cart) => ({
      t: 'cart',
      cart: {
        id: cart.id,
        externalId: cart.externalId,
        status: cart.status,
        score: cart.score,
        valueMinor: cart.valueMinor,
        lineCount: cart.lineCount,
        idleDueAt: cart.idleDueAt ? cart.idleDueAt.toISOString() : null,
      },
    }));
    live.publish(batch.storeId, ...messages);
  };
}

export interface LiveFeedOptions {
  live: LiveBus;
  ownOrigin: string;
  heartbeatMs: number;
  feedLimits: FeedLimits;
  /** Which sessions still stand; feeds of the others are closed at the next heartbeat. */
  sessionCheck?: SessionCheck;
}

/**
 * `GET /admin/live`: the store's live feed over WebSocket. The upgrade needs the admin's own
 * Origin (403) and a session cookie (401), both checked before upgrading. Then it sends
 * `{ t: 'ready' }` once the feed is live and JSON messages for the session's store only; what
 * the client sends is ignored.
 */
export function registerLiveFeed(app: FastifyInstance, options: LiveFeedOptions): void {
  const heartbeat = createHeartbeat(options.heartbeatMs, Date.now, options.sessionCheck);
  app.addHook('onClose', async () => heartbeat.stop());
  app.route({
    method: 'GET',
    url: '/admin/live',
    onRequest: sameOriginUpgrade(options.ownOrigin),
    preHandler: app.requireAdmin,
    // Reached only by a plain GET: the endpoint speaks WebSocket and nothing else.
    handler: async () => {
      throw new AppError('WB_ERR_BAD_REQUEST', '/admin/live expects a WebSocket upgrade');
    },
    wsHandler: (socket, request) =>
      follow(socket, adminOf(request), options, heartbeat, request.log),
  });
}

function follow(
  socket: WebSocket,
  admin: AdminPrincipal,
  options: LiveFeedOptions,
  heartbeat: Heartbeat,
  log: FastifyBaseLogger,
): void {
  const feed = createFeed(socket, options.feedLimits);
  const watch = heartbeat.watch(socket, admin.expiresAt.getTime(), admin.sessionId);
  const unsubscribe = options.live.subscribe(admin.storeId, (message) => {
    if (message.t !== 'session_ended') feed.push(message);
    else if (message.sessionId === admin.sessionId) {
      socket.close(CLOSE_SESSION_ENDED, 'signed out');
    }
  });
  unsubscribe.ready.then(
    () => feed.start(),
    (error: unknown) => {
      log.warn(
        { storeId: admin.storeId, error: error instanceof Error ? error.name : typeof error },
        'live feed could not subscribe',
      );
      socket.close(CLOSE_UNAVAILABLE, 'live feed unavailable, reconnect later');
    },
  );
  socket.on('pong', watch.pong);
  // The feed is one-way; a client's messages are read (so the socket keeps flowing) and dropped.
  socket.on('message', () => {});
  socket.on('close', () => {
    unsubscribe();
    watch.stop();
  });
  log.debug({ storeId: admin.storeId, sessionId: admin.sessionId }, 'live feed opened');
}
