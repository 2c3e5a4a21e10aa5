import type { Kysely } from 'kysely';

// Frozen in time: this file never imports app code.
//
// The shopper's first name, for the greeting of recovery messages. Like an address it is kept
// only from an `identify` that grants consent for a channel.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('shoppers').addColumn('first_name', 'text').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('shoppers').dropColumn('first_name').execute();
}
