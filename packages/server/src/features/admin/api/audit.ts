import type { Kysely } from 'kysely';
import type { Database } from '../../../db/schema.js';

/**
 * Records an admin write in `audit_log`, in the caller's transaction so the change and its record
 * commit together. `detail` says what changed (field names, never secrets or shoppers' data).
 */
export async function audit(
  trx: Kysely<Database>,
  entry: { storeId: string; sessionId: string; action: string; subject?: string; detail?: object },
): Promise<void> {
  await trx
    .insertInto('audit_log')
    .values({
      store_id: entry.storeId,
      actor: `admin:${entry.sessionId}`,
      action: entry.action,
      subject: entry.subject ?? null,
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .execute();
}
