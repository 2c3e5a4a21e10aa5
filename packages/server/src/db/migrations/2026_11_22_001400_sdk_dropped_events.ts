import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.
//
// Events the storefront's browsers had to drop before sending them (the sdk keeps a bounded
// local queue while the server cannot be reached, and drops the oldest past it), counted per
// store and UTC day of arrival. Frames report the count since their last ack; ingest adds it in
// the transaction that stores the frame, once per frame. Analytics reads it as a loss rate next
// to the events stored that day.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sdk_dropped_events')
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    .addColumn('day', 'date', (col) => col.notNull())
    .addColumn('dropped', 'bigint', (col) => col.notNull().check(sql`dropped >= 0`))
    .addPrimaryKeyConstraint('sdk_dropped_events_pkey', ['store_id', 'day'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sdk_dropped_events').execute();
}
