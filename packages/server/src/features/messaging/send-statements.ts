import { sql } from 'kysely';
import { batched } from '../../db/batch.js';
import type { Db } from '../../db/index.js';
import { readSendSubjects, type SendSubject } from './send-subject.js';

/*
 * The statements every send makes, each shared by the sends in flight (`batched`): a send's
 * read, claim and record join those of the other sends waiting at the same moment, so under load
 * a process pays one round trip per group instead of one per send. A statement over a group
 * still answers each send for its own row only (store and id), and each write still applies only
 * to the row version its send read.
 */

export interface RowRef {
  storeId: string;
  messageId: string;
}

export interface SendStatements {
  /** What a send must know before it locks: the row's status and its lock subjects. */
  lockSubject(row: RowRef): Promise<LockSubject | undefined>;
  readSubject(row: RowRef): Promise<SendSubject | undefined>;
  /** `scheduled → sending` if the row is still the version read; says whether it was. */
  claim(claim: { messageId: string; version: string; at: Date }): Promise<boolean>;
  recordSent(sent: { messageId: string; at: Date; providerId: string }): Promise<void>;
}

export interface LockSubject {
  status: string;
  cartExternalId: string;
  anonymousId: string | null;
}

const cache = new WeakMap<Db, SendStatements>();

/** The batched statements over `db`, made once per database handle. */
export function sendStatements(db: Db): SendStatements {
  let statements = cache.get(db);
  if (!statements) {
    statements = createSendStatements(db);
    cache.set(db, statements);
  }
  return statements;
}

function createSendStatements(db: Db): SendStatements {
  const lockSubject = batched(async (rows: RowRef[]) => {
    const { rows: found } = await sql<{
      store_id: string;
      id: string;
      status: string;
      external_id: string;
      anonymous_id: string | null;
    }>`
      select m.store_id, m.id, m.status, c.external_id, s.anonymous_id
      from unnest(
        ${rows.map((row) => row.storeId)}::uuid[],
        ${rows.map((row) => row.messageId)}::uuid[]
      ) as want(store_id, id)
      join messages m on m.store_id = want.store_id and m.id = want.id
      join carts c on c.id = m.cart_id and c.store_id = m.store_id
      left join shoppers s on s.id = c.shopper_id and s.store_id = m.store_id
    `.execute(db);
    const byRow = new Map(found.map((row) => [`${row.store_id}/${row.id}`, row]));
    return rows.map((row): LockSubject | undefined => {
      const hit = byRow.get(`${row.storeId}/${row.messageId}`);
      return (
        hit && {
          status: hit.status,
          cartExternalId: hit.external_id,
          anonymousId: hit.anonymous_id,
        }
      );
    });
  });

  const readSubject = batched((rows: RowRef[]) => readSendSubjects(db, rows));

  const claim = batched(async (claims: { messageId: string; version: string; at: Date }[]) => {
    const { rows } = await sql<{ id: string }>`
      update messages m
      set status = 'sending', claimed_at = u.at, attempt = m.attempt + 1, discount_id = null,
        updated_at = u.at
      from unnest(
        ${claims.map((c) => c.messageId)}::uuid[],
        ${claims.map((c) => c.version)}::text[],
        ${claims.map((c) => c.at)}::timestamptz[]
      ) as u(id, version, at)
      where m.id = u.id and m.xmin::text = u.version and m.status = 'scheduled'
      returning m.id
    `.execute(db);
    // A row claimed twice in one group is updated once: only its first claim has it.
    const claimed = new Set(rows.map((row) => row.id));
    return claims.map((c) => claimed.delete(c.messageId));
  });

  const recordSent = batched(
    async (sent: { messageId: string; at: Date; providerId: string }[]) => {
      await sql`
        update messages m
        set status = 'sent', sent_at = u.at, provider_id = u.provider_id, error = null,
          updated_at = u.at
        from unnest(
          ${sent.map((s) => s.messageId)}::uuid[],
          ${sent.map((s) => s.at)}::timestamptz[],
          ${sent.map((s) => s.providerId)}::text[]
        ) as u(id, at, provider_id)
        where m.id = u.id
      `.execute(db);
      return sent.map(() => undefined);
    },
  );

  return { lockSubject, readSubject, claim, recordSent };
}
