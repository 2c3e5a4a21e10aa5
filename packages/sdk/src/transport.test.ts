import type { TrackedEvent } from '@winback/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpSocket } from './http.js';
import { ulid } from './ids.js';
import type { LazyPart } from './lazy.js';
import { dropped, enqueue, loadQueue, QUEUE_BOUNDS, queued } from './queue.js';
import { unlisten } from './safe.js';
import { flushStorage } from './storage.js';
import {
  ackOf,
  FakeSocket,
  fakeNetwork,
  type Network,
  settled,
  setVisibility,
} from './testing/fake-network.js';
import { ACK_TIMEOUT_MS, BACKOFF, closeTransport, on, openTransport, pump } from './transport.js';

const STREAM = 'wss://winback.example/v1/stream?key=pk_test_0123456789';
const COLLECT = 'https://winback.example/v1/collect?key=pk_test_0123456789';

const event = (step = 'shipping', padding = 0): TrackedEvent => ({
  id: ulid(),
  type: 'checkout_step',
  ts: Date.now(),
  sessionId: 'session-0001',
  anonymousId: 'anonymous-0001',
  step: step + 'x'.repeat(padding),
});
const queue = (...events: TrackedEvent[]) => {
  for (const each of events) enqueue(each);
  pump();
  return events.map((each) => each.id);
};
const idsOf = (frame: { events: TrackedEvent[] } | undefined) =>
  frame?.events.map((each) => each.id);
/** A fetch response as the sdk reads it. */
const reply = (status: number, body: unknown = {}, headers: Record<string, string> = {}) => ({
  ok: status >= 200 && status < 300,
  status,
  headers: new Headers(headers),
  json: async () => body,
});

let network: Network;
let commands: unknown[];
let warnings: ReturnType<typeof vi.spyOn>;
/** What the lazy part gives the transport: its HTTP stand-in for the socket, or nothing. */
let lazyPart: LazyPart | undefined;
let restores: number;
const start = () =>
  openTransport(
    [STREAM, COLLECT],
    async () => lazyPart,
    () => restores++,
  );

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  flushStorage();
  localStorage.clear();
  network = fakeNetwork();
  warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
  commands = [];
  lazyPart = { HttpSocket } as LazyPart;
  restores = 0;
  loadQueue('wb_q_test');
  on('command', (command) => commands.push(command));
  start();
});

afterEach(() => {
  closeTransport();
  unlisten();
  vi.clearAllTimers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
  Object.defineProperty(document, 'hidden', { value: false, configurable: true });
});

/** Runs the timers, one at a time, until the transport has POSTed `count` frames. */
async function untilPosted(count = 1) {
  while (network.fetch.mock.calls.length < count) await vi.advanceTimersToNextTimerAsync();
}

/** Fails WebSocket opens until the transport gives up on WebSockets and POSTs its first frame. */
async function fallBackToHttp() {
  FakeSocket.last.drop();
  vi.advanceTimersByTime(BACKOFF.capMs);
  FakeSocket.last.drop();
  // HTTP takes over from the next try on, after a back-off.
  await untilPosted();
  await settled();
}

