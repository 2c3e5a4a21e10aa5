import type { ColumnDefinitionBuilder, Kysely } from 'kysely';

// Frozen in time: this file never imports app code.
//
// Per-cart counters the real-time score needs and the events table does not give cheaply. The
// projection adds to them only what newly stored events say, so a resent event is not counted
// twice.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  const count = (col: ColumnDefinitionBuilder) => col.notNull().defaultTo(0);
  await db.schema
    .alterTable('carts')
    // `cart_updated` changes: quantity changes and additions are edits, removals are removals.
    .addColumn('edits', 'integer', count)
    .addColumn('removals', 'integer', count)
    .addColumn('page_views', 'integer', count)
    // Page views whose URL path looks like a product page (/products/, /product/, /p/).
    .addColumn('product_views', 'integer', count)
    // `checkout_step` events.
    .addColumn('checkout_steps', 'integer', count)
    // `exit_intent` events, one column per signal.
    .addColumn('exit_mouse_top', 'integer', count)
    .addColumn('exit_scroll_up', 'integer', count)
    .addColumn('exit_tab_hidden', 'integer', count)
    .addColumn('exit_idle', 'integer', count)
    .addColumn('exit_back', 'integer', count)
    // Browser time of the cart's earliest event.
    .addColumn('first_seen_at', 'timestamptz')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('carts')
    .dropColumn('first_seen_at')
    .dropColumn('exit_back')
    .dropColumn('exit_idle')
    .dropColumn('exit_tab_hidden')
    .dropColumn('exit_scroll_up')
    .dropColumn('exit_mouse_top')
    .dropColumn('checkout_steps')
    .dropColumn('product_views')
    .dropColumn('page_views')
    .dropColumn('removals')
    .dropColumn('edits')
    .execute();
}
