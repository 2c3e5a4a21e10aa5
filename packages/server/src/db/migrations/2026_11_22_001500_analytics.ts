import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.
//
// Analytics rollups. A cart counts on the quarter hour (UTC) of its first activity, its cohort;
// quarter hours add up to whole days in every time zone in use, so one rollup serves any store
// time zone. `analytics_rollup` holds, per store, quarter hour and dimension value, the counts
// recomputed from the raw rows (carts, messages, overlay events) of that quarter hour's carts.
//
// Triggers only append marks to `analytics_dirty` (never update a shared row, so writers never
// wait on each other or deadlock there): a cart change marks its quarter hours, a send-ledger
// change marks its cart, an overlay event marks its storefront cart id. The refresh
// (features/analytics/repository.ts) takes the marks, resolves carts to their current quarter
// hours and recomputes those quarter hours whole, so after a refresh the rollup equals the
// aggregate of the raw rows exactly.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function winback_quarter_hour(at timestamptz) returns timestamptz
    language sql immutable strict parallel safe
    as $$ select to_timestamp(floor(extract(epoch from at) / 900) * 900) $$
  `.execute(db);

  await sql`
    create table analytics_rollup (
      store_id uuid not null references stores (id) on delete cascade,
      bucket timestamptz not null,
      -- total | device | campaign | exit_reason | step | channel | overlay
      dimension text not null,
      -- '' for total and for carts without a value (no device, no campaign, no answer)
      key text not null,
      -- '' on count rows; an ISO code on revenue rows, which hold only revenue_minor
      currency text not null,
      carts integer not null default 0,
      checkout integer not null default 0,
      abandoned integer not null default 0,
      enrolled integer not null default 0,
      messaged integer not null default 0,
      opened integer not null default 0,
      clicked integer not null default 0,
      recovered integer not null default 0,
      converted integer not null default 0,
      revenue_minor bigint not null default 0,
      shown integer not null default 0,
      copy_code integer not null default 0,
      checkout_action integer not null default 0,
      dismiss integer not null default 0,
      capture_submitted integer not null default 0,
      reason integer not null default 0,
      constraint analytics_rollup_pkey primary key (store_id, dimension, bucket, key, currency)
    )
  `.execute(db);
  await sql`create index analytics_rollup_bucket_idx on analytics_rollup (store_id, bucket)`.execute(
    db,
  );

  await sql`
    create table analytics_dirty (
      store_id uuid not null references stores (id) on delete cascade,
      bucket timestamptz,
      cart_id uuid,
      external_id text
    )
  `.execute(db);
  await sql`create index analytics_dirty_store_idx on analytics_dirty (store_id)`.execute(db);

  // Finds a period's carts for a refresh, and carts of a quarter hour for a recompute.
  await sql`
    create index carts_store_cohort_idx
    on carts (store_id, winback_quarter_hour(coalesce(first_seen_at, created_at)))
  `.execute(db);
  // The carts search (and its CSV export) walks a store's carts newest first without a status.
  await sql`
    create index carts_store_activity_idx on carts (store_id, last_activity_at desc, id desc)
  `.execute(db);
  // A cart's overlay events, for the recompute.
  await sql`
    create index events_overlay_cart_idx on events (store_id, cart_id)
    where type in ('overlay_shown', 'overlay_action') and cart_id is not null
  `.execute(db);

  await sql`
    create function winback_analytics_mark_cart() returns trigger
    language plpgsql as $$
    begin
      if tg_op = 'UPDATE'
        -- A delete cascading from its store leaves nothing to count (and no store to mark).
        or (tg_op = 'DELETE' and exists (select 1 from stores where id = old.store_id)) then
        insert into analytics_dirty (store_id, bucket)
        values (old.store_id, winback_quarter_hour(coalesce(old.first_seen_at, old.created_at)));
      end if;
      if tg_op in ('INSERT', 'UPDATE') then
        insert into analytics_dirty (store_id, bucket)
        values (new.store_id, winback_quarter_hour(coalesce(new.first_seen_at, new.created_at)));
      end if;
      return null;
    end
    $$
  `.execute(db);
  await sql`
    create trigger carts_analytics_insert after insert on carts
    for each row execute function winback_analytics_mark_cart()
  `.execute(db);
  // Only changes that move a count: score, snapshot and activity times do not.
  await sql`
    create trigger carts_analytics_update after update on carts
    for each row when (
      old.status is distinct from new.status
      or old.first_seen_at is distinct from new.first_seen_at
      or old.created_at is distinct from new.created_at
      or old.store_id is distinct from new.store_id
      or old.external_id is distinct from new.external_id
      or (old.checkout_at is null) is distinct from (new.checkout_at is null)
      or (old.abandoned_at is null) is distinct from (new.abandoned_at is null)
      or old.enrolment is distinct from new.enrolment
      or old.device is distinct from new.device
      or old.campaign_id is distinct from new.campaign_id
      or old.exit_reason is distinct from new.exit_reason
      or old.order_value_minor is distinct from new.order_value_minor
      or old.order_currency is distinct from new.order_currency
      or old.attributed_message_id is distinct from new.attributed_message_id
    )
    execute function winback_analytics_mark_cart()
  `.execute(db);
  await sql`
    create trigger carts_analytics_delete after delete on carts
    for each row execute function winback_analytics_mark_cart()
  `.execute(db);

  await sql`
    create function winback_analytics_mark_message() returns trigger
    language plpgsql as $$
    begin
      if tg_op = 'UPDATE'
        or (tg_op = 'DELETE' and exists (select 1 from stores where id = old.store_id)) then
        insert into analytics_dirty (store_id, cart_id) values (old.store_id, old.cart_id);
      end if;
      if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.cart_id is distinct from old.cart_id) then
        insert into analytics_dirty (store_id, cart_id) values (new.store_id, new.cart_id);
      end if;
      return null;
    end
    $$
  `.execute(db);
  await sql`
    create trigger messages_analytics_insert after insert on messages
    for each row when (
      new.status = 'sent' or new.opened_at is not null or new.clicked_at is not null
    )
    execute function winback_analytics_mark_message()
  `.execute(db);
  await sql`
    create trigger messages_analytics_update after update on messages
    for each row when (
      (old.status = 'sent') is distinct from (new.status = 'sent')
      or (old.opened_at is null) is distinct from (new.opened_at is null)
      or (old.clicked_at is null) is distinct from (new.clicked_at is null)
      or old.step is distinct from new.step
      or old.channel is distinct from new.channel
      or old.cart_id is distinct from new.cart_id
    )
    execute function winback_analytics_mark_message()
  `.execute(db);
  await sql`
    create trigger messages_analytics_delete after delete on messages
    for each row execute function winback_analytics_mark_message()
  `.execute(db);

  // Events are only ever inserted (deduped on their id); the cart row may not exist yet, so
  // the mark names the storefront's cart id and the refresh resolves it.
  await sql`
    create function winback_analytics_mark_event() returns trigger
    language plpgsql as $$
    begin
      insert into analytics_dirty (store_id, external_id) values (new.store_id, new.cart_id);
      return null;
    end
    $$
  `.execute(db);
  await sql`
    create trigger events_analytics_insert after insert on events
    for each row when (
      new.type in ('overlay_shown', 'overlay_action') and new.cart_id is not null
    )
    execute function winback_analytics_mark_event()
  `.execute(db);

  // Carts that exist already: every quarter hour they cover is computed at the first refresh.
  await sql`
    insert into analytics_dirty (store_id, bucket)
    select distinct store_id, winback_quarter_hour(coalesce(first_seen_at, created_at)) from carts
  `.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger events_analytics_insert on events`.execute(db);
  await sql`drop function winback_analytics_mark_event()`.execute(db);
  await sql`drop trigger messages_analytics_delete on messages`.execute(db);
  await sql`drop trigger messages_analytics_update on messages`.execute(db);
  await sql`drop trigger messages_analytics_insert on messages`.execute(db);
  await sql`drop function winback_analytics_mark_message()`.execute(db);
  await sql`drop trigger carts_analytics_delete on carts`.execute(db);
  await sql`drop trigger carts_analytics_update on carts`.execute(db);
  await sql`drop trigger carts_analytics_insert on carts`.execute(db);
  await sql`drop function winback_analytics_mark_cart()`.execute(db);
  await sql`drop index events_overlay_cart_idx`.execute(db);
  await sql`drop index carts_store_activity_idx`.execute(db);
  await sql`drop index carts_store_cohort_idx`.execute(db);
  await sql`drop table analytics_dirty`.execute(db);
  await sql`drop table analytics_rollup`.execute(db);
  await sql`drop function winback_quarter_hour(timestamptz)`.execute(db);
}
