import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

/*
 * "No message is ever delivered after a purchase has committed" rests on one pair of Postgres
 * advisory locks, taken by both sides in the same (ascending key) order:
 * - a message send holds the locks of its cart and its shopper's browser, on its own connection,
 *   from before it claims the ledger row until the provider has answered;
 * - an ingest transaction that carries an `order_completed` takes the locks of that event's cart
 *   and browser (transaction-scoped) before it touches any cart.
 * So a purchase either commits before a send claims its row (and the claim sees it and
 * suppresses the message), or waits for the send in flight to finish (the mail left before the
 * purchase committed). A send killed mid-way drops its connection and with it the locks.
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
 * Takes session locks on a single connection, in key order, in one statement (`unnest` yields
 * the array's elements in order, and each row's lock is taken before the next row is read);
 * release with `unlockSession`.
 */
export async function lockSession<DB>(conn: Kysely<DB>, keys: readonly string[]): Promise<void> {
  await sql`
    select pg_advisory_lock(k) from unnest(${sortedLockKeys(keys)}::bigint[]) as k
  `.execute(conn);
}

export async function unlockSession<DB>(conn: Kysely<DB>, keys: readonly string[]): Promise<void> {
  await sql`
    select pg_advisory_unlock(k) from unnest(${sortedLockKeys(keys).reverse()}::bigint[]) as k
  `.execute(conn);
}
