import { CompiledQuery, Kysely, PostgresDialect, type PostgresPool, sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db } from '../../db/index.js';
import type { Database } from '../../db/schema.js';

/*
 * One connection inside an ingest transaction, whichever way it was obtained. The hot statements
 * of ingest are fixed SQL texts with numbered parameters, written once at module load, so no
 * query is built per flush. Through a plain pg connection they run as named prepared statements
 * (parsed and planned once per connection) and COPY is available; through Kysely (`db` only)
 * they run as the same texts, unnamed, and COPY is not.
 */
export interface IngestSession {
  /** One statement; `name` makes it a prepared statement where the connection allows it. */
  query<Row>(name: string, text: string, values: readonly unknown[]): Promise<Row[]>;
  /** Statements without parameters, in one round trip (the simple query protocol). */
  script(text: string): Promise<void>;
  /**
   * Statements without parameters in one round trip, returning the rows of the last one; absent
   * where the connection cannot return them (Kysely keeps only one statement's result).
   */
  scriptRows?: <Row>(text: string) => Promise<Row[]>;
  /** `COPY ... FROM STDIN` of `data` (COPY text format); absent where the connection has none. */
  copyIn?: (text: string, data: string) => Promise<void>;
  /** Kysely on the same connection and transaction, for repositories shared with other features. */
  readonly kysely: Kysely<Database>;
  /**
   * Statements without parameters to run just before COMMIT, in its round trip (the transaction
   * then fails as a whole if one of them does). Only inside `kyselyTransaction`/`poolTransaction`.
   */
  atCommit(text: string): void;
}

/** Runs `work` in one transaction with a statement timeout; rolls back when it throws. */
async function inTransaction<T>(
  session: IngestSession,
  statementTimeoutMs: number,
  work: (session: IngestSession) => Promise<T>,
): Promise<T> {
  // BEGIN and the timeout in one round trip; the number is checked at construction.
  await session.script(`begin; set local statement_timeout = ${statementTimeoutMs}`);
  const beforeCommit: string[] = [];
  session.atCommit = (text) => {
    beforeCommit.push(text);
  };
  try {
    const result = await work(session);
    await session.script([...beforeCommit, 'commit'].join(';\n'));
    return result;
  } catch (error) {
    await session.script('rollback').catch(() => {});
    throw error;
  }
}

/** A transaction through the app's Kysely pool: fixed SQL texts, no COPY. */
export function kyselyTransaction<T>(
  db: Db,
  statementTimeoutMs: number,
  work: (session: IngestSession) => Promise<T>,
): Promise<T> {
  return db.connection().execute((conn) => {
    const session: IngestSession = {
      query: async <Row>(_name: string, text: string, values: readonly unknown[]) =>
        (await conn.executeQuery<Row>(CompiledQuery.raw(text, [...values]))).rows as Row[],
      script: async (text) => {
        await sql.raw(text).execute(conn);
      },
      kysely: conn,
      atCommit: outsideTransaction,
    };
    return inTransaction(session, statementTimeoutMs, work);
  });
}

function outsideTransaction(): never {
  throw new Error('atCommit is only for statements inside a transaction');
}

/** What the writer keeps per pg connection it owns. */
interface Owned {
  kysely: Kysely<Database>;
  /** Temporary tables already made on this connection (they live as long as it does). */
  tables: Set<string>;
}

const owned = new WeakMap<pg.PoolClient, Owned>();

function ownedBy(client: pg.PoolClient): Owned {
  let state = owned.get(client);
  if (!state) {
    // Kysely over this one connection: every query runs on it, inside whatever transaction it
    // is in; releasing is the writer's business, not Kysely's.
    const pool: PostgresPool = {
      connect: async () => ({
        query: client.query.bind(client) as never,
        release: () => {},
      }),
      end: async () => {},
    };
    state = {
      kysely: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
      tables: new Set(),
    };
    owned.set(client, state);
  }
  return state;
}

/**
 * A transaction on a connection of the writer's own pg pool: prepared statements and COPY.
 * `tables` are temporary tables (name → `create temporary table` statement) made once per
 * connection before its first transaction, outside it, so a rollback cannot take them away.
 */
export async function poolTransaction<T>(
  pool: pg.Pool,
  statementTimeoutMs: number,
  tables: Readonly<Record<string, string>>,
  work: (session: IngestSession) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const state = ownedBy(client);
    for (const [name, create] of Object.entries(tables)) {
      if (state.tables.has(name)) continue;
      await client.query(create);
      state.tables.add(name);
    }
    const session: IngestSession = {
      query: async <Row>(name: string, text: string, values: readonly unknown[]) =>
        (await client.query({ name, text, values: [...values] })).rows as Row[],
      script: async (text) => {
        await client.query(text);
      },
      scriptRows: async <Row>(text: string) => {
        const results = (await client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
        const last = Array.isArray(results) ? results.at(-1) : results;
        return (last?.rows ?? []) as Row[];
      },
      copyIn: async (text, data) => {
        const stream = client.query(copyFrom(text));
        await new Promise<void>((resolve, reject) => {
          stream.on('error', reject);
          stream.on('finish', resolve);
          stream.end(data);
        });
      },
      kysely: state.kysely,
      atCommit: outsideTransaction,
    };
    return await inTransaction(session, statementTimeoutMs, work);
  } catch (error) {
    // A connection that failed mid-transaction may be in any state: never reuse it.
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(broken);
  }
}
