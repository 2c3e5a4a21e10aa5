import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { batched } from './batch.js';

/*
 * "No message is ever delivered after a purchase has committed" rests on one pair of Postgres
 * advisory locks, taken by both sides in the same (ascending key) order:
 * - a message send holds the locks of its cart and its shopper's browser (on its process's
 *   `SendLockKeeper` connection) from before it claims the ledger row until the provider has
 *   answered;
 * - an ingest transaction that carries an `order_completed` takes the locks of that event's cart
 *   and browser (transaction-scoped) before it touches any cart.
 * So a purchase either commits before a send claims its row (and the claim sees it and
 * suppresses the message), or waits for the send in flight to finish (the mail left before the
 * purchase committed). A process killed mid-send drops its connection and with it the locks.
 */

/** Namespaced so cart ids and anonymous ids can never share a key. */
type LockSubject = 'cart' | 'browser';

/** A signed 64-bit advisory lock key (as a decimal string) for one store's cart or browser. */
export function sendLockKey(storeId: string, subject: LockSubject, id: string): string {
  const digest = createHash('sha256').update(`${storeId}\u0000${subject}\u0000${id}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/** The distinct keys, ascending: every holder takes its locks in this order, so none deadlock. */
export function sortedLockKeys(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort((a, b) => {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Takes transaction-scoped locks (released at COMMIT or ROLLBACK), in key order. */
export async function lockForTransaction<DB>(
  trx: Kysely<DB>,
  keys: readonly string[],
): Promise<void> {
  for (const key of sortedLockKeys(keys)) {
    await sql`select pg_advisory_xact_lock(${key}::bigint)`.execute(trx);
  }
}

/**
 * The send locks of one process's sends in flight, all held on one connection of its own (so
 * sends do not each pin a pool connection while a provider answers, and their number is not
 * bound by the pool).
 *
 * Sharing a connection means never waiting on it: a lock another process (or a purchase) holds
 * would stall every send behind it. So `acquire` only tries (`pg_try_advisory_lock`), takes all
 * of a send's keys or none, and tries again after a short jittered pause until `waitMs` has
 * passed. Holders that wait (purchases, `lockForTransaction`) queue behind these as before, and
 * as this side never waits there is no deadlock between them.
 *
 * Postgres session locks are re-entrant, so the keeper keeps this process's sends apart itself:
 * a key one of its sends holds is not tried for another until released. Sends of one browser
 * then run one after another in the whole deployment, which the frequency cap relies on (it
 * reads the shopper's last mail before claiming).
 *
 * If the connection is lost, Postgres drops every lock on it: each lease on it reads
 * `held === false` from then on, and the next `acquire` opens a new connection. A send checks
 * `held` right before handing its mail to the provider; a loss after that check is the one
 * window in which a purchase may commit while that mail is being sent.
 */
export interface SendLockKeeper {
  /** All of `keys`, or `null` if some were still held elsewhere after `waitMs`. */
  acquire(keys: readonly string[]): Promise<SendLease | null>;
  /** Closes the connection (dropping any lock still held). */
  close(): Promise<void>;
}

export interface SendLease {
  /** False once released or once the locks' connection was lost. */
  readonly held: boolean;
  release(): Promise<void>;
}

export interface SendLockKeeperOptions {
  databaseUrl: string;
  /** How long `acquire` keeps trying. Default 30 s. */
  waitMs?: number;
  random?: () => number;
}

interface LockConnection {
  client: pg.Client;
  alive: boolean;
  /** The last statement queued on it: statements run one after another, never overlapping. */
  tail: Promise<unknown>;
  /** Tries `keys`; answers the ones now held. Tries of sends at the same moment share a statement. */
  tryLock(keys: readonly string[]): Promise<string[]>;
  /** Releases `keys` (once each). Releases at the same moment share a statement. */
  unlock(keys: readonly string[]): Promise<void>;
}

function query<R extends pg.QueryResultRow>(
  connection: LockConnection,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  const result = connection.tail.then(() => connection.client.query<R>(text, values));
  connection.tail = result.catch(() => {});
  return result;
}

export function createSendLockKeeper(options: SendLockKeeperOptions): SendLockKeeper {
  const waitMs = options.waitMs ?? 30_000;
  const random = options.random ?? Math.random;
  let current: LockConnection | null = null;
  let opening: Promise<LockConnection> | null = null;
  let closed = false;
  /** Keys held (or being tried) by a send of this process. */
  const reserved = new Set<string>();

  const drop = (connection: LockConnection) => {
    connection.alive = false;
    if (current === connection) current = null;
    connection.client.end().catch(() => {});
  };

  const connect = (): Promise<LockConnection> => {
    if (current?.alive) return Promise.resolve(current);
    opening ??= (async () => {
      const client = new pg.Client({
        connectionString: options.databaseUrl,
        connectionTimeoutMillis: 5_000,
        // A statement that hangs (a network partition) fails, and the connection is replaced.
        query_timeout: 10_000,
        keepAlive: true,
        application_name: 'winback send locks',
      });
      const connection: LockConnection = {
        client,
        alive: true,
        tail: Promise.resolve(),
        tryLock: batched(async (requests: (readonly string[])[]) => {
          const { rows } = await query<{ i: number; key: string; got: boolean }>(
            connection,
            `select u.i, u.k::text as key, pg_try_advisory_lock(u.k) as got
             from unnest($1::int[], $2::bigint[]) as u(i, k)`,
            [requests.flatMap((keys, i) => keys.map(() => i)), requests.flat()],
          );
          const held = requests.map((): string[] => []);
          for (const row of rows) if (row.got) held[row.i]?.push(row.key);
          return held;
        }),
        unlock: batched(async (requests: (readonly string[])[]) => {
          await query(connection, 'select pg_advisory_unlock(k) from unnest($1::bigint[]) as k', [
            requests.flat(),
          ]);
          return requests.map(() => undefined);
        }),
      };
      client.on('error', () => drop(connection));
      client.on('end', () => drop(connection));
      try {
        await client.connect();
      } catch (error) {
        drop(connection);
        throw error;
      }
      current = connection;
      return connection;
    })().finally(() => {
      opening = null;
    });
    return opening;
  };

  const unlock = async (connection: LockConnection, keys: readonly string[]) => {
    if (!connection.alive || keys.length === 0) return;
    await connection.unlock(keys).catch(() => drop(connection));
  };

  return {
    async acquire(keys) {
      if (closed) throw new Error('send lock keeper is closed');
      const wanted = sortedLockKeys(keys);
      const deadline = Date.now() + waitMs;
      for (let attempt = 0; ; attempt++) {
        // Held by another send of this process: not worth asking Postgres.
        if (!wanted.some((key) => reserved.has(key))) {
          for (const key of wanted) reserved.add(key);
          let connection: LockConnection | null = null;
          let leased = false;
          try {
            connection = await connect();
            const got = await connection.tryLock(wanted);
            if (got.length === wanted.length && connection.alive) {
              leased = true;
              return lease(connection, wanted);
            }
            await unlock(connection, got);
          } catch (error) {
            if (connection) drop(connection);
            if (Date.now() >= deadline || closed) throw error;
          } finally {
            if (!leased) for (const key of wanted) reserved.delete(key);
          }
        }
        if (Date.now() >= deadline) return null;
        // 5 ms, 10, 20, ... capped at 250, each spread over half to one and a half times.
        await sleep(Math.min(250, 5 * 2 ** attempt) * (0.5 + random()));
      }
    },
    async close() {
      closed = true;
      const connection = current ?? (await opening?.catch(() => null)) ?? null;
      if (connection) {
        connection.alive = false;
        await connection.client.end().catch(() => {});
      }
      current = null;
    },
  };

  function lease(connection: LockConnection, keys: readonly string[]): SendLease {
    let released = false;
    return {
      get held() {
        return !released && connection.alive;
      },
      async release() {
        if (released) return;
        released = true;
        try {
          await unlock(connection, [...keys].reverse());
        } finally {
          for (const key of keys) reserved.delete(key);
        }
      },
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
