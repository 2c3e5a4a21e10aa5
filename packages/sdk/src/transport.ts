import type { BatchFrame, CommandFrame, ServerFrame } from '@winback/shared';
import { limits } from '@winback/shared/limits';
import { droppedCount, eventBytes, queued, settle } from './queue.js';
import { guard, listen, warn } from './safe.js';
import { flushStorage } from './storage.js';

// Delivers queued events at least once and in order: one sequence-numbered frame at a time over
// a WebSocket, each event leaving the queue only when the server has acked (committed) its
// frame. One frame in flight keeps per-session order simple to guarantee; a browser makes few
// events, and whatever is queued meanwhile goes in the next frame. HTTP POST takes over when the
// socket cannot open; on page hide everything queued goes by `sendBeacon` and the socket closes
// (so the page stays bfcache-eligible); it reopens when the page shows again.

export interface TransportOptions {
  /** WebSocket URL (`/v1/stream?key=...`). */
  stream: string;
  /** HTTP URL (`/v1/collect?key=...`) for the fallback and for `sendBeacon`. */
  collect: string;
  onCommand(command: CommandFrame): void;
}

/** Reconnect and retry back-off: 1 s doubling up to 30 s, jittered to 50-100% of that. */
export const BACKOFF = { baseMs: 1000, capMs: 30_000 } as const;
/** A frame still unanswered after this long means the socket is dead even if it has not said so. */
export const ACK_TIMEOUT_MS = 15_000;
/** WebSocket opens that fail, with none ever succeeding, before HTTP takes over for the page. */
export const FAILED_OPENS_BEFORE_HTTP = 2;

type AckFrame = Extract<ServerFrame, { t: 'ack' }>;
type NackFrame = Extract<ServerFrame, { t: 'nack' }>;

let options: TransportOptions;
let socket: WebSocket | undefined;
/** Socket opens that failed; -Infinity once one has opened (it is no blocked upgrade then). */
let failedOpens = 0;
let http = false;
/** Refused by the server (key or origin) or torn down: nothing more is sent. */
let stopped = false;
let hidden = false;
/** A pending retry or reconnect (nothing is sent until it fires), or the ack timeout. */
let timer: ReturnType<typeof setTimeout> | undefined;
/** The frame awaiting its ack: its seq, its events' ids and the dropped count it reported. */
let inflight: [seq: number, ids: Set<string>, dropped: number] | undefined;
let seq = 0;
let attempt = 0;
/** Lowered when the server finds a frame too large, restored by the next ack. */
let maxEvents: number = limits.eventsPerFrame;

/** The frame starting at queue position `from`, and the position after it. */
function frame(from: number, maxBytes: number, count: number): [BatchFrame, number] {
  const all = queued();
  const events: BatchFrame['events'] = [];
  // Room for `{"t":"batch","seq":…,"events":[…],"dropped":…}` around the events.
  let bytes = 100;
  for (; from < all.length && events.length < count; from++) {
    bytes += eventBytes(all[from] as BatchFrame['events'][0]) + 1;
    if (bytes > maxBytes && events.length) break;
    events.push(all[from] as BatchFrame['events'][0]);
  }
  return [{ t: 'batch', seq: seq++, events }, from];
}

/** Cancels the timer and closes the socket; queued events stay for later. */
function shut(): void {
  clearTimeout(timer);
  socket?.close(1000);
  socket = inflight = timer = undefined;
}

/** Tries again later: never before `ms` (the server's word), backing off meanwhile. */
function retry(ms: number): void {
  timer = setTimeout(
    guard(() => {
      timer = undefined;
      pump();
    }),
    Math.max(
      ms | 0,
      Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** attempt++) * (0.5 + Math.random() / 2),
    ),
  );
}

/** The socket is gone, whatever closed it: unacked events stay queued for the next one. */
function closed(ws: WebSocket): void {
  if (socket === ws) {
    shut();
    if (++failedOpens < FAILED_OPENS_BEFORE_HTTP) retry(0);
    else {
      http = true;
      pump();
    }
  }
}

