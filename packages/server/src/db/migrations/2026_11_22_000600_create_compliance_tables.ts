import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  // History tables refuse UPDATE, DELETE and TRUNCATE in the database itself, so no code path
  // (or hand-typed query) can rewrite proof of consent or the audit trail. Rows still leave
  // together with their store or shopper: an ON DELETE CASCADE runs its DELETE from inside the
  // foreign key's trigger, one trigger level down, and that is the only DELETE let through.
  await sql`
    create function winback_refuse_history_change() returns trigger
    language plpgsql as $$
    begin
      if tg_op = 'DELETE' and pg_trigger_depth() > 1 then
        return old;
      end if;
      raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
        using errcode = 'restrict_violation';
    end
    $$
  `.execute(db);

  await db.schema
    .createTable('consent_log')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    // Erasing a shopper erases their consent history too; the suppression list (hashed
    // addresses, below) is what keeps them from being contacted again.
    .addColumn('shopper_id', 'uuid', (col) =>
      col.notNull().references('shoppers.id').onDelete('cascade'),
    )
    .addColumn('channel', 'text', (col) => col.notNull())
    .addColumn('granted', 'boolean', (col) => col.notNull())
    // Where the decision was made: widget checkbox, sdk call, unsubscribe link, SMS STOP, admin.
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('text_version', 'text')
    // Evidence of where consent came from without keeping the raw IP address.
    .addColumn('ip_hash', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('consent_log_channel_check', sql`channel in ('email', 'sms', 'push')`)
    .execute();
  await db.schema
    .createIndex('consent_log_store_shopper_idx')
    .on('consent_log')
    .columns(['store_id', 'shopper_id', 'created_at'])
    .execute();

  // Addresses that must never be contacted again (unsubscribe, hard bounce, complaint, STOP).
  // Only a digest of the normalised address is kept, so the list can outlive the shopper's
  // erasure without keeping their address.
  await db.schema
    .createTable('suppressions')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    .addColumn('channel', 'text', (col) => col.notNull())
    .addColumn('address_hash', 'text', (col) => col.notNull())
    .addColumn('reason', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('suppressions_store_channel_address_key', [
      'store_id',
      'channel',
      'address_hash',
    ])
    .addCheckConstraint('suppressions_channel_check', sql`channel in ('email', 'sms', 'push')`)
    .execute();

  // Inbound webhook dedupe: providers redeliver, and a delivery must take effect once.
  await db.schema
    .createTable('webhook_receipts')
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    .addColumn('provider', 'text', (col) => col.notNull())
    .addColumn('delivery_id', 'text', (col) => col.notNull())
    .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('webhook_receipts_pkey', ['store_id', 'provider', 'delivery_id'])
    .execute();
  // Old receipts are pruned once providers have stopped retrying.
  await db.schema
    .createIndex('webhook_receipts_received_at_idx')
    .on('webhook_receipts')
    .column('received_at')
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('store_id', 'uuid', (col) =>
      col.notNull().references('stores.id').onDelete('cascade'),
    )
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('subject', 'text')
    .addColumn('detail', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('audit_log_store_created_idx')
    .on('audit_log')
    .columns(['store_id', 'created_at desc'])
    .execute();

  for (const table of ['consent_log', 'audit_log']) {
    await sql`
      create trigger ${sql.id(`${table}_append_only`)}
      before update or delete on ${sql.table(table)}
      for each row execute function winback_refuse_history_change()
    `.execute(db);
    await sql`
      create trigger ${sql.id(`${table}_no_truncate`)}
      before truncate on ${sql.table(table)}
      for each statement execute function winback_refuse_history_change()
    `.execute(db);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await db.schema.dropTable('webhook_receipts').execute();
  await db.schema.dropTable('suppressions').execute();
  await db.schema.dropTable('consent_log').execute();
  await sql`drop function winback_refuse_history_change()`.execute(db);
}
