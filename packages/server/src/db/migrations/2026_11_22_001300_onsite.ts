import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.
//
// On-site recovery. `onsite_state` holds, per store and browser (anonymous id), what the
// overlay decision must know across pages and nodes: the session an overlay was last shown in
// (claimed atomically, so a session never gets two) and when the shopper last dismissed one. A
// discount remembers whether an on-site overlay or a message issued it, for the daily cap of
// on-site codes. A cart keeps the shopper's answer to "why are you leaving?".

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('onsite_state')
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    .addColumn('anonymous_id', 'text', (col) => col.notNull())
    .addColumn('shown_session_id', 'text')
    .addColumn('shown_kind', 'text')
    .addColumn('shown_at', 'timestamptz')
    .addColumn('dismissed_at', 'timestamptz')
    .addPrimaryKeyConstraint('onsite_state_pkey', ['store_id', 'anonymous_id'])
    .execute();
  await db.schema
    .alterTable('discounts')
    .addColumn('origin', 'text', (col) =>
      col.notNull().defaultTo('message').check(sql`origin in ('message', 'onsite')`),
    )
    .execute();
  await sql`
    create index discounts_onsite_created_idx on discounts (store_id, created_at)
    where origin = 'onsite'`.execute(db);
  await db.schema
    .alterTable('carts')
    .addColumn('exit_reason', 'text')
    .addColumn('exit_reason_at', 'timestamptz')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('carts')
    .dropColumn('exit_reason')
    .dropColumn('exit_reason_at')
    .execute();
  await sql`drop index if exists discounts_onsite_created_idx`.execute(db);
  await db.schema.alterTable('discounts').dropColumn('origin').execute();
  await db.schema.dropTable('onsite_state').execute();
}
