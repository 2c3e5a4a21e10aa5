import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// int8 (bigint, count(*)) as JS numbers: our counts and ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

export type Db = Kysely<Database>;

export function createDb(databaseUrl: string, poolMax = 10): Db {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolMax,
    // Fail fast rather than hang when the database is gone; callers decide what to do.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next query reconnects.
  pool.on('error', () => {});
  // pg-pool drops its own listener from a client while it runs a query; a connection lost then
  // emits 'error' on the client as well as failing the query. The query's rejection is what
  // callers handle, so the event only needs a listener to keep it from crashing the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
