import { type BusMessage, createLiveBus, type LiveBus, type LiveMessage } from '@winback/server';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs, uniqueName } from './helpers/services.js';

// The live bus across nodes on real Redis: two buses are two nodes of one deployment. A third
// connection pattern-subscribes to every store's channel to see what is really published
// (pattern subscriptions are not counted as watchers, so it changes nothing it observes).

const redisUrl = needs('redis');
const logger = Fastify({ logger: false }).log;

const cart = (id: string): LiveMessage => ({
  t: 'cart',
  cart: {
    id,
    externalId: `ext-${id}`,
    status: 'active',
    score: 0.5,
    valueMinor: 1000,
    lineCount: 1,
    idleDueAt: null,
  },
});

describe.skipIf(!redisUrl)('live bus on Redis', () => {
  const prefix = uniqueName('wb_bus');
  const WATCH_CHECK_MS = 300;
  let nodeA: LiveBus;
  let nodeB: LiveBus;
  let observer: Redis;
  const published: { storeId: string; messages: BusMessage[] }[] = [];

  beforeAll(async () => {
    nodeA = createLiveBus({ redisUrl, prefix, logger, watchCheckMs: WATCH_CHECK_MS });
    nodeB = createLiveBus({ redisUrl, prefix, logger, watchCheckMs: WATCH_CHECK_MS });
    observer = new Redis(redisUrl!);
    observer.on('pmessage', (_pattern: string, channel: string, payload: string) => {
      const storeId = /\{([^}]+)\}$/.exec(channel)?.[1] ?? '';
      published.push({ storeId, messages: JSON.parse(payload) });
    });
    await observer.psubscribe(`${prefix}:live:*`);
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    observer?.disconnect();
  });

  const publishedFor = (storeId: string) =>
    published.filter((entry) => entry.storeId === storeId).flatMap((entry) => entry.messages);

  it('stops publishing for a store nobody watches once Redis has said so', async () => {
    const unwatched = uniqueName('store');
    const marker = uniqueName('store');
    // The first publish goes out while Redis is asked whether anyone watches.
    nodeA.publish(unwatched, cart('first'));
    await expect.poll(() => nodeA.watched(unwatched)).toBe(false);
    nodeA.publish(unwatched, cart('second'), cart('third'));
    nodeA.publish(marker, cart('marker'));
    // Publishes on one connection arrive in order: once the marker is seen, anything published
    // for the unwatched store before it has arrived too.
    await expect.poll(() => publishedFor(marker)).toHaveLength(1);
    expect(publishedFor(unwatched)).toEqual([cart('first')]);
  });

  it('misses nothing published after a new feed on another node says ready', async () => {
    const storeId = uniqueName('store');
    nodeA.publish(storeId, cart('before'));
    await expect.poll(() => nodeA.watched(storeId)).toBe(false);

    const seen: BusMessage[] = [];
    const stop = nodeB.subscribe(storeId, (message) => seen.push(message));
    await stop.ready;
    // Node A was told "nobody" just before; the feed's ready waited that answer out.
    nodeA.publish(storeId, cart('after'));
    await expect.poll(() => seen).toEqual([cart('after')]);
    expect(nodeA.watched(storeId)).toBe(true);
    stop();
  });

  it('always carries a session end, watched or not', async () => {
    const storeId = uniqueName('store');
    nodeA.publish(storeId, cart('x'));
    await expect.poll(() => nodeA.watched(storeId)).toBe(false);
    nodeA.endSession(storeId, 'session-1');
    await expect
      .poll(() => publishedFor(storeId))
      .toContainEqual({
        t: 'session_ended',
        sessionId: 'session-1',
      });
  });
});
