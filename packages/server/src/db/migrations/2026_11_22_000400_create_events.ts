import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports app code.
//
// Events are the largest table, so it is partitioned by month from the start. The catch: on a
// partitioned table every unique key must contain the partition key. Partitioning by a time
// column (`ts` or `received_at`) would force the key to become (store_id, id, ts), and then a
// retried event carrying a different time would no longer collide: dedupe would silently break.
//
// Instead the partition key is the event id itself. Ids are client ULIDs, whose first ten
// characters encode the creation time in milliseconds and sort lexicographically, so a month is
// simply a range of ids: [ulid_prefix(first day), ulid_prefix(first day of next month)). The
// primary key (store_id, id) then already contains the partition key, and because a given id
// always routes to the same partition, uniqueness per partition is uniqueness overall. Dedupe on
// (store_id, id) stays exact, and `insert ... on conflict (store_id, id) do nothing` works.
//
// The id uses the "C" collation so ranges compare byte-wise, as ULIDs are meant to sort. Ids that
// are not canonical ULIDs (or come from clocks far off) fall into the default partition, still
// deduplicated. `winback_ensure_events_partition(month)` creates a month ahead of time and, if
// the default partition already holds rows for that month, moves them in first.

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table events (
      store_id uuid not null references stores (id) on delete cascade,
      id text collate "C" not null,
      type text not null,
      ts timestamptz not null,
      received_at timestamptz not null default now(),
      session_id text,
      anonymous_id text,
      -- The storefront's cart id (carts.external_id), as sent; no foreign key, because events
      -- are written before (and regardless of) the cart row.
      cart_id text,
      payload jsonb not null default '{}'::jsonb,
      constraint events_pkey primary key (store_id, id),
      constraint events_id_length check (char_length(id) between 1 and 64)
    ) partition by range (id)
  `.execute(db);
  await sql`create table events_default partition of events default`.execute(db);
  await sql`
    create index events_store_cart_ts_idx on events (store_id, cart_id, ts)
    where cart_id is not null
  `.execute(db);

  await sql`
    create function winback_ulid_time_prefix(at timestamptz) returns text
    language plpgsql immutable strict as $$
    declare
      -- ULIDs count whole milliseconds; truncating first keeps the arithmetic exact even where
      -- extract() returns a double (Postgres 13 and older).
      ms bigint := round(extract(epoch from date_trunc('milliseconds', at)) * 1000)::bigint;
      alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
      prefix text := '';
    begin
      if ms < 0 or ms >= 281474976710656 then
        raise exception 'a ULID cannot encode %', at;
      end if;
      for i in 1..10 loop
        prefix := substr(alphabet, (ms % 32)::int + 1, 1) || prefix;
        ms := ms / 32;
      end loop;
      return prefix;
    end
    $$
  `.execute(db);

  await sql`
    create function winback_ensure_events_partition(month date) returns text
    language plpgsql as $$
    declare
      first_day date := date_trunc('month', month::timestamp)::date;
      lower_bound text := winback_ulid_time_prefix(first_day::timestamp at time zone 'UTC');
      upper_bound text := winback_ulid_time_prefix(
        (first_day + interval '1 month')::timestamp at time zone 'UTC');
      partition_name text := 'events_' || to_char(first_day, 'YYYY_MM');
    begin
      -- Several nodes may prepare the same month at once; only one may create it.
      perform pg_advisory_xact_lock(hashtext('winback_ensure_events_partition'));
      if exists (
        select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'events'::regclass and c.relname = partition_name
      ) then
        return partition_name;
      end if;
      -- Attaching a range the default partition already holds rows for would fail, so those
      -- rows (from clocks running ahead) move into the new table first.
      execute format(
        'create table %I (like events including defaults including constraints)',
        partition_name);
      execute format(
        'insert into %I select * from events_default where id >= %L and id < %L',
        partition_name, lower_bound, upper_bound);
      execute format(
        'delete from events_default where id >= %L and id < %L', lower_bound, upper_bound);
      execute format(
        'alter table events attach partition %I for values from (%L) to (%L)',
        partition_name, lower_bound, upper_bound);
      return partition_name;
    end
    $$
  `.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: a migration must not depend on today's schema types
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function winback_ensure_events_partition(date)`.execute(db);
  // Dropping the partitioned table drops every partition with it.
  await sql`drop table events`.execute(db);
  await sql`drop function winback_ulid_time_prefix(timestamptz)`.execute(db);
}
