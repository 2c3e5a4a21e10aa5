import type { BatchFrame, ServerFrame } from '@winback/shared';
import { limits } from '@winback/shared/limits';
import type { LazyPart } from './lazy.js';
import { dropped, eventBytes, queued, settle } from './queue.js';
import { guard, listen, warn } from './safe.js';
import { flushStorage } from './storage.js';
import type { Command, CommandName } from './types.js';

// Delivers queued events at least once and in order: one sequence-numbered frame at a time over
// a WebSocket, each event leaving the queue only when the server has acked (committed) its
// frame. One frame in flight keeps per-session order simple to guarantee; a browser makes few
// events, and whatever is queued meanwhile goes in the next frame. When the socket cannot open,
// the lazy part's HTTP stand-in for it (`http.ts`) takes its place: the same frames, the same
// answers. On page hide everything queued goes by `sendBeacon` and the socket closes (so the
// page stays bfcache-eligible); it reopens when the page shows again.

/** Reconnect and retry back-off: 1 s doubling up to 30 s, jittered to 50-100% of that. */
export const BACKOFF = { baseMs: 1000, capMs: 30_000 } as const;
/** A frame still unanswered after this long means the socket is dead even if it has not said so. */
export const ACK_TIMEOUT_MS = 15_000;
/** WebSocket opens that fail, with none ever succeeding, before HTTP takes over for the page. */
export const FAILED_OPENS_BEFORE_HTTP = 2;

type AckFrame = Extract<ServerFrame, { t: 'ack' }>;
type NackFrame = Extract<ServerFrame, { t: 'nack' }>;
/** An ack or a nack (no `t`: a nack; the HTTP stand-in makes one from the response's status). */
export type Answer = Partial<Omit<AckFrame, 't'> & Omit<NackFrame, 't'>> & { t?: 'ack' | 'nack' };

/** The part of the WebSocket interface the transport uses, which the HTTP stand-in also has. */
export interface Socket {
  readyState: number;
  send(body: string): void;
  close(): void;
  onopen?: ((event: Event) => unknown) | null;
  onmessage?: ((event: MessageEvent) => unknown) | null;
  onclose?: ((event: CloseEvent) => unknown) | null;
}

/** The WebSocket URL (`/v1/stream?key=...`), and the HTTP one for the fallback and beacons. */
let urls: [stream: string, collect: string];
/** The lazy part, which holds the HTTP stand-in (nothing if it failed to load). */
let lazy: () => Promise<LazyPart | undefined>;
let restored: () => void;
/** What sockets are made with: WebSocket, until HTTP takes over. */
let Connection: new (url: string) => Socket;
const listeners = new Set<[CommandName, (command: Command) => void]>();
let socket: Socket | undefined;
/** Socket opens that failed; -Infinity once one has opened (it is no blocked upgrade then). */
let failedOpens = 0;
/** Refused by the server (key or origin): nothing more is sent. */
let stopped = false;
let hidden = false;
/** A pending retry or reconnect (nothing is sent until it fires), or the ack timeout. */
let timer: ReturnType<typeof setTimeout> | undefined;
/** The frame awaiting its ack. */
let inflight: BatchFrame | undefined;
let seq = 0;
let attempt = 0;
/** Lowered when the server finds a frame too large, restored by the next ack. */
let maxEvents: number = limits.eventsPerFrame;

/** The frame of the events from queue position `from` that fit in `maxBytes` (at least one). */
function frame(from: number, maxBytes: number, count: number): BatchFrame {
  const events: BatchFrame['events'] = [];
  // Room for `{"t":"batch","seq":…,"events":[…],"dropped":…}` around the events.
  let bytes = 100;
  for (const event of queued.slice(from, from + count)) {
    bytes += eventBytes(event) + 1;
    if (bytes > maxBytes && events.length) break;
    events.push(event);
  }
  return { t: 'batch', seq: seq++, events };
}

/** Cancels the timer and closes the socket; queued events stay for later. */
function shut(): void {
  clearTimeout(timer);
  socket?.close();
  socket = inflight = timer = undefined;
}

/**
 * Tries again later: never before `ms` (the server's word; none when missing or NaN), backing
 * off meanwhile.
 */
function retry(ms?: number): void {
  timer = setTimeout(
    guard(() => {
      timer = undefined;
      pump();
    }),
    Math.max(
      (ms as number) | 0,
      Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** attempt++) * (0.5 + Math.random() / 2),
    ),
  );
}

/**
 * The socket cannot open (twice now, or not at all): HTTP takes over from the next try on, once
 * the lazy part that holds it is here. Until then (or without it) the socket is tried again.
 */
function fallBack(): void {
  lazy().then(
    guard((part) => {
      if (part) Connection = part.HttpSocket;
    }),
  );
  retry();
}

/** The socket is gone, whatever closed it: unacked events stay queued for the next one. */
function closed(ws: Socket): void {
  if (socket === ws) {
    shut();
    if (++failedOpens < FAILED_OPENS_BEFORE_HTTP) retry();
    else fallBack();
  }
}

