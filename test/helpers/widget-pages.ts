import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = fileURLToPath(new URL('../fixtures/widget/', import.meta.url));
/** The widget's build, as the Winback server will serve it. */
export const widgetBundle = fileURLToPath(
  new URL('../../packages/widget/dist/widget.js', import.meta.url),
);
/** axe-core's browser build, served as a file so a page can load it by URL. */
const axeBundle = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface WidgetPages {
  /** `http://127.0.0.1:<port>`: the shop's origin. */
  origin: string;
  close(): Promise<void>;
}

/**
 * A shop on its own origin for the widget's browser tests: serves `test/fixtures/widget/`
 * (`/` is `shop.html`), the built widget at `/widget.js` and axe-core at `/axe.min.js`.
 * `headers` adds headers to a page, e.g. a Content-Security-Policy.
 */
export async function startWidgetPages(
  headers: (url: URL) => Readonly<Record<string, string>> = () => ({}),
): Promise<WidgetPages> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const name = url.pathname === '/' ? 'shop.html' : url.pathname.slice(1);
    const file =
      name === 'widget.js'
        ? widgetBundle
        : name === 'axe.min.js'
          ? axeBundle
          : join(fixtures, name);
    const type = contentTypes[extname(file)];
    if (!/^[\w.-]+$/.test(name) || !type) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, {
        'content-type': type,
        'cache-control': 'no-store',
        ...(type.startsWith('text/html') ? headers(url) : {}),
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
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections from the browser would hold close() open.
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
