import type { Kysely } from 'kysely';

// Frozen in time: this file never imports app code.
//
// The projection of events onto carts and shoppers must give the same row whatever order the
// events arrive in. Each merge decision compares event times, so the times it compares with are
// kept next to the values they decided.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('carts')
    // Browser time and event id of the `cart_updated` the snapshot came from; a snapshot is
    // replaced only by one with a later (time, id).
    .addColumn('snapshot_ts', 'timestamptz')
    .addColumn('snapshot_event_id', 'text')
    // Latest checkout activity; the cart is "in checkout" while this is not older than the snapshot.
    .addColumn('checkout_at', 'timestamptz')
    // Browser time of the page view that gave `device` and `utm` (the earliest one wins).
    .addColumn('context_ts', 'timestamptz')
    .execute();
  await db.schema
    .alterTable('shoppers')
    // Browser time of the latest consent decision applied to the flags; an older one arriving
    // late is logged but does not overwrite a newer decision.
    .addColumn('consent_updated_at', 'timestamptz')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('shoppers').dropColumn('consent_updated_at').execute();
  await db.schema
    .alterTable('carts')
    .dropColumn('context_ts')
    .dropColumn('checkout_at')
    .dropColumn('snapshot_event_id')
    .dropColumn('snapshot_ts')
    .execute();
}
