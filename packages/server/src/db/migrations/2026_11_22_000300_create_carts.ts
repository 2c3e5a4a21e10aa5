import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('carts')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    // The storefront's own cart id (the wire protocol's `cartId`); events refer to carts by it.
    .addColumn('external_id', 'text', (col) => col.notNull())
    // A shopper erased on request leaves their carts behind, anonymous, for the store's figures.
    .addColumn('shopper_id', 'uuid', (col) => col.references('shoppers.id').onDelete('set null'))
    .addColumn('session_id', 'text')
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('active'))
    // The latest full cart as the sdk sent it (lines, totals); read and written whole.
    .addColumn('snapshot', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('currency', 'text')
    .addColumn('value_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('line_count', 'integer', (col) => col.notNull().defaultTo(0))
    // Null until the scorer has seen the cart.
    .addColumn('score', 'real')
    .addColumn('last_activity_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    // When the idle timer should fire. Postgres, not the queue, is the source of truth: the
    // reconciler re-arms jobs from this column after a Redis flush or restart.
    .addColumn('idle_due_at', 'timestamptz')
    .addColumn('abandoned_at', 'timestamptz')
    .addColumn('converted_at', 'timestamptz')
    .addColumn('device', 'text')
    .addColumn('utm', 'jsonb')
    // Enrolment in a recovery sequence: which campaign, which edit of it, which A/B arm.
    .addColumn('campaign_id', 'uuid', (col) => col.references('campaigns.id').onDelete('set null'))
    .addColumn('campaign_version', 'integer')
    .addColumn('variant', 'text')
    .addColumn('enrolled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('carts_store_external_id_key', ['store_id', 'external_id'])
    .addCheckConstraint(
      'carts_status_check',
      sql`status in ('active', 'checkout', 'abandoned', 'converted', 'recovered', 'emptied')`,
    )
    .addCheckConstraint('carts_currency_format', sql`currency ~ '^[A-Z]{3}$'`)
    .addCheckConstraint('carts_amounts_not_negative', sql`value_minor >= 0 and line_count >= 0`)
    .addCheckConstraint('carts_snapshot_object', sql`jsonb_typeof(snapshot) = 'object'`)
    .execute();
  // Live carts and results pages: "this store's abandoned carts, most recent first".
  await db.schema
    .createIndex('carts_store_status_activity_idx')
    .on('carts')
    .columns(['store_id', 'status', 'last_activity_at desc'])
    .execute();
  // The reconciler scans every store's due timers; most carts have none, hence partial.
  await db.schema
    .createIndex('carts_idle_due_at_idx')
    .on('carts')
    .column('idle_due_at')
    .where(sql.ref('idle_due_at'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('carts_shopper_idx')
    .on('carts')
    .column('shopper_id')
    .where(sql.ref('shopper_id'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('carts_campaign_idx')
    .on('carts')
    .column('campaign_id')
    .where(sql.ref('campaign_id'), 'is not', null)
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('carts').execute();
}