describe('WebSocket delivery', () => {
  it('opens the socket at start, before any event, so server commands can arrive', () => {
    expect(FakeSocket.instances).toHaveLength(1);
    expect(FakeSocket.last.url).toBe(STREAM);
  });

  it('keeps events queued until the server acks their frame', () => {
    const ids = queue(event('a'), event('b'));
    expect(FakeSocket.last.sent).toHaveLength(0);
    FakeSocket.last.open();
    const [frame] = FakeSocket.last.frames;
    expect(frame).toMatchObject({ t: 'batch', events: [{ id: ids[0] }, { id: ids[1] }] });
    expect(queued).toHaveLength(2);
    FakeSocket.last.answer(ackOf(frame));
    expect(queued).toHaveLength(0);
  });

  it('keeps one frame in flight; what is queued meanwhile goes in the next, in order', () => {
    FakeSocket.last.open();
    const first = queue(event('a'));
    const later = queue(event('b'), event('c'));
    expect(FakeSocket.last.frames.map(idsOf)).toEqual([first]);
    FakeSocket.last.answer(ackOf(FakeSocket.last.frames[0]));
    expect(FakeSocket.last.frames.map(idsOf)).toEqual([first, later]);
    const [one, two] = FakeSocket.last.frames;
    expect(two?.seq).toBeGreaterThan(one?.seq ?? Number.POSITIVE_INFINITY);
  });

  it('resends unacked events with the same ids on a new socket after a drop', () => {
    FakeSocket.last.open();
    const ids = queue(event('a'), event('b'));
    const lost = FakeSocket.last.frames[0];
    FakeSocket.last.drop();
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(BACKOFF.capMs);
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.last.open();
    const [resent] = FakeSocket.last.frames;
    expect(idsOf(resent)).toEqual(ids);
    expect(resent?.seq).not.toBe(lost?.seq);
  });

  it('reconnects with jittered exponential back-off, capped', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // the jitter then scales each step by 0.75
    FakeSocket.last.open();
    for (let attempt = 0; attempt < 8; attempt++) {
      const step = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** attempt) * 0.75;
      const sockets = FakeSocket.instances.length;
      FakeSocket.last.drop();
      vi.advanceTimersByTime(step - 1);
      expect(FakeSocket.instances).toHaveLength(sockets);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.instances).toHaveLength(sockets + 1);
    }
    // Opening resets the back-off.
    FakeSocket.last.open();
    FakeSocket.last.drop();
    vi.advanceTimersByTime(BACKOFF.baseMs * 0.75);
    expect(FakeSocket.last.readyState).toBe(0);
  });

  it('waits at least nack.retryAfterMs before resending', () => {
    FakeSocket.last.open();
    const ids = queue(event());
    const [frame] = FakeSocket.last.frames;
    FakeSocket.last.answer({
      t: 'nack',
      seq: frame?.seq ?? -1,
      reason: 'rate_limited',
      retryAfterMs: 5000,
    });
    vi.advanceTimersByTime(4999);
    expect(FakeSocket.last.sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.last.frames.map(idsOf)).toEqual([ids, ids]);
  });

  it('drops events the server rejected as malformed, warns, and never resends them', () => {
    FakeSocket.last.open();
    queue(event('bad'), event('good'));
    const [frame] = FakeSocket.last.frames;
    FakeSocket.last.answer({
      t: 'ack',
      seq: frame?.seq ?? -1,
      rejected: [{ index: 0, message: 'events.0.step: too long' }],
    });
    expect(queued).toHaveLength(0);
    expect(warnings).toHaveBeenCalledWith('[winback] W11', 'events.0.step: too long');
    vi.advanceTimersByTime(BACKOFF.capMs * 2);
    expect(FakeSocket.last.sent).toHaveLength(1);
  });

  it('stops sending after `unauthorized`, warns, and keeps the events', () => {
    FakeSocket.last.open();
    queue(event());
    const [frame] = FakeSocket.last.frames;
    FakeSocket.last.answer({
      t: 'nack',
      seq: frame?.seq ?? -1,
      reason: 'unauthorized',
      retryAfterMs: 0,
    });
    queue(event());
    vi.advanceTimersByTime(BACKOFF.capMs * 4);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(FakeSocket.last.sent).toHaveLength(1);
    expect(queued).toHaveLength(2);
    expect(warnings).toHaveBeenCalledWith('[winback] W13', '');
    window.dispatchEvent(new Event('pagehide'));
    expect(network.sendBeacon).not.toHaveBeenCalled();
  });

  it('splits a frame the server finds too large, and drops a lone event it can never accept', () => {
    FakeSocket.last.open();
    const ids = queue(event('a'), event('b'), event('c'), event('d'));
    const socket = FakeSocket.last;
    socket.answer({
      t: 'nack',
      seq: socket.frames[0]?.seq ?? -1,
      reason: 'too_large',
      retryAfterMs: 0,
    });
    expect(idsOf(socket.frames[1])).toEqual(ids.slice(0, 2));
    socket.answer(ackOf(socket.frames[1]));
    expect(idsOf(socket.frames[2])).toEqual(ids.slice(2));
    socket.answer(ackOf(socket.frames[2]));

    queue(event('never'));
    socket.answer({
      t: 'nack',
      seq: socket.frames[3]?.seq ?? -1,
      reason: 'invalid',
      retryAfterMs: 0,
    });
    expect(queued).toHaveLength(0);
    expect(warnings).toHaveBeenCalledWith('[winback] W12', '');
  });

  it('reports dropped events in the next frame and forgets the count once acked', () => {
    for (let i = 0; i <= QUEUE_BOUNDS.events + 2; i++) enqueue(event(String(i)));
    expect(dropped).toBe(3);
    FakeSocket.last.open();
    const [frame] = FakeSocket.last.frames;
    expect(frame?.dropped).toBe(3);
    FakeSocket.last.answer(ackOf(frame));
    expect(dropped).toBe(0);
    expect(FakeSocket.last.frames[1]?.dropped).toBeUndefined();
  });

  it('gives up on a socket whose frame goes unanswered, and resends on a new one', () => {
    FakeSocket.last.open();
    const ids = queue(event());
    const silent = FakeSocket.last;
    vi.advanceTimersByTime(ACK_TIMEOUT_MS);
    expect(silent.closedByClient).toBe(true);
    vi.advanceTimersByTime(BACKOFF.capMs);
    FakeSocket.last.open();
    expect(FakeSocket.last).not.toBe(silent);
    expect(idsOf(FakeSocket.last.frames[0])).toEqual(ids);
  });

  it('hands server commands to their listeners', () => {
    FakeSocket.last.open();
    FakeSocket.last.answer({ t: 'cmd', cmd: 'show_overlay', overlay: { id: 'ten-off' } });
    expect(commands).toEqual([{ t: 'cmd', cmd: 'show_overlay', overlay: { id: 'ten-off' } }]);
  });
});