/**
 * Settles the frame in flight by the server's answer to it, an ack or a nack. Every branch ends
 * in `pump()`, which sends nothing while stopped or waiting for a retry.
 */
function answer(message: Answer): void {
  const { events, dropped: reported } = inflight as BatchFrame;
  const { reason, message: detail } = message;
  clearTimeout(timer);
  inflight = timer = undefined;
  if (message.t === 'ack') {
    if (message.rejected?.[0]) warn(11, message.rejected[0].message);
    attempt = 0;
    maxEvents = limits.eventsPerFrame;
    settle(events, (reported as number) | 0);
  } else if (reason === 'unauthorized') {
    stopped = true;
    shut();
    warn(13, detail);
  } else if (reason === 'invalid' || reason === 'too_large') {
    // Never resend as is: split the frame, and drop an event that cannot pass on its own.
    if (events.length > 1) {
      maxEvents = (events.length + 1) >> 1; // half, rounded up
    } else {
      settle(events, 0);
      warn(12, detail);
    }
  } else retry(message.retryAfterMs);
  pump();
}

/** Sends the next frame if the connection allows; call it after queueing events. */
export function pump(): void {
  if (stopped || hidden || inflight || timer) return;
  if (!socket) {
    try {
      const ws = new Connection(urls[0]);
      socket = ws;
      ws.onopen = guard(() => {
        failedOpens = -1 / 0;
        attempt = 0;
        pump();
      });
      ws.onmessage = guard((event: MessageEvent) => {
        const message: ServerFrame | Answer = JSON.parse(event.data);
        if (socket !== ws) return;
        if (message.t === 'cmd') {
          listeners.forEach(([name, listener]) => {
            if (name === 'command' || name === message.cmd) guard(listener)(message);
          });
        } else if (inflight && (message.seq === inflight.seq || message.seq === -1)) {
          // A frame the server could not read at all is nacked with seq -1; one is in flight.
          answer(message);
        }
      });
      ws.onclose = guard(() => closed(ws));
    } catch {
      // No WebSocket, or one that throws (bad URL, Content-Security-Policy): it will never open.
      fallBack();
    }
  } else if (queued.length && socket.readyState === 1) {
    const batch = frame(0, limits.frameBytes, maxEvents);
    inflight = batch;
    if (dropped) batch.dropped = dropped;
    socket.send(JSON.stringify(batch));
    // Cleared by the answer; when it fires, `socket` is still the one the frame went on.
    timer = setTimeout(
      guard(() => closed(socket as Socket)),
      ACK_TIMEOUT_MS,
    );
  }
}

/**
 * Page hide (`pagehide`, or `visibilitychange` to hidden): no ack can come back now, so
 * everything queued goes by beacon, in frames under the beacon quota, and also stays queued to
 * be resent later (the server drops what it already has); the socket closes. Shown again: it
 * reopens. A page shown from the back-forward cache is a new visit: `restored` is called.
 */
function lifecycle(event: Event): void {
  const hide = event.type === 'pagehide' || document.hidden;
  if ((event as PageTransitionEvent).persisted && !hide) restored();
  if (hide !== hidden) {
    hidden = hide;
    if (hide) {
      for (
        let at = 0, batch: BatchFrame;
        !stopped && at < queued.length;
        at += batch.events.length
      ) {
        batch = frame(at, limits.beaconBytes, limits.eventsPerFrame);
        if (!navigator.sendBeacon?.(urls[1], JSON.stringify(batch))) break;
      }
      shut();
      flushStorage();
    } else pump();
  }
}

/**
 * Listens to commands from the server: `'show_overlay'`, `'prefetch_widget'`, or `'command'` for
 * all of them. Returns a function that stops listening.
 *
 * @example
 *   const stop = on('show_overlay', (command) => showMyOverlay(command.overlay));
 */
export function on(name: CommandName, listener: (command: Command) => void): () => void {
  const entry: [CommandName, (command: Command) => void] = [name, listener];
  listeners.add(entry);
  return () => listeners.delete(entry);
}

/**
 * Starts delivering to the `stream` WebSocket URL (see `endpoints`), or over HTTP to the
 * `collect` URL by the lazy part's stand-in: opens the socket now (the server's commands come
 * over it) and follows the page's lifecycle, calling `onRestore` when the page comes back from
 * the back-forward cache. Beacons go to the `collect` URL.
 */
export function openTransport(
  endpoints: [stream: string, collect: string],
  lazyPart: () => Promise<LazyPart | undefined>,
  onRestore: () => void,
): void {
  urls = endpoints;
  lazy = lazyPart;
  restored = onRestore;
  Connection = WebSocket;
  // `visibilitychange` bubbles from the document to the window.
  for (const type of ['pagehide', 'pageshow', 'visibilitychange']) listen(window, type, lifecycle);
  pump();
}

/** Closes the socket and forgets every state, as if the page were new (tests, teardown). */
export function closeTransport(): void {
  shut();
  stopped = hidden = false;
  failedOpens = attempt = 0;
  maxEvents = limits.eventsPerFrame;
  listeners.clear();
}
