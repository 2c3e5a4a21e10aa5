import type { Answer, Socket } from './transport.js';

/**
 * An HTTP status as the reason a nack would give. Anything else (429, 5xx, a status this version
 * does not know) has none, which the transport takes as "later", like `rate_limited`/`unavailable`.
 */
const reasonOf = (status: number): Answer['reason'] =>
  status === 401 || status === 403
    ? 'unauthorized'
    : status === 400 || status === 413 || status === 422
      ? 'invalid'
      : undefined;

/**
 * The HTTP fallback: a stand-in for the WebSocket when it cannot open (a proxy that blocks
 * upgrades, a CSP without `ws:`). Made with the stream URL, it POSTs each frame to the collect
 * URL and hands the answer back as the socket's message: the server's ack or nack, or what the
 * response's status means; a network error means "later". A string body goes as
 * text/plain;charset=UTF-8: a simple request, no CORS preflight. It opens at once and never
 * closes by itself; once closed, its answers still come, and the transport ignores them.
 *
 * @example
 *   const socket = new HttpSocket('wss://winback.example.com/v1/stream?key=pk_live_abc123def456');
 *   socket.onmessage = (event) => answer(JSON.parse(event.data));
 */
export class HttpSocket implements Socket {
  declare readyState: number;
  declare onopen: Socket['onopen'];
  declare onmessage: Socket['onmessage'];
  /** The collect URL: `wss://host/v1/stream?key=…` → `https://host/v1/collect?key=…`. */
  declare url: string;

  constructor(stream: string) {
    this.readyState = 1;
    this.url = stream.replace('ws', 'http').replace('stream?', 'collect?');
    // Open as soon as whoever made it has set `onopen`.
    setTimeout(() => this.onopen?.({} as Event));
  }

  send(body: string): void {
    const { seq } = JSON.parse(body);
    fetch(this.url, { method: 'POST', body })
      .then((response) =>
        response.ok
          ? response.json()
          : {
              reason: reasonOf(response.status),
              // Whole seconds; an HTTP date reads as NaN, which the transport takes as no wait.
              retryAfterMs: (response.headers.get('Retry-After') as never) * 1000,
            },
      )
      .catch(() => ({}))
      .then((answer) =>
        this.onmessage?.({ data: JSON.stringify({ seq, ...answer }) } as MessageEvent),
      );
  }

  close(): void {}
}
