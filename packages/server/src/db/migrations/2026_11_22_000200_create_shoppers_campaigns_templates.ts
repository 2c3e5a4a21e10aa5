import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.

const channels = sql`('email', 'sms', 'push', 'onsite')`;

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('shoppers')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    // The sdk's per-browser id; email and phone arrive only with consent, so this is the key.
    .addColumn('anonymous_id', 'text', (col) => col.notNull())
    // Stored as normalised at the edge (lower-case email, E.164 phone); no format checks here
    // so one odd address cannot fail a whole ingest batch.
    .addColumn('email', 'text')
    .addColumn('phone', 'text')
    .addColumn('email_consent', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('sms_consent', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('consent_text_version', 'text')
    .addColumn('locale', 'text')
    .addColumn('timezone', 'text')
    .addColumn('country', 'text')
    .addColumn('opted_out_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('shoppers_store_anonymous_id_key', ['store_id', 'anonymous_id'])
    .execute();
  // Not unique: one person may shop from several browsers under one email.
  await db.schema
    .createIndex('shoppers_store_email_idx')
    .on('shoppers')
    .columns(['store_id', 'email'])
    .where(sql.ref('email'), 'is not', null)
    .execute();
  // Inbound SMS (STOP) arrives with only a phone number.
  await db.schema
    .createIndex('shoppers_store_phone_idx')
    .on('shoppers')
    .columns(['store_id', 'phone'])
    .where(sql.ref('phone'), 'is not', null)
    .execute();

  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('draft'))
    // Higher wins when several active campaigns match one cart.
    .addColumn('priority', 'integer', (col) => col.notNull().defaultTo(0))
    // Segment rules; their shape belongs to the campaigns feature.
    .addColumn('trigger_filters', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    // Ordered steps (delay, channel, template, discount) and A/B arms; an empty `variants`
    // means a single arm. Kept as documents because they are always read and written whole.
    .addColumn('steps', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('variants', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    // Bumped on every edit of the steps, so carts and sends record which sequence they followed.
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('campaigns_status_check', sql`status in ('draft', 'active', 'paused')`)
    .addCheckConstraint(
      'campaigns_documents_shape',
      sql`jsonb_typeof(trigger_filters) = 'object' and jsonb_typeof(steps) = 'array' and jsonb_typeof(variants) = 'array'`,
    )
    .addCheckConstraint('campaigns_version_positive', sql`version >= 1`)
    .execute();
  await db.schema
    .createIndex('campaigns_store_status_priority_idx')
    .on('campaigns')
    .columns(['store_id', 'status', 'priority desc'])
    .execute();

  await db.schema
    .createTable('templates')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('channel', 'text', (col) => col.notNull())
    .addColumn('subject', 'text')
    .addColumn('html', 'text')
    .addColumn('text', 'text')
    .addColumn('locale', 'text', (col) => col.notNull().defaultTo('en'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('templates_channel_check', sql`channel in ${channels}`)
    .execute();
  await db.schema
    .createIndex('templates_store_channel_idx')
    .on('templates')
    .columns(['store_id', 'channel'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('templates').execute();
  await db.schema.dropTable('campaigns').execute();
  await db.schema.dropTable('shoppers').execute();
}
