import type { FastifyBaseLogger } from 'fastify';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import type { CartEnrolment, CartStatus, MessageStatus } from '../db/schema.js';

/*
 * The live bus: what happens to a store's carts and messages, fanned out to the admins watching
 * that store, on whichever node they are connected. With Redis (BullMQ mode) every publish goes
 * through Redis pub/sub, one channel per store, so an event ingested on one node reaches an
 * admin on another; without it an in-process map of listeners does the same on the one node.
 * Delivery is best effort and at most once: the feed is a view, Postgres holds the truth, and a
 * client that missed something reloads it.
 */

/** A cart as the live view shows it: ids, status and numbers only, never personal data. */
export interface LiveCart {
  id: string;
  /** The storefront's own cart id. */
  externalId: string;
  status: CartStatus;
  /** Probability that the cart will not be bought (0–1). */
  score: number;
  valueMinor: number;
  lineCount: number;
  /** ISO time the cart counts as abandoned unless more activity comes; null when it cannot. */
  idleDueAt: string | null;
}

/** What an admin's live feed receives about its store. */
export type LiveMessage =
  | { t: 'cart'; cart: LiveCart }
  | { t: 'decision'; cartId: string; kind: 'abandoned'; enrolment: CartEnrolment }
  | { t: 'message'; messageId: string; cartId: string; status: MessageStatus };

/** What the bus carries: the feed's messages, and word that an admin session has ended. */
export type BusMessage = LiveMessage | { t: 'session_ended'; sessionId: string };

/**
 * Publishes to the admins watching a store. Never throws and never waits: a message nobody
 * watches, or one Redis cannot take right now, is dropped. Fields other than the ones of
 * `LiveMessage` are never forwarded, and a message of the wrong shape is dropped whole.
 *
 * @example
 *   live.publish(storeId, { t: 'decision', cartId, kind: 'abandoned', enrolment: 'enrolled' });
 *   live.publish(storeId, { t: 'message', messageId, cartId, status: 'sent' });
 */
export interface LivePublisher {
  publish(storeId: string, ...messages: LiveMessage[]): void;
}

/** Stops a listener; `ready` settles once its messages are flowing (Redis confirmed the channel). */
export type Unsubscribe = (() => void) & { readonly ready: Promise<void> };

export interface LiveBus extends LivePublisher {
  /** Calls `listener` with every message published for `storeId` from now on, on any node. */
  subscribe(storeId: string, listener: (message: BusMessage) => void): Unsubscribe;
  /**
   * Whether a publish for `storeId` may reach anyone, so publishers can skip building messages:
   * false when no admin of the store is connected. With Redis, where the watchers may be on
   * other nodes, the answer comes from Redis (`PUBSUB NUMSUB`) and "nobody" is trusted for
   * `watchCheckMs`; a new feed says `ready` only after that long, so it misses nothing.
   */
  watched(storeId: string): boolean;
  /** Closes the feeds of one admin session, on every node (after logout). */
  endSession(storeId: string, sessionId: string): void;
  close(): Promise<void>;
}

export interface LiveBusOptions {
  /** Redis to fan out through (BullMQ mode); absent: in-process, single node. */
  redisUrl?: string | undefined;
  /** Channel prefix (the queue prefix), so deployments can share one Redis. */
  prefix: string;
  logger: FastifyBaseLogger;
  /** With Redis: how long an answer "nobody watches this store" is trusted (default 1 s). */
  watchCheckMs?: number;
}

/** Publishes held while the first connection to Redis is being made; more are dropped. */
const MAX_HELD_BEFORE_READY = 1_000;
const MAX_ID_LENGTH = 200;
/** Stores whose watch state is remembered; past this the memory starts again. */
const MAX_REMEMBERED_STORES = 10_000;

