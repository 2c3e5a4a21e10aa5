import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.
//
// Signed-in merchants. The browser holds a random token in a cookie; only its SHA-256 digest is
// kept here, so a copy of this table opens no admin session. A session lives 12 hours from
// sign-in whatever its use (`expires_at`); `last_seen_at` only says when it was last used.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('admin_sessions')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    // Hex SHA-256 of the cookie's token.
    .addColumn('token_hash', 'text', (col) =>
      col.notNull().unique().check(sql`token_hash ~ '^[0-9a-f]{64}$'`),
    )
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('last_seen_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // Expired sessions are pruned in batches, oldest expiry first.
  await db.schema
    .createIndex('admin_sessions_expires_idx')
    .on('admin_sessions')
    .column('expires_at')
    .execute();
  // A store's sessions, and the cascade when a store is deleted.
  await db.schema
    .createIndex('admin_sessions_store_idx')
    .on('admin_sessions')
    .column('store_id')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('admin_sessions').execute();
}
