import type { Kysely } from 'kysely';

// Frozen in time: this file never imports app code.
//
// A campaign's on-site step: what the exit modal may offer the carts the campaign would enrol,
// while the shopper is still on the site. Null: the campaign has none, and its carts get the
// store's own offer (`stores.settings.onsite.offer`). It is a column of its own rather than one
// more entry of `steps`, because every entry of `steps` is a message written to the send ledger
// at enrolment; this one is never sent.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('campaigns').addColumn('onsite', 'jsonb').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('campaigns').dropColumn('onsite').execute();
}
