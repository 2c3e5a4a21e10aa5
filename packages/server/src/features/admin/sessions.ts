import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/** How long a session lasts from sign-in, whatever its use. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** `last_seen_at` is written at most this often per session, not on every request. */
const TOUCH_EVERY_MS = 60 * 1000;
/** Expired sessions removed per sign-in, so pruning never becomes a long statement. */
const PRUNE_BATCH = 500;

/** 256 random bits, URL-safe: what the cookie holds. */
const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

export interface AdminSession {
  id: string;
  storeId: string;
  expiresAt: Date;
}

/** Hex SHA-256 of a session token: the only form the database ever sees. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Opens a session for a store and records the sign-in in the audit log, in one transaction, and
 * first prunes a batch of expired sessions (of any store). Returns the token for the cookie:
 * it is not kept anywhere, so it can never be shown again.
 */
export async function createAdminSession(
  db: Db,
  storeId: string,
): Promise<AdminSession & { token: string }> {
  const token = randomBytes(32).toString('base64url');
  return db.transaction().execute(async (trx) => {
    await pruneExpiredSessions(trx);
    const row = await trx
      .insertInto('admin_sessions')
      .values({
        store_id: storeId,
        token_hash: tokenHash(token),
        // The database's clock, so every node agrees on when the session ends.
        expires_at: sql<Date>`now() + ${`${SESSION_TTL_MS} milliseconds`}::interval`,
      })
      .returning(['id', 'store_id', 'expires_at'])
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('audit_log')
      .values({ store_id: storeId, actor: 'admin', action: 'session.create', subject: row.id })
      .execute();
    return { id: row.id, storeId: row.store_id, expiresAt: row.expires_at, token };
  });
}

/**
 * The live session a cookie's token opens: not expired, and its store not revoked. Notes the
 * use in `last_seen_at` (at most once a minute).
 */
export async function findAdminSession(db: Db, token: string): Promise<AdminSession | undefined> {
  // Anything that cannot be a token is turned away without a query.
  if (!tokenPattern.test(token)) return undefined;
  const row = await db
    .selectFrom('admin_sessions as s')
    .innerJoin('stores as st', 'st.id', 's.store_id')
    .select(['s.id', 's.store_id', 's.expires_at', 's.last_seen_at'])
    .where('s.token_hash', '=', tokenHash(token))
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('st.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  if (Date.now() - row.last_seen_at.getTime() > TOUCH_EVERY_MS) {
    await db
      .updateTable('admin_sessions')
      .set({ last_seen_at: sql<Date>`now()` })
      .where('id', '=', row.id)
      .execute();
  }
  return { id: row.id, storeId: row.store_id, expiresAt: row.expires_at };
}

/**
 * Which of these sessions still stand: not signed out, not expired, their store not revoked.
 * Open live feeds are checked with it, since a store can be revoked from another process.
 */
export async function standingSessions(
  db: Db,
  sessionIds: readonly string[],
): Promise<Set<string>> {
  if (sessionIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('admin_sessions as s')
    .innerJoin('stores as st', 'st.id', 's.store_id')
    .select('s.id')
    .where('s.id', '=', sql<string>`any(${[...sessionIds]}::uuid[])`)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('st.revoked_at', 'is', null)
    .execute();
  return new Set(rows.map((row) => row.id));
}

/**
 * Ends the session a token belongs to, expired or not, and records the sign-out in the audit
 * log. Returns the ended session, or undefined when there was none.
 */
export async function deleteAdminSession(
  db: Db,
  token: string,
): Promise<{ id: string; storeId: string } | undefined> {
  if (!tokenPattern.test(token)) return undefined;
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .deleteFrom('admin_sessions')
      .where('token_hash', '=', tokenHash(token))
      .returning(['id', 'store_id'])
      .executeTakeFirst();
    if (!row) return undefined;
    await trx
      .insertInto('audit_log')
      .values({ store_id: row.store_id, actor: 'admin', action: 'session.delete', subject: row.id })
      .execute();
    return { id: row.id, storeId: row.store_id };
  });
}

/** Removes up to one batch of expired sessions; returns how many went. */
export async function pruneExpiredSessions(db: Db): Promise<number> {
  const result = await db
    .deleteFrom('admin_sessions')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('admin_sessions')
        .select('id')
        .where('expires_at', '<=', sql<Date>`now()`)
        .orderBy('expires_at')
        .limit(PRUNE_BATCH),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
