import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code, so later changes to the app cannot change
// what it did when it ran.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('stores')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (col) => col.notNull())
    // The key the storefront script sends; it is public, so it only identifies, never authorises
    // on its own (the Origin allow-list does the rest).
    .addColumn('public_key', 'text', (col) => col.notNull().unique())
    // Only a digest of the admin secret: a database dump must not hand out admin access.
    .addColumn('secret_hash', 'text', (col) => col.notNull())
    .addColumn('allowed_origins', sql`text[]`, (col) => col.notNull().defaultTo(sql`'{}'`))
    // Camel-case keys: the app reads this document as one typed object, and a store created
    // without settings still behaves sensibly. Quiet hours follow common SMS rules (no texts
    // 21:00-08:00 in the shopper's local time).
    .addColumn('settings', 'jsonb', (col) =>
      col
        .notNull()
        .defaultTo(
          sql`'{"idleThresholdMinutes": 30, "timezone": "UTC", "attributionWindowDays": 5, "quietHours": {"start": "21:00", "end": "08:00"}}'::jsonb`,
        ),
    )
    // Commercial email must carry the sender's postal address (CAN-SPAM); unknown until the
    // merchant fills it in.
    .addColumn('postal_address', 'text')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('stores_name_present', sql`char_length(btrim(name)) between 1 and 200`)
    .addCheckConstraint('stores_public_key_format', sql`public_key ~ '^pk_[A-Za-z0-9_-]{24,}$'`)
    .addCheckConstraint('stores_settings_object', sql`jsonb_typeof(settings) = 'object'`)
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('stores').execute();
}
