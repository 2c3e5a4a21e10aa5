import { buildApp, loadConfig } from '@winback/server';
import type { Db } from '@winback/server/db';
import { sql } from 'kysely';
import { freePort } from './discover.js';
import type { StoredEvent } from './ingest.js';

/**
 * The real Winback server listening on one fixed 127.0.0.1 port, which can be stopped and
 * started again on that same port (a restart or an outage, as the browser sees it).
 */
export interface RestartableServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The running app's ingest counter (`winback_ingest_events_total`), 0 when not running. */
  ingested(transport: 'ws' | 'http', outcome?: 'stored' | 'duplicate'): Promise<number>;
  /** The running app's ingest frame counter (`winback_ingest_frames_total`) for acked frames. */
  ackedFrames(transport: 'ws' | 'http'): Promise<number>;
  /** The running app's refused frames (`winback_ingest_frames_total`) for one nack reason. */
  nackedFrames(transport: 'ws' | 'http', reason: string): Promise<number>;
}

export async function restartableServer(databaseUrl: string): Promise<RestartableServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;

  const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
    if (!app) return 0;
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    let total = 0;
    for (const line of text.split('\n')) {
      const match = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const found = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]),
      );
      if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
        total += Number(match[3]);
      }
    }
    return total;
  };

  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    async start() {
      if (app) return;
      const config = loadConfig({
        DATABASE_URL: databaseUrl,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'silent',
      });
      const started = await buildApp(config);
      await started.listen({ host: '127.0.0.1', port });
      app = started;
    },
    async stop() {
      const running = app;
      app = undefined;
      await running?.close();
    },
    ingested: (transport, outcome = 'stored') =>
      metric('winback_ingest_events_total', { transport, outcome }),
    ackedFrames: (transport) =>
      metric('winback_ingest_frames_total', { transport, outcome: 'ack' }),
    nackedFrames: (transport, reason) =>
      metric('winback_ingest_frames_total', { transport, outcome: reason }),
  };
}

export type StoredEventRow = StoredEvent;

/** A store's events, oldest first by the browser's clock. */
export async function eventsOf(db: Db, storeId: string, type?: string): Promise<StoredEventRow[]> {
  const { rows } = await sql<StoredEventRow>`
    select id, type, ts, received_at, session_id, anonymous_id, cart_id, payload
    from events
    where store_id = ${storeId} and (${type ?? null}::text is null or type = ${type ?? null})
    order by ts, id`.execute(db);
  return rows;
}
