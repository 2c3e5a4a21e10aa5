import type { BatchFrame, ServerFrame } from '@winback/shared';
import { vi } from 'vitest';

// Stand-ins for the browser's network (WebSocket, fetch, sendBeacon), for the sdk's unit tests.
// They import no sdk code, so the same helpers serve the source and the minified test runs.

/** A WebSocket the test drives: it opens, answers, fails or closes only when told to. */
export class FakeSocket {
  static instances: FakeSocket[] = [];
  /** The newest socket the sdk created. */
  static get last(): FakeSocket {
    const socket = FakeSocket.instances.at(-1);
    if (!socket) throw new Error('no WebSocket was created');
    return socket;
  }

  readyState = 0;
  sent: string[] = [];
  closedByClient = false;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  /** Frames sent on this socket, parsed. */
  get frames(): BatchFrame[] {
    return this.sent.map((text) => JSON.parse(text) as BatchFrame);
  }

  send(text: string): void {
    if (this.readyState !== 1) throw new Error('InvalidStateError: the socket is not open');
    this.sent.push(text);
  }

  close(): void {
    this.closedByClient = true;
    this.readyState = 3;
  }

  // What the server or the network does:
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  answer(frame: ServerFrame): void {
    this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(frame) }));
  }

  /** The connection drops (or never opens): the browser fires `close`. */
  drop(): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent('close', { code: 1006 }));
  }
}

export interface Network {
  fetch: ReturnType<typeof vi.fn>;
  sendBeacon: ReturnType<typeof vi.fn>;
  /** Bodies POSTed by fetch, parsed. */
  posted(): BatchFrame[];
  /** Bodies sent by beacon, parsed, with their sizes in bytes. */
  beacons(): { frame: BatchFrame; bytes: number }[];
}

/** Replaces WebSocket, fetch and sendBeacon; `vi.unstubAllGlobals()` puts them back. */
export function fakeNetwork(): Network {
  FakeSocket.instances = [];
  const fetch = vi.fn(async () => new Response('{}', { status: 503 }));
  const sendBeacon = vi.fn(() => true);
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.stubGlobal('fetch', fetch);
  Object.defineProperty(navigator, 'sendBeacon', { value: sendBeacon, configurable: true });
  const bodies = (mock: ReturnType<typeof vi.fn>, index: number) =>
    mock.mock.calls.map((call) => String((call as unknown[])[index] as string));
  return {
    fetch,
    sendBeacon,
    posted: () =>
      fetch.mock.calls.map(
        (call) => JSON.parse(String(((call as unknown[])[1] as RequestInit).body)) as BatchFrame,
      ),
    beacons: () =>
      bodies(sendBeacon, 1).map((body) => ({
        frame: JSON.parse(body) as BatchFrame,
        bytes: new TextEncoder().encode(body).length,
      })),
  };
}

/** An ack for `frame`, as the server sends it after COMMIT. */
export const ackOf = (frame: BatchFrame | undefined): ServerFrame => {
  if (!frame) throw new Error('no frame to ack');
  return { t: 'ack', seq: frame.seq };
};

/** Sets `document.visibilityState` (and `hidden`) and fires `visibilitychange`, which bubbles, as in browsers. */
export function setVisibility(state: 'visible' | 'hidden'): void {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
  Object.defineProperty(document, 'hidden', { value: state === 'hidden', configurable: true });
  document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
}

/**
 * Resolves once every pending promise callback has run (the sdk's calls run one after another,
 * and the lazy part arrives a few promise steps later). Not a clock: a macrotask after them.
 */
export const settled = (): Promise<void> =>
  new Promise((resolve) =>
    // Node's, which the tests' fake timers leave alone.
    (globalThis as unknown as { setImmediate(callback: () => void): void }).setImmediate(resolve),
  );
