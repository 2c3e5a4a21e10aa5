import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LiveMessage } from '../../plugins/live.js';
import {
  CLOSE_SESSION_ENDED,
  createFeed,
  createHeartbeat,
  type FeedSocket,
} from './live-socket.js';

/** A socket whose unsent bytes the test controls; writes complete when `drain()` is called. */
function fakeSocket() {
  const sent: unknown[] = [];
  const callbacks: (() => void)[] = [];
  const socket = {
    readyState: 1,
    bufferedAmount: 0,
    pings: 0,
    closedWith: undefined as [number | undefined, string | undefined] | undefined,
    terminated: false,
    send(data: string, callback?: () => void) {
      sent.push(JSON.parse(data));
      if (callback) callbacks.push(callback);
    },
    ping() {
      socket.pings += 1;
    },
    close(code?: number, reason?: string) {
      socket.closedWith = [code, reason];
    },
    terminate() {
      socket.terminated = true;
    },
    /** The client read everything: no bytes left, every write's callback runs. */
    drain() {
      socket.bufferedAmount = 0;
      for (const callback of callbacks.splice(0)) callback();
    },
  };
  return { socket: socket satisfies FeedSocket, sent };
}

const cart = (id: string, score: number): LiveMessage => ({
  t: 'cart',
  cart: {
    id,
    externalId: `ext-${id}`,
    status: 'active',
    score,
    valueMinor: 100,
    lineCount: 1,
    idleDueAt: null,
  },
});

const limits = { highWaterBytes: 1000, lowWaterBytes: 100, maxPending: 3 };

describe('live feed socket', () => {
  it('says ready first, then sends what was published before it, then sends straight away', () => {
    const { socket, sent } = fakeSocket();
    const feed = createFeed(socket, limits);
    feed.push(cart('a', 0.1));
    expect(sent).toEqual([]);
    feed.start();
    feed.push(cart('b', 0.2));
    expect(sent).toEqual([{ t: 'ready' }, cart('a', 0.1), cart('b', 0.2)]);
  });

  it('keeps only the latest news per cart while the client reads slowly, and sends it once drained', () => {
    const { socket, sent } = fakeSocket();
    const feed = createFeed(socket, limits);
    feed.start();
    socket.bufferedAmount = 5000;
    feed.push(cart('a', 0.1));
    feed.push(cart('b', 0.2));
    feed.push(cart('a', 0.3));
    feed.push({ t: 'message', messageId: 'm1', cartId: 'a', status: 'sending' });
    feed.push({ t: 'message', messageId: 'm1', cartId: 'a', status: 'sent' });
    expect(sent).toEqual([{ t: 'ready' }]);
    expect(feed.pending).toBe(3);

    socket.drain();
    expect(sent).toEqual([
      { t: 'ready' },
      cart('b', 0.2),
      cart('a', 0.3),
      { t: 'message', messageId: 'm1', cartId: 'a', status: 'sent' },
    ]);
    expect(feed.pending).toBe(0);
  });

  it('drops the queue for one resync when even it would grow past its bound', () => {
    const { socket, sent } = fakeSocket();
    const feed = createFeed(socket, limits);
    feed.start();
    socket.bufferedAmount = 5000;
    for (let i = 0; i < 50; i += 1) feed.push(cart(`c${i}`, 0.5));
    expect(feed.pending).toBeLessThanOrEqual(limits.maxPending);
    socket.drain();
    expect(sent).toEqual([{ t: 'ready' }, { t: 'resync' }]);
    // Then news flows again.
    feed.push(cart('z', 0.9));
    expect(sent.at(-1)).toEqual(cart('z', 0.9));
  });

  it('sends nothing on a socket that is no longer open', () => {
    const { socket, sent } = fakeSocket();
    const feed = createFeed(socket, limits);
    feed.start();
    socket.readyState = 3;
    feed.push(cart('a', 0.1));
    expect(sent).toEqual([{ t: 'ready' }]);
    expect(feed.pending).toBe(0);
  });
});

describe('live feed heartbeat', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('pings, terminates a socket that missed a pong, and closes one whose session expired', () => {
    vi.useFakeTimers({ now: 0 });
    const heartbeat = createHeartbeat(1000);
    const answering = fakeSocket().socket;
    const silent = fakeSocket().socket;
    const expiring = fakeSocket().socket;
    const answer = heartbeat.watch(answering, 1_000_000);
    heartbeat.watch(silent, 1_000_000);
    const expire = heartbeat.watch(expiring, 2500);

    vi.advanceTimersByTime(1000);
    expect([answering.pings, silent.pings, expiring.pings]).toEqual([1, 1, 1]);
    answer.pong();
    expire.pong();
    vi.advanceTimersByTime(1000);
    expect(silent.terminated).toBe(true);
    expect(answering.terminated).toBe(false);
    expect(expiring.terminated).toBe(false);
    expect(answering.pings).toBe(2);
    answer.pong();
    expire.pong();
    vi.advanceTimersByTime(1000);
    expect(expiring.closedWith).toEqual([CLOSE_SESSION_ENDED, 'session expired']);
    expect(heartbeat.size).toBe(1);
    heartbeat.stop();
  });

  it('runs no timer while no socket is watched', () => {
    vi.useFakeTimers({ now: 0 });
    const heartbeat = createHeartbeat(1000);
    expect(vi.getTimerCount()).toBe(0);
    const watch = heartbeat.watch(fakeSocket().socket, 1_000_000);
    expect(vi.getTimerCount()).toBe(1);
    watch.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(heartbeat.size).toBe(0);
  });

  it('closes the feeds whose session no longer stands, and keeps all when the check fails', async () => {
    vi.useFakeTimers({ now: 0 });
    let standing: string[] | Error = ['s1'];
    const asked: string[][] = [];
    const heartbeat = createHeartbeat(1000, Date.now, async (ids) => {
      asked.push([...ids].sort());
      if (standing instanceof Error) throw standing;
      return new Set(standing);
    });
    const kept = fakeSocket().socket;
    const alsoKept = fakeSocket().socket;
    const revoked = fakeSocket().socket;
    const keep = heartbeat.watch(kept, 1_000_000, 's1');
    const keepToo = heartbeat.watch(alsoKept, 1_000_000, 's1');
    const gone = heartbeat.watch(revoked, 1_000_000, 's2');

    standing = new Error('database unavailable');
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked).toEqual([['s1', 's2']]);
    expect(revoked.closedWith).toBeUndefined();

    for (const watch of [keep, keepToo, gone]) watch.pong();
    standing = ['s1'];
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked).toHaveLength(2);
    expect(revoked.closedWith).toEqual([CLOSE_SESSION_ENDED, 'session ended']);
    expect(kept.closedWith).toBeUndefined();
    expect(alsoKept.closedWith).toBeUndefined();
    expect(heartbeat.size).toBe(2);
    heartbeat.stop();
  });
});