/**
 * Makes the bus: Redis pub/sub when `redisUrl` is set (one publishing connection, opened now,
 * and one subscribing connection per process, opened on the first `subscribe`), in-process
 * otherwise.
 *
 * @example
 *   const live = createLiveBus({ redisUrl: config.redisUrl, prefix: config.queuePrefix, logger });
 *   const stop = live.subscribe(storeId, (message) => socket.send(JSON.stringify(message)));
 *   await stop.ready;
 *   live.publish(storeId, { t: 'message', messageId, cartId, status: 'sent' });
 *   stop();
 *   await live.close();
 */
export function createLiveBus(options: LiveBusOptions): LiveBus {
  if (typeof options.prefix !== 'string' || options.prefix.length === 0) {
    throw new Error('live bus: option "prefix" must be a non-empty string');
  }
  const watchCheckMs = options.watchCheckMs ?? 1_000;
  if (!Number.isInteger(watchCheckMs) || watchCheckMs < 0) {
    throw new Error('live bus: option "watchCheckMs" must be a non-negative integer');
  }
  return options.redisUrl
    ? redisBus(options.redisUrl, options.prefix, options.logger, watchCheckMs)
    : localBus(options.logger);
}

type Listener = (message: BusMessage) => void;

function deliver(listeners: Iterable<Listener>, message: BusMessage, log: FastifyBaseLogger) {
  for (const listener of listeners) {
    try {
      listener(message);
    } catch (error) {
      // One broken watcher must not keep the message from the others, nor fail the publisher.
      log.error({ error: errorName(error) }, 'a live feed listener failed');
    }
  }
}

function localBus(log: FastifyBaseLogger): LiveBus {
  const byStore = new Map<string, Set<Listener>>();
  const send = (storeId: string, messages: readonly BusMessage[]): void => {
    const listeners = byStore.get(storeId);
    if (!listeners) return;
    for (const message of messages) deliver([...listeners], message, log);
  };
  return {
    publish(storeId, ...messages) {
      // No watcher, no work: the usual case on a node nobody is watching.
      if (!byStore.has(storeId)) return;
      send(storeId, sanitize(messages, log));
    },
    subscribe(storeId, listener) {
      let listeners = byStore.get(storeId);
      if (!listeners) {
        listeners = new Set();
        byStore.set(storeId, listeners);
      }
      listeners.add(listener);
      const unsubscribe = () => {
        const current = byStore.get(storeId);
        if (!current?.delete(listener)) return;
        if (current.size === 0) byStore.delete(storeId);
      };
      return Object.assign(unsubscribe, { ready: Promise.resolve() });
    },
    watched: (storeId) => byStore.has(storeId),
    endSession(storeId, sessionId) {
      send(storeId, [{ t: 'session_ended', sessionId }]);
    },
    async close() {
      byStore.clear();
    },
  };
}

interface Channel {
  storeId: string;
  listeners: Set<Listener>;
  ready: Promise<void>;
}

