import { buildApp } from '../app.js';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { stopOnSignal } from '../shutdown.js';

/** `winback serve`: one stateless HTTP/WebSocket node. */
export async function serveCommand(config: Config): Promise<void> {
  if (!config.databaseUrl) {
    throw new UsageError('DATABASE_URL is required for `winback serve` (or run `winback demo`)');
  }
  const app = await buildApp(config);
  stopOnSignal(() => app.close(), { timeoutMs: config.shutdownTimeoutMs, logger: app.log });
  await app.listen({ port: config.port, host: config.host });
}
