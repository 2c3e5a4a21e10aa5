import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  // The send ledger: one row per cart x campaign x step x channel, so a step can be scheduled
  // any number of times (retries, reconciler, two workers) and still be sent at most once.
  await db.schema
    .createTable('messages')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    .addColumn('cart_id', 'uuid', (col) => col.notNull().references('carts.id').onDelete('cascade'))
    // No cascade: a campaign with send history is paused, not deleted, so results stay whole.
    // (Deleting the store still removes both in one statement.)
    .addColumn('campaign_id', 'uuid', (col) => col.notNull().references('campaigns.id'))
    .addColumn('campaign_version', 'integer')
    .addColumn('variant', 'text')
    .addColumn('step', 'integer', (col) => col.notNull())
    .addColumn('channel', 'text', (col) => col.notNull())
    .addColumn('template_id', 'uuid', (col) => col.references('templates.id').onDelete('set null'))
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('scheduled'))
    // Postgres, not the queue, is the source of truth for what is due.
    .addColumn('scheduled_at', 'timestamptz', (col) => col.notNull())
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('provider_id', 'text')
    .addColumn('error', 'text')
    .addColumn('suppress_reason', 'text')
    .addColumn('opened_at', 'timestamptz')
    .addColumn('clicked_at', 'timestamptz')
    .addColumn('attempt', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('messages_ledger_key', [
      'store_id',
      'cart_id',
      'campaign_id',
      'step',
      'channel',
    ])
    .addCheckConstraint(
      'messages_status_check',
      sql`status in ('scheduled', 'sending', 'sent', 'suppressed', 'cancelled', 'failed')`,
    )
    .addCheckConstraint(
      'messages_channel_check',
      sql`channel in ('email', 'sms', 'push', 'onsite')`,
    )
    .addCheckConstraint('messages_counts_not_negative', sql`step >= 0 and attempt >= 0`)
    .execute();
  // The reconciler and the due-sends scan look only at what is still waiting.
  await db.schema
    .createIndex('messages_scheduled_due_idx')
    .on('messages')
    .column('scheduled_at')
    .where(sql.ref('status'), '=', 'scheduled')
    .execute();
  // Cancelling a cart's remaining steps, and the cascade when a cart is deleted.
  await db.schema.createIndex('messages_cart_idx').on('messages').column('cart_id').execute();
  await db.schema
    .createIndex('messages_campaign_idx')
    .on('messages')
    .column('campaign_id')
    .execute();
  // Provider webhooks (delivered, opened, bounced) name the message only by the provider's id.
  await db.schema
    .createIndex('messages_provider_id_idx')
    .on('messages')
    .column('provider_id')
    .where(sql.ref('provider_id'), 'is not', null)
    .execute();

  await db.schema
    .createTable('discounts')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    .addColumn('code', 'text', (col) => col.notNull())
    .addColumn('cart_id', 'uuid', (col) => col.references('carts.id').onDelete('set null'))
    .addColumn('kind', 'text', (col) => col.notNull())
    // Whole percent for `percent`, minor units of `currency` for `fixed`, 0 for free shipping.
    .addColumn('value', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('currency', 'text')
    .addColumn('min_subtotal_minor', 'bigint')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('discounts_store_code_key', ['store_id', 'code'])
    .addCheckConstraint('discounts_kind_check', sql`kind in ('percent', 'fixed', 'free_shipping')`)
    .addCheckConstraint(
      'discounts_value_fits_kind',
      sql`(kind = 'percent' and value between 1 and 100)
        or (kind = 'fixed' and value > 0 and currency is not null and currency ~ '^[A-Z]{3}$')
        or (kind = 'free_shipping' and value = 0)`,
    )
    .addCheckConstraint('discounts_min_subtotal_not_negative', sql`min_subtotal_minor >= 0`)
    .execute();
  await db.schema
    .createIndex('discounts_cart_idx')
    .on('discounts')
    .column('cart_id')
    .where(sql.ref('cart_id'), 'is not', null)
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('discounts').execute();
  await db.schema.dropTable('messages').execute();
}