function redisBus(
  redisUrl: string,
  prefix: string,
  log: FastifyBaseLogger,
  watchCheckMs: number,
): LiveBus {
  const channelOf = (storeId: string) => `${prefix}:live:{${storeId}}`;
  // Publishing must never queue without bound while Redis is away: no offline queue, no
  // retries, and a warning once per outage. What cannot be published is dropped.
  const publisher = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
  });
  let everReady = false;
  let down = false;
  let closed = false;
  const held: [string, string][] = [];
  const failed = (error: unknown): void => {
    if (down || closed) return;
    down = true;
    log.warn({ error: errorName(error) }, 'live feed: redis unavailable, updates are dropped');
  };
  const send = (channel: string, payload: string): void => {
    publisher.publish(channel, payload).then(() => {
      if (down) {
        down = false;
        log.info('live feed: redis reachable again');
      }
    }, failed);
  };
  publisher.on('error', failed);
  publisher.on('ready', () => {
    // Publishes made while the first connection was opening go out now, in order.
    everReady = true;
    for (const [channel, payload] of held.splice(0)) send(channel, payload);
  });
  const publishRaw = (storeId: string, messages: readonly BusMessage[]): void => {
    if (closed || messages.length === 0) return;
    const channel = channelOf(storeId);
    const payload = JSON.stringify(messages);
    if (publisher.status === 'ready') send(channel, payload);
    else if (!everReady && held.length < MAX_HELD_BEFORE_READY) held.push([channel, payload]);
    else failed(new Error('not connected'));
  };

  // Whether anyone watches a store, as Redis last said: an answer "nobody" holds until
  // `watchCheckMs` after the question was sent. A feed that subscribes later says `ready` only
  // `watchCheckMs` after Redis confirmed its channel, by when every such answer has lapsed.
  const watchers = new Map<string, { watched: boolean; until: number }>();
  const asking = new Set<string>();
  const ask = (storeId: string): void => {
    if (asking.has(storeId) || publisher.status !== 'ready') return;
    asking.add(storeId);
    const askedAt = performance.now();
    publisher.pubsub('NUMSUB', channelOf(storeId)).then(
      (reply) => {
        asking.delete(storeId);
        if (watchers.size >= MAX_REMEMBERED_STORES) watchers.clear();
        const count = Number((reply as unknown[])[1]);
        watchers.set(storeId, { watched: !(count === 0), until: askedAt + watchCheckMs });
      },
      () => {
        asking.delete(storeId);
      },
    );
  };
  const watched = (storeId: string): boolean => {
    if (closed) return false;
    const known = watchers.get(storeId);
    if (known && performance.now() < known.until) return known.watched;
    ask(storeId);
    // Until Redis answers, someone may be watching.
    return true;
  };

  // One subscribing connection per process, made when the first admin connects here. It waits
  // for Redis and resubscribes its channels after a reconnect (ioredis does both).
  let subscriber: Redis | undefined;
  const channels = new Map<string, Channel>();
  const subscriberConnection = (): Redis => {
    if (subscriber) return subscriber;
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    let subscriberDown = false;
    connection.on('error', (error: unknown) => {
      if (subscriberDown || closed) return;
      subscriberDown = true;
      log.warn({ error: errorName(error) }, 'live feed: subscription to redis interrupted');
    });
    connection.on('ready', () => {
      subscriberDown = false;
    });
    connection.on('message', (name: string, payload: string) => {
      const channel = channels.get(name);
      if (!channel) return;
      let messages: unknown;
      try {
        messages = JSON.parse(payload);
      } catch {
        return;
      }
      if (!Array.isArray(messages)) return;
      for (const message of sanitizeBus(messages, log))
        deliver([...channel.listeners], message, log);
    });
    subscriber = connection;
    return connection;
  };

  return {
    publish(storeId, ...messages) {
      if (watched(storeId)) publishRaw(storeId, sanitize(messages, log));
    },
    subscribe(storeId, listener) {
      const name = channelOf(storeId);
      let channel = channels.get(name);
      if (!channel) {
        const connection = subscriberConnection();
        const ready = connection
          .subscribe(name)
          .then(() => new Promise<void>((resolve) => setTimeout(resolve, watchCheckMs)));
        // Watched by every listener's `ready`; this keeps an unwatched failure from being
        // reported as unhandled.
        ready.catch(() => {});
        channel = { storeId, listeners: new Set(), ready };
        channels.set(name, channel);
      }
      channel.listeners.add(listener);
      const joined = channel;
      const unsubscribe = () => {
        if (!joined.listeners.delete(listener) || joined.listeners.size > 0) return;
        if (channels.get(name) === joined) channels.delete(name);
        // Commands on one connection run in order, so a later subscribe to the same channel
        // comes after this and stands.
        subscriber?.unsubscribe(name).catch(() => {});
      };
      return Object.assign(unsubscribe, { ready: joined.ready });
    },
    watched,
    endSession(storeId, sessionId) {
      publishRaw(storeId, [{ t: 'session_ended', sessionId }]);
    },
    async close() {
      if (closed) return;
      closed = true;
      held.length = 0;
      channels.clear();
      subscriber?.disconnect();
      try {
        // QUIT lets publishes already sent leave first.
        if (publisher.status === 'ready') await publisher.quit();
      } catch {
        // Closing anyway.
      } finally {
        publisher.disconnect();
      }
    },
  };
}

