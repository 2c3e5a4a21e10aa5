import WebSocketClient from 'ws';

export type ClientSocket = WebSocketClient;

/** A WebSocket's answers, read in order. */
export interface Conversation {
  socket: ClientSocket;
  /** Sends a frame (any value is JSON-encoded; strings go as they are). */
  send(frame: unknown): void;
  /** The next message from the server, JSON-decoded. */
  next(): Promise<unknown>;
  /** Resolves with the close code and reason once the connection is closed. */
  closed: Promise<{ code: number; reason: string }>;
}

/**
 * Wraps a socket so that no message is missed between reads. Call before it opens. The server's
 * commands to a page (`{ t: 'cmd' }`, e.g. overlays) are left out unless `commands` is set: most
 * suites talk about acks.
 */
export function converse(socket: ClientSocket, options: { commands?: boolean } = {}): Conversation {
  const inbox: unknown[] = [];
  const readers: ((message: unknown) => void)[] = [];
  socket.on('message', (data: Buffer) => {
    const message: unknown = JSON.parse(data.toString('utf8'));
    if (!options.commands && (message as { t?: unknown } | null)?.t === 'cmd') return;
    const reader = readers.shift();
    if (reader) reader(message);
    else inbox.push(message);
  });
  // Errors end in 'close'; the listener only keeps an error from being thrown.
  socket.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code: number, reason: Buffer) =>
      resolve({ code, reason: reason.toString('utf8') }),
    );
  });
  return {
    socket,
    send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: () =>
      inbox.length > 0
        ? Promise.resolve(inbox.shift())
        : new Promise((resolve) => {
            readers.push(resolve);
          }),
    closed,
  };
}

export type Upgrade =
  | { opened: true; conversation: Conversation }
  | { opened: false; status: number; headers: Record<string, unknown>; body: string };

/** Opens a real WebSocket to `url`, sending `origin` and `cookie` (none when undefined). */
export function openWebSocket(url: string, origin?: string, cookie?: string): Promise<Upgrade> {
  const socket = new WebSocketClient(url, {
    ...(origin === undefined ? {} : { origin }),
    ...(cookie === undefined ? {} : { headers: { cookie } }),
  });
  const conversation = converse(socket);
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ opened: true, conversation }));
    socket.once('unexpected-response', (_request: unknown, response: IncomingResponse) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({
          opened: false,
          status: response.statusCode ?? 0,
          headers: response.headers,
          body,
        }),
      );
    });
    socket.once('error', (error: Error) => reject(error));
  });
}

interface IncomingResponse {
  statusCode?: number;
  headers: Record<string, unknown>;
  setEncoding(encoding: 'utf8'): void;
  on(event: 'data', listener: (chunk: string) => void): void;
  on(event: 'end', listener: () => void): void;
}

/** Opens a real WebSocket that must be accepted. */
export async function openStream(url: string, origin: string): Promise<Conversation> {
  const upgrade = await openWebSocket(url, origin);
  if (!upgrade.opened) throw new Error(`upgrade refused: ${upgrade.status} ${upgrade.body}`);
  return upgrade.conversation;
}
