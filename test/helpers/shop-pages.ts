import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = fileURLToPath(new URL('../fixtures/sdk/', import.meta.url));
/** The sdk's script-tag build and its lazy part, for a store that hosts the files itself. */
const sdkDist = fileURLToPath(new URL('../../packages/sdk/dist/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface ShopPages {
  /** `http://127.0.0.1:<port>`: the store's origin, which its Winback store must allow. */
  origin: string;
  close(): Promise<void>;
}

export interface ShopPagesOptions {
  /** `%NAME%` values filled into the HTML pages (key, endpoint, where the sdk comes from). */
  variables: (url: URL) => Readonly<Record<string, string>>;
  /** Extra headers for a page, e.g. a Content-Security-Policy. */
  headers?: (url: URL) => Readonly<Record<string, string>>;
}

/**
 * A store on its own origin, as real stores are: serves the test pages in `test/fixtures/sdk/`
 * (HTML filled from `%NAME%` templates) and a self-hosted copy of the sdk at `/winback.js` (with
 * its lazy part beside it).
 */
export async function startShopPages(options: ShopPagesOptions): Promise<ShopPages> {
  const sockets = new Set<Socket>();
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const name = url.pathname === '/' ? 'page.html' : url.pathname.slice(1);
    // The store hosts the sdk's files itself: winback.js and the lazy part it loads from its folder.
    const file =
      name === 'winback.js' || /^winback-lazy-[0-9a-f]{8}\.js$/.test(name)
        ? join(sdkDist, name)
        : join(fixtures, name);
    const type = contentTypes[extname(file)];
    if (!/^[\w.-]+$/.test(name) || !type) {
      response.writeHead(404).end();
      return;
    }
    try {
      let body: string | Buffer = await readFile(file);
      if (type.startsWith('text/html')) {
        const variables = options.variables(url);
        body = body
          .toString('utf8')
          .replace(/%([A-Z][A-Z0-9_]*)%/g, (match, key: string) => variables[key] ?? match);
      }
      response.writeHead(200, {
        'content-type': type,
        'cache-control': 'no-store',
        ...options.headers?.(url),
      });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => closeServer(server, sockets),
  };
}

export interface UpgradeBlockingProxy {
  /** `http://127.0.0.1:<port>`, to use as the sdk's endpoint. */
  url: string;
  /** WebSocket upgrades refused so far. */
  refusedUpgrades(): number;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of the Winback server that passes plain HTTP and refuses every
 * WebSocket upgrade, like the corporate proxies the sdk's HTTP fallback is for.
 */
export async function startUpgradeBlockingProxy(target: string): Promise<UpgradeBlockingProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  let refused = 0;
  const server: Server = createServer((request: IncomingMessage, response) => {
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: upstream.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    request.pipe(forwarded);
  });
  server.on('upgrade', (_request, socket: Socket) => {
    refused += 1;
    socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    refusedUpgrades: () => refused,
    close: () => closeServer(server, sockets),
  };
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections from the browser would hold close() open.
  for (const socket of sockets) socket.destroy();
  await closed;
}