const cartStatuses = new Set<CartStatus>([
  'active',
  'checkout',
  'abandoned',
  'converted',
  'recovered',
  'emptied',
]);
const enrolments = new Set<CartEnrolment>(['enrolled', 'no_campaign', 'no_channel']);
const messageStatuses = new Set<MessageStatus>([
  'scheduled',
  'sending',
  'sent',
  'suppressed',
  'cancelled',
  'failed',
]);

const isId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/**
 * Rebuilds a message from the fields the feed may carry, or undefined when it does not have
 * the feed's shape. Building anew (rather than passing the object on) is what keeps a field
 * added by mistake, an address for instance, out of every admin's browser.
 */
export function liveMessage(input: unknown): LiveMessage | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const message = input as Record<string, unknown>;
  switch (message.t) {
    case 'cart': {
      const cart = message.cart as Record<string, unknown> | null | undefined;
      if (typeof cart !== 'object' || cart === null) return undefined;
      const { id, externalId, status, score, valueMinor, lineCount, idleDueAt } = cart;
      if (!isId(id) || !isId(externalId) || !cartStatuses.has(status as CartStatus)) {
        return undefined;
      }
      if (!isCount(score) || !isCount(valueMinor) || !isCount(lineCount)) return undefined;
      if (idleDueAt !== null && !(typeof idleDueAt === 'string' && idleDueAt.length <= 40)) {
        return undefined;
      }
      return {
        t: 'cart',
        cart: {
          id,
          externalId,
          status: status as CartStatus,
          score,
          valueMinor,
          lineCount,
          idleDueAt,
        },
      };
    }
    case 'decision': {
      const { cartId, kind, enrolment } = message;
      if (!isId(cartId) || kind !== 'abandoned' || !enrolments.has(enrolment as CartEnrolment)) {
        return undefined;
      }
      return { t: 'decision', cartId, kind, enrolment: enrolment as CartEnrolment };
    }
    case 'message': {
      const { messageId, cartId, status } = message;
      if (!isId(messageId) || !isId(cartId) || !messageStatuses.has(status as MessageStatus)) {
        return undefined;
      }
      return { t: 'message', messageId, cartId, status: status as MessageStatus };
    }
    default:
      return undefined;
  }
}

function sanitize(messages: readonly unknown[], log: FastifyBaseLogger): LiveMessage[] {
  const clean: LiveMessage[] = [];
  for (const message of messages) {
    const rebuilt = liveMessage(message);
    if (rebuilt) clean.push(rebuilt);
    else log.warn({ t: (message as { t?: unknown } | null)?.t }, 'live feed: message dropped');
  }
  return clean;
}

function sanitizeBus(messages: readonly unknown[], log: FastifyBaseLogger): BusMessage[] {
  const clean: BusMessage[] = [];
  for (const message of messages) {
    const ended = message as { t?: unknown; sessionId?: unknown } | null;
    if (ended?.t === 'session_ended' && isId(ended.sessionId)) {
      clean.push({ t: 'session_ended', sessionId: ended.sessionId });
    } else {
      clean.push(...sanitize([message], log));
    }
  }
  return clean;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The live bus: publish what admins should see as it happens (see `LivePublisher`). */
    live: LiveBus;
  }
}

export interface LivePluginOptions {
  /** An existing bus (owned by the caller) or settings to open one (owned by the app). */
  bus?: LiveBus;
  redisUrl?: string | undefined;
  prefix?: string;
}

/** Decorates the app with `app.live` and closes the bus with the app. */
export const livePlugin = fp<LivePluginOptions>(
  async (app, options) => {
    if (options.bus) {
      app.decorate('live', options.bus);
      return;
    }
    const bus = createLiveBus({
      redisUrl: options.redisUrl,
      prefix: options.prefix ?? 'winback',
      logger: app.log.child({ component: 'live' }),
    });
    app.decorate('live', bus);
    app.addHook('onClose', () => bus.close());
  },
  { name: 'winback-live' },
);
