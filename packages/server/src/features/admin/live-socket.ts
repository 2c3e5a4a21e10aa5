import type { LiveMessage } from '../../plugins/live.js';

/** The part of a `ws` socket the live feed uses (a fake one in unit tests). */
export interface FeedSocket {
  readonly readyState: number;
  /** Bytes queued by `send` and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  send(data: string, callback?: (error?: Error) => void): void;
  ping(): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** What the feed itself says, besides the store's messages. */
export type FeedFrame =
  | LiveMessage
  /** The feed is live: everything published from now on follows. */
  | { t: 'ready' }
  /** Some updates were dropped because the client read too slowly: reload the view. */
  | { t: 'resync' };

export interface FeedLimits {
  /** Above this many unsent bytes, messages wait in a coalescing queue instead. */
  highWaterBytes: number;
  /** The queue is sent again once the unsent bytes fall to this. */
  lowWaterBytes: number;
  /** Distinct carts and messages waiting; past this the queue is dropped for one `resync`. */
  maxPending: number;
}

export const defaultFeedLimits: FeedLimits = {
  highWaterBytes: 256 * 1024,
  lowWaterBytes: 64 * 1024,
  maxPending: 1_000,
};

const OPEN = 1;

/** Later news of the same cart or message makes earlier news of it useless. */
function coalesceKey(message: LiveMessage): string {
  switch (message.t) {
    case 'cart':
      return `cart:${message.cart.id}`;
    case 'decision':
      return `decision:${message.cartId}`;
    case 'message':
      return `message:${message.messageId}`;
  }
}

export interface Feed {
  /** Sends `{ t: 'ready' }`, then whatever arrived before. Messages before it are held. */
  start(): void;
  push(message: LiveMessage): void;
  /** Messages waiting (for tests and metrics). */
  readonly pending: number;
}

/**
 * One admin socket's outgoing side, bounded however slowly the client reads: while the socket
 * has more than `highWaterBytes` unsent, messages wait in a queue that keeps only the latest
 * news per cart or message (a cart message carries the cart's whole state), sent once the
 * socket drains (each write's callback checks). If even that queue grows past `maxPending`, it
 * is dropped and the client is told to `resync` when the socket drains.
 */
export function createFeed(socket: FeedSocket, limits: FeedLimits = defaultFeedLimits): Feed {
  const pending = new Map<string, LiveMessage>();
  let started = false;
  let lost = false;

  const write = (frame: FeedFrame): void => {
    socket.send(JSON.stringify(frame), afterWrite);
  };
  const flush = (): void => {
    if (socket.readyState !== OPEN) return;
    if (lost) {
      lost = false;
      write({ t: 'resync' });
    }
    for (const [key, message] of pending) {
      if (socket.bufferedAmount >= limits.highWaterBytes) return;
      pending.delete(key);
      write(message);
    }
  };
  function afterWrite(): void {
    if (started && (pending.size > 0 || lost) && socket.bufferedAmount <= limits.lowWaterBytes) {
      flush();
    }
  }

  return {
    start() {
      if (started || socket.readyState !== OPEN) return;
      started = true;
      write({ t: 'ready' });
      flush();
    },
    push(message) {
      if (socket.readyState !== OPEN) return;
      if (started && pending.size === 0 && !lost) {
        if (socket.bufferedAmount < limits.highWaterBytes) {
          write(message);
          return;
        }
      }
      // Until the resync, the client will reload anyway: older news is worth nothing.
      if (lost) return;
      const key = coalesceKey(message);
      if (!pending.delete(key) && pending.size >= limits.maxPending) {
        pending.clear();
        lost = true;
        return;
      }
      pending.set(key, message);
    },
    get pending() {
      return pending.size;
    },
  };
}

/** Close code for a feed whose session ended (expired or signed out): sign in again. */
export const CLOSE_SESSION_ENDED = 4401;

export interface Watch {
  /** Call on every pong. */
  pong(): void;
  /** Stop watching (the socket closed). */
  stop(): void;
}

export interface Heartbeat {
  /** Watches a socket of one admin session until `expiresAt` (ms since the epoch). */
  watch(socket: FeedSocket, expiresAt: number, sessionId?: string): Watch;
  /** How many sockets are watched. */
  readonly size: number;
  stop(): void;
}

/**
 * Which of these sessions still stand (not signed out, not expired, store not revoked). A
 * rejection (the database is away) leaves every feed open until the next beat.
 */
export type SessionCheck = (sessionIds: readonly string[]) => Promise<ReadonlySet<string>>;

/**
 * Pings every watched socket each `intervalMs` and terminates the ones that did not answer the
 * previous ping (a laptop that went to sleep, a dropped network), so dead feeds do not stay
 * subscribed for ever; also closes a feed whose session has expired and, with `check`, one whose
 * session ended some other way (its store revoked, say, from another process). One timer for all
 * sockets, running only while there is one; at most one check in flight.
 */
export function createHeartbeat(
  intervalMs: number,
  now: () => number = Date.now,
  check?: SessionCheck,
): Heartbeat {
  const watched = new Map<
    FeedSocket,
    { expiresAt: number; alive: boolean; sessionId: string | undefined }
  >();
  let timer: ReturnType<typeof setInterval> | undefined;
  let checking = false;

  const recheck = (): void => {
    if (!check || checking) return;
    const ids = new Set<string>();
    for (const state of watched.values()) if (state.sessionId) ids.add(state.sessionId);
    if (ids.size === 0) return;
    checking = true;
    check([...ids]).then(
      (standing) => {
        checking = false;
        for (const [socket, state] of watched) {
          if (!state.sessionId || !ids.has(state.sessionId) || standing.has(state.sessionId)) {
            continue;
          }
          watched.delete(socket);
          socket.close(CLOSE_SESSION_ENDED, 'session ended');
        }
        if (watched.size === 0) stopTimer();
      },
      () => {
        checking = false;
      },
    );
  };
  const beat = (): void => {
    const at = now();
    for (const [socket, state] of watched) {
      if (at >= state.expiresAt) {
        watched.delete(socket);
        socket.close(CLOSE_SESSION_ENDED, 'session expired');
      } else if (!state.alive) {
        watched.delete(socket);
        socket.terminate();
      } else {
        state.alive = false;
        socket.ping();
      }
    }
    recheck();
    if (watched.size === 0) stopTimer();
  };
  const stopTimer = (): void => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };

  return {
    watch(socket, expiresAt, sessionId) {
      const state = { expiresAt, alive: true, sessionId };
      watched.set(socket, state);
      if (timer === undefined) {
        timer = setInterval(beat, intervalMs);
        timer.unref();
      }
      return {
        pong() {
          state.alive = true;
        },
        stop() {
          if (watched.get(socket) === state) watched.delete(socket);
          if (watched.size === 0) stopTimer();
        },
      };
    },
    get size() {
      return watched.size;
    },
    stop() {
      stopTimer();
      watched.clear();
    },
  };
}