describe('HTTP fallback', () => {
  it('POSTs the same batch frames after two failed opens, with no custom headers', async () => {
    network.fetch.mockImplementation(async (_url: string, init: RequestInit) =>
      reply(200, { t: 'ack', seq: JSON.parse(String(init.body)).seq }),
    );
    const ids = queue(event('a'), event('b'));
    await fallBackToHttp();
    expect(network.fetch).toHaveBeenCalledTimes(1);
    const [url, init] = network.fetch.mock.calls[0] as [string, RequestInit];
    expect(url).toBe(COLLECT);
    expect(init).toMatchObject({ method: 'POST' });
    // A string body is sent as text/plain: a simple request, with no CORS preflight.
    expect(typeof init.body).toBe('string');
    expect(init.headers).toBeUndefined();
    expect(idsOf(network.posted()[0])).toEqual(ids);
    expect(queued).toHaveLength(0);
    expect(FakeSocket.instances).toHaveLength(2);
  });

  it('waits for Retry-After on 503, and stops on 401', async () => {
    network.fetch.mockResolvedValueOnce(reply(503, {}, { 'Retry-After': '7' }));
    queue(event());
    await fallBackToHttp();
    await vi.advanceTimersByTimeAsync(6999);
    expect(network.fetch).toHaveBeenCalledTimes(1);
    network.fetch.mockResolvedValue(reply(401, { error: { code: 'WB_ERR_AUTH', message: 'no' } }));
    await vi.advanceTimersByTimeAsync(1);
    expect(network.fetch).toHaveBeenCalledTimes(2);
    queue(event());
    await vi.advanceTimersByTimeAsync(BACKOFF.capMs * 4);
    expect(network.fetch).toHaveBeenCalledTimes(2);
    expect(queued).toHaveLength(2);
  });

  it('retries after a network error', async () => {
    network.fetch.mockRejectedValueOnce(new TypeError('Failed to fetch'));
    network.fetch.mockImplementation(async (_url: string, init: RequestInit) =>
      reply(200, { t: 'ack', seq: JSON.parse(String(init.body)).seq }),
    );
    queue(event());
    await fallBackToHttp();
    await vi.advanceTimersByTimeAsync(BACKOFF.capMs);
    expect(network.fetch).toHaveBeenCalledTimes(2);
    expect(queued).toHaveLength(0);
  });

  it('never falls back once a socket has opened', async () => {
    FakeSocket.last.open();
    for (let i = 0; i < 4; i++) {
      FakeSocket.last.drop();
      await vi.advanceTimersByTimeAsync(BACKOFF.capMs);
    }
    expect(FakeSocket.instances).toHaveLength(5);
    expect(network.fetch).not.toHaveBeenCalled();
  });

  it('uses HTTP when WebSocket cannot even be constructed', async () => {
    closeTransport();
    unlisten();
    vi.stubGlobal(
      'WebSocket',
      class {
        constructor() {
          throw new DOMException('refused by Content-Security-Policy', 'SecurityError');
        }
      },
    );
    network.fetch.mockImplementation(async (_url: string, init: RequestInit) =>
      reply(200, { t: 'ack', seq: JSON.parse(String(init.body)).seq }),
    );
    enqueue(event());
    start();
    await untilPosted();
    await settled();
    expect(network.fetch).toHaveBeenCalledTimes(1);
    expect(queued).toHaveLength(0);
  });

  it('keeps trying the socket when the HTTP fallback cannot load', async () => {
    lazyPart = undefined;
    const ids = queue(event());
    FakeSocket.last.drop();
    vi.advanceTimersByTime(BACKOFF.capMs);
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(BACKOFF.capMs);
    expect(FakeSocket.instances).toHaveLength(3);
    FakeSocket.last.open();
    expect(idsOf(FakeSocket.last.frames[0])).toEqual(ids);
    expect(network.fetch).not.toHaveBeenCalled();
  });

  it('sends commands and acks over HTTP as the socket would, to the collect URL', async () => {
    network.fetch.mockImplementation(async (_url: string, init: RequestInit) =>
      reply(200, { t: 'ack', seq: JSON.parse(String(init.body)).seq }),
    );
    const socket = new HttpSocket(STREAM);
    const messages: unknown[] = [];
    socket.onopen = () => messages.push('open');
    socket.onmessage = (message) => messages.push(JSON.parse(message.data));
    await vi.advanceTimersByTimeAsync(0);
    socket.send(JSON.stringify({ t: 'batch', seq: 7, events: [] }));
    await vi.advanceTimersByTimeAsync(0);
    expect(messages).toEqual(['open', { t: 'ack', seq: 7 }]);
    expect(network.fetch.mock.calls[0]?.[0]).toBe(COLLECT);
  });
});

