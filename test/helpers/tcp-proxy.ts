import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy a test controls, to cut a service off and bring it back while clients keep their
 * address: `cut()` closes the listener and drops every connection (clients see resets, then
 * refused connections); `restore()` listens again on the same port.
 */
export interface TcpProxy {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const connections = new Set<Socket>();
  let server: Server | undefined;

  const listen = async (port: number): Promise<number> => {
    const next = createServer((client) => {
      const upstream = createConnection(target);
      connections.add(client);
      connections.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        connections.delete(client);
        connections.delete(upstream);
      };
      client.on('error', drop);
      upstream.on('error', drop);
      client.on('close', drop);
      upstream.on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    next.listen(port, '127.0.0.1');
    await once(next, 'listening');
    server = next;
    const address = next.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    return address.port;
  };

  const cut = async () => {
    const current = server;
    server = undefined;
    for (const socket of connections) socket.destroy();
    connections.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  const port = await listen(0);
  return {
    port,
    cut,
    restore: async () => {
      if (!server) await listen(port);
    },
    close: cut,
  };
}