function receive(message: ServerFrame): void {
  if (message.t === 'cmd') {
    options.onCommand(message);
    return;
  }
  // A frame the server could not read at all is nacked with seq -1; only one is in flight.
  if (!inflight || (message.seq !== inflight[0] && message.seq !== -1)) return;
  const [, ids, dropped] = inflight;
  clearTimeout(timer);
  inflight = timer = undefined;
  const { reason, message: detail } = message as NackFrame;
  if (message.t === 'ack') {
    if ((message as AckFrame).rejected?.[0]) warn(11, (message as AckFrame).rejected?.[0]?.message);
    attempt = 0;
    maxEvents = limits.eventsPerFrame;
    settle(ids, dropped);
  } else if (reason === 'unauthorized') {
    stopped = true;
    shut();
    warn(13, detail);
    return;
  } else if (reason === 'invalid' || reason === 'too_large') {
    // Never resend as is: split the frame, and drop an event that cannot pass on its own.
    if (ids.size > 1) maxEvents = Math.ceil(ids.size / 2);
    else {
      settle(ids, 0);
      warn(12, detail);
    }
  } else {
    retry((message as NackFrame).retryAfterMs);
    return;
  }
  pump();
}

/** Sends the next frame if the connection allows; call it after queueing events. */
export function pump(): void {
  if (stopped || hidden || inflight || timer) return;
  if (!http && !socket) {
    try {
      const ws = new WebSocket(options.stream);
      socket = ws;
      ws.onopen = guard(() => {
        failedOpens = -1 / 0;
        attempt = 0;
        pump();
      });
      ws.onmessage = guard((message: MessageEvent) => {
        if (socket === ws) receive(JSON.parse(message.data));
      });
      ws.onclose = guard(() => closed(ws));
    } catch {
      // A constructor that throws (bad URL, Content-Security-Policy) will never open.
      http = true;
      socket = undefined;
      pump();
    }
    return;
  }
  if (!queued().length || (!http && socket?.readyState !== 1)) return;
  const [batch] = frame(0, limits.frameBytes, maxEvents);
  const dropped = droppedCount();
  if (dropped) batch.dropped = dropped;
  const number = batch.seq;
  inflight = [number, new Set(batch.events.map((event) => event.id)), dropped];
  const body = JSON.stringify(batch);
  if (http) {
    /** What an HTTP status means for the frame, in the WebSocket's words. */
    const nack = (status: number, retryAfter?: string | null) => ({
      t: 'nack',
      seq: number,
      // 429, 5xx, a network error and statuses this version does not know all mean "later".
      reason:
        status === 401 || status === 403
          ? 'unauthorized'
          : status === 400 || status === 413 || status === 422
            ? 'invalid'
            : 'unavailable',
      retryAfterMs: Number(retryAfter) * 1000,
    });
    // A string body goes as text/plain;charset=UTF-8: a simple request, no CORS preflight.
    fetch(options.collect, { method: 'POST', body, credentials: 'omit' })
      .then((response) =>
        response.ok ? response.json() : nack(response.status, response.headers.get('Retry-After')),
      )
      .catch(() => nack(0))
      .then(guard(receive));
  } else {
    const ws = socket as WebSocket;
    ws.send(body);
    timer = setTimeout(
      guard(() => closed(ws)),
      ACK_TIMEOUT_MS,
    );
  }
}

function hide(): void {
  if (hidden) return;
  hidden = true;
  // No ack can come back now: everything queued goes by beacon, in frames under the beacon
  // quota, and also stays queued to be resent later; the server drops what it already has.
  for (let at = 0, batch: BatchFrame; !stopped && at < queued().length; ) {
    [batch, at] = frame(at, limits.beaconBytes, limits.eventsPerFrame);
    if (!navigator.sendBeacon?.(options.collect, JSON.stringify(batch))) break;
  }
  shut();
  flushStorage();
}

function show(): void {
  if (hidden) {
    hidden = false;
    pump();
  }
}

/**
 * Starts delivering: opens the socket now (the server's commands come over it) and follows the
 * page's lifecycle.
 */
export function openTransport(settings: TransportOptions): void {
  options = settings;
  http = typeof WebSocket !== 'function';
  stopped = hidden = false;
  failedOpens = attempt = 0;
  maxEvents = limits.eventsPerFrame;
  listen(window, 'pagehide', hide);
  listen(window, 'pageshow', show);
  listen(document, 'visibilitychange', () =>
    document.visibilityState === 'hidden' ? hide() : show(),
  );
  pump();
}

/** Stops for good: closes the socket and sends nothing more. */
export function closeTransport(): void {
  stopped = true;
  shut();
}
