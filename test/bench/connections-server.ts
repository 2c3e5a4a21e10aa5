/**
 * The app for `pnpm bench:connections`, in its own process so that its RSS is the server's
 * alone. Started by connections.ts with `--expose-gc`; answers `rss` messages with its RSS after
 * a full garbage collection, and closes on `stop`.
 */
import { buildApp, loadConfig } from '@winback/server';

type Request = { t: 'rss' } | { t: 'stop' };

const databaseUrl = process.argv[2];
if (!databaseUrl || !process.send) throw new Error('started without a database URL or IPC');

const app = await buildApp(
  loadConfig({ DATABASE_URL: databaseUrl, HOST: '127.0.0.1', LOG_LEVEL: 'silent' }),
);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.send({ t: 'listening', address });

const collect = globalThis.gc as (() => void) | undefined;
process.on('message', (message: Request) => {
  if (message.t === 'rss') {
    collect?.();
    collect?.();
    process.send!({ t: 'rss', rss: process.memoryUsage().rss });
  } else {
    app.close().finally(() => process.exit(0));
  }
});
// The bench going away ends this process too.
process.on('disconnect', () => {
  app.close().finally(() => process.exit(0));
});