describe('page lifecycle', () => {
  it('on page hide, sends everything by beacon in frames under 60 KiB and closes the socket', () => {
    FakeSocket.last.open();
    const socket = FakeSocket.last;
    const ids = queue(...Array.from({ length: 150 }, (_, i) => event(String(i), 1000)));
    window.dispatchEvent(new Event('pagehide'));

    const beacons = network.beacons();
    expect(beacons.length).toBeGreaterThan(1);
    for (const { bytes, frame } of beacons) {
      expect(bytes).toBeLessThanOrEqual(60 * 1024);
      expect(frame.events.length).toBeLessThanOrEqual(100);
    }
    expect(beacons.flatMap(({ frame }) => idsOf(frame))).toEqual(ids);
    expect(network.sendBeacon.mock.calls[0]?.[0]).toBe(COLLECT);
    expect(socket.closedByClient).toBe(true);
    // A beacon is never acked: the events stay queued, and were written to storage right away.
    expect(queued).toHaveLength(150);
    expect(localStorage.getItem('wb_q_test')).toContain(ids[149]);
  });

  it('reopens on pageshow and resends what is still queued', () => {
    FakeSocket.last.open();
    const ids = queue(event());
    window.dispatchEvent(new Event('pagehide'));
    queue(event('while hidden'));
    expect(FakeSocket.instances).toHaveLength(1);
    window.dispatchEvent(new Event('pageshow'));
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.last.open();
    expect(idsOf(FakeSocket.last.frames[0])?.[0]).toBe(ids[0]);
  });

  it('tells when the page comes back from the back-forward cache', () => {
    // (happy-dom's PageTransitionEvent drops `persisted`; browsers set it.)
    const transition = (type: string) => {
      const event = new Event(type);
      Object.defineProperty(event, 'persisted', { value: true });
      window.dispatchEvent(event);
    };
    transition('pagehide');
    expect(restores).toBe(0);
    transition('pageshow');
    expect(restores).toBe(1);
  });

  it('does the same on visibilitychange to hidden and back', () => {
    FakeSocket.last.open();
    queue(event());
    setVisibility('hidden');
    expect(network.sendBeacon).toHaveBeenCalledTimes(1);
    expect(FakeSocket.last.closedByClient).toBe(true);
    setVisibility('visible');
    expect(FakeSocket.instances).toHaveLength(2);
  });
});
