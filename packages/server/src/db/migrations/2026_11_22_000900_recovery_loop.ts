import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.
//
// What the recovery loop needs beyond the core tables: the order that ended a cart and the
// message it is attributed to, the outcome of a cart's enrolment, the step definition a ledger
// row was scheduled from (campaign edits apply to carts enrolled afterwards only), and the
// default campaign for stores that existed before campaigns did.

const defaultSteps = [
  { delayMinutes: 60, channel: 'email', template: 'reminder' },
  { delayMinutes: 1440, channel: 'email', template: 'lastChance' },
  {
    delayMinutes: 4320,
    channel: 'email',
    template: 'discount',
    discount: { kind: 'percent', value: 10, validHours: 48 },
  },
];

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('carts')
    // The first `order_completed` of the cart (its time is `converted_at`).
    .addColumn('order_id', 'text')
    .addColumn('order_value_minor', 'bigint')
    .addColumn('order_currency', 'text')
    // The message whose open or click the purchase is attributed to (status `recovered`).
    .addColumn('attributed_message_id', 'uuid', (col) =>
      col.references('messages.id').onDelete('set null'),
    )
    // What the abandonment worker decided: enrolled in a campaign, or why not.
    .addColumn('enrolment', 'text', (col) =>
      col.check(sql`enrolment in ('enrolled', 'no_campaign', 'no_channel')`),
    )
    .execute();
  // The abandonment timers still to fire; the reconciler re-arms them from here.
  await db.schema
    .createIndex('carts_idle_due_idx')
    .on('carts')
    .column('idle_due_at')
    .where(sql.ref('idle_due_at'), 'is not', null)
    .execute();
  // A purchase stops the messages of the buyer's other carts too.
  await db.schema
    .createIndex('carts_store_shopper_idx')
    .on('carts')
    .columns(['store_id', 'shopper_id'])
    .where(sql.ref('shopper_id'), 'is not', null)
    .execute();

  await db.schema
    .alterTable('messages')
    // The step as it stood when the cart enrolled: delay, channel, template, discount policy.
    .addColumn('step_def', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('discount_id', 'uuid', (col) => col.references('discounts.id').onDelete('set null'))
    .execute();

  await sql`
    insert into campaigns (store_id, name, status, priority, steps)
    select s.id, 'Abandoned cart', 'active', 0, ${JSON.stringify(defaultSteps)}::jsonb
    from stores s
    where not exists (select 1 from campaigns c where c.store_id = s.id)
  `.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('discount_id').dropColumn('step_def').execute();
  await db.schema.dropIndex('carts_store_shopper_idx').execute();
  await db.schema.dropIndex('carts_idle_due_idx').execute();
  await db.schema
    .alterTable('carts')
    .dropColumn('enrolment')
    .dropColumn('attributed_message_id')
    .dropColumn('order_currency')
    .dropColumn('order_value_minor')
    .dropColumn('order_id')
    .execute();
}
