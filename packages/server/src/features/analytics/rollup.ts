import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/*
 * The analytics rollup (`analytics_rollup`, see the analytics migration): per store, quarter
 * hour (UTC) of the carts' first activity and dimension value, the counts of the raw rows.
 * Writers never touch it: triggers append marks to `analytics_dirty`, and `refreshRollup`
 * recomputes the marked quarter hours whole from carts, messages and overlay events.
 */

/** Marks taken per transaction; a larger backlog is worked off in several. */
const MARKS_PER_PASS = 20_000;
/** Quarter hours recomputed per statement. */
const BUCKETS_PER_STATEMENT = 500;

/** Lock space of the per-store refresh lock (`pg_advisory_xact_lock(space, hash(store))`). */
const REFRESH_LOCK = 0x77_62_61_6e; // "wban"

/**
 * The overlay kind of an overlay event, from the prefix of its `overlayId`: the server's ids
 * start `ov_exit_` (exit modal) or `ov_slide_` (return slide-in); any other is `other`.
 */
const overlayKind = sql`case
  when e.payload->>'overlayId' like 'ov\\_exit%' then 'exit_modal'
  when e.payload->>'overlayId' like 'ov\\_slide%' then 'return_slide_in'
  else 'other' end`;

/**
 * Brings the store's rollup up to date with every change committed before the call: takes its
 * marks and recomputes the quarter hours they name. One refresh per store runs at a time; with
 * `wait: false` a store another refresh holds is skipped (returns -1).
 *
 * @returns the number of quarter hours recomputed.
 */
export async function refreshRollup(
  db: Db,
  storeId: string,
  options: { wait?: boolean } = {},
): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await db.transaction().execute(async (trx) => {
      if (options.wait === false) {
        const { rows } = await sql<{ locked: boolean }>`
          select pg_try_advisory_xact_lock(${REFRESH_LOCK}, hashtext(${storeId})) as locked
        `.execute(trx);
        if (!rows[0]?.locked) return -1;
      } else {
        await sql`select pg_advisory_xact_lock(${REFRESH_LOCK}, hashtext(${storeId}))`.execute(trx);
      }
      // Taken first, recomputed after: the recompute's statements see every change whose mark
      // this one took (read committed: each statement reads what was committed before it).
      const { rows } = await sql<{ taken: number; buckets: Date[] }>`
        with taken as (
          delete from analytics_dirty
          where ctid = any(array(
            select ctid from analytics_dirty where store_id = ${storeId} limit ${MARKS_PER_PASS}
          ))
          returning bucket, cart_id, external_id
        ),
        buckets as (
          select bucket from taken where bucket is not null
          union
          select winback_quarter_hour(coalesce(c.first_seen_at, c.created_at))
          from carts c
          where c.store_id = ${storeId} and c.id in (select cart_id from taken)
          union
          select winback_quarter_hour(coalesce(c.first_seen_at, c.created_at))
          from carts c
          where c.store_id = ${storeId} and c.external_id in (select external_id from taken)
        )
        select (select count(*) from taken)::int as taken,
          coalesce((select array_agg(bucket order by bucket) from buckets), '{}') as buckets
      `.execute(trx);
      const taken = rows[0]?.taken ?? 0;
      const buckets = rows[0]?.buckets ?? [];
      for (let start = 0; start < buckets.length; start += BUCKETS_PER_STATEMENT) {
        await recomputeBuckets(trx, storeId, buckets.slice(start, start + BUCKETS_PER_STATEMENT));
      }
      total += buckets.length;
      return taken;
    });
    if (done < 0) return -1;
    if (done < MARKS_PER_PASS) return total;
  }
}

/** Marks every quarter hour of the store's carts for a recompute (after a bulk load, say). */
export async function markAllBuckets(db: Db, storeId: string): Promise<void> {
  await sql`
    insert into analytics_dirty (store_id, bucket)
    select distinct ${storeId}::uuid, winback_quarter_hour(coalesce(first_seen_at, created_at))
    from carts where store_id = ${storeId}
  `.execute(db);
}

/** Stores with marks waiting, for the background refresh. */
export async function storesToRefresh(db: Db): Promise<string[]> {
  const { rows } = await sql<{ store_id: string }>`
    select distinct store_id from analytics_dirty
  `.execute(db);
  return rows.map((row) => row.store_id);
}

/**
 * Replaces the rollup rows of `buckets` with counts recomputed from the raw rows of the carts
 * whose cohort they are. Count rows have currency ''; revenue rows (recovered order value per
 * order currency) hold only `revenue_minor`, so summing a column over both never counts twice.
 */
async function recomputeBuckets(db: Db, storeId: string, buckets: Date[]): Promise<void> {
  if (buckets.length === 0) return;
  const list = sql`${buckets.map((bucket) => bucket.toISOString())}::timestamptz[]`;
  await sql`
    delete from analytics_rollup where store_id = ${storeId} and bucket = any(${list})
  `.execute(db);
  await sql`
    insert into analytics_rollup (
      store_id, bucket, dimension, key, currency, carts, checkout, abandoned, enrolled, messaged,
      opened, clicked, recovered, converted, revenue_minor, shown, copy_code, checkout_action,
      dismiss, capture_submitted, reason
    )
    with cohort as (
      select c.id, c.external_id,
        winback_quarter_hour(coalesce(c.first_seen_at, c.created_at)) as bucket,
        c.status, c.checkout_at is not null as checkout, c.abandoned_at is not null as abandoned,
        c.enrolment is not distinct from 'enrolled' as enrolled,
        coalesce(c.device, '') as device, coalesce(c.campaign_id::text, '') as campaign,
        coalesce(c.exit_reason, '') as exit_reason,
        c.order_value_minor, c.order_currency, c.attributed_message_id
      from carts c
      where c.store_id = ${storeId}
        and winback_quarter_hour(coalesce(c.first_seen_at, c.created_at)) = any(${list})
    ),
    sends as (
      select m.id, m.cart_id, m.step, m.channel, m.status = 'sent' as sent,
        m.opened_at is not null as opened, m.clicked_at is not null as clicked
      from messages m
      where m.store_id = ${storeId} and m.cart_id in (select id from cohort)
    ),
    touched as (
      select cart_id, bool_or(sent) as sent, bool_or(opened) as opened, bool_or(clicked) as clicked
      from sends group by cart_id
    ),
    cart_rows as (
      select k.*, coalesce(t.sent, false) as messaged, coalesce(t.opened, false) as was_opened,
        coalesce(t.clicked, false) as was_clicked, d.dimension, d.key
      from cohort k
      left join touched t on t.cart_id = k.id
      cross join lateral (values
        ('total', ''), ('device', k.device), ('campaign', k.campaign),
        ('exit_reason', k.exit_reason)
      ) as d (dimension, key)
    ),
    send_rows as (
      select s.*, k.bucket, k.status, k.order_value_minor, k.order_currency,
        (k.status = 'recovered' and k.attributed_message_id = s.id) as won, d.dimension, d.key
      from sends s
      join cohort k on k.id = s.cart_id
      cross join lateral (values ('step', s.step::text), ('channel', s.channel)) as d (dimension, key)
    ),
    overlay_events as (
      select k.id as cart_id, k.bucket, ${overlayKind} as kind, e.type, e.payload->>'action' as action
      from cohort k
      join events e on e.store_id = ${storeId} and e.cart_id = k.external_id
        and e.type in ('overlay_shown', 'overlay_action')
    ),
    overlay_carts as (
      select distinct o.cart_id, o.bucket, o.kind, k.status, k.order_value_minor, k.order_currency
      from overlay_events o join cohort k on k.id = o.cart_id
      where o.type = 'overlay_shown'
    )
    select ${storeId}::uuid, bucket, dimension, key, '',
      count(*), count(*) filter (where checkout), count(*) filter (where abandoned),
      count(*) filter (where enrolled), count(*) filter (where messaged),
      count(*) filter (where was_opened), count(*) filter (where was_clicked),
      count(*) filter (where status = 'recovered'), count(*) filter (where status = 'converted'),
      0, 0, 0, 0, 0, 0, 0
    from cart_rows group by bucket, dimension, key
    union all
    select ${storeId}::uuid, bucket, dimension, key, order_currency,
      0, 0, 0, 0, 0, 0, 0, 0, 0, sum(order_value_minor), 0, 0, 0, 0, 0, 0
    from cart_rows
    where status = 'recovered' and order_currency is not null and order_value_minor is not null
    group by bucket, dimension, key, order_currency
    union all
    select ${storeId}::uuid, bucket, dimension, key, '',
      0, 0, 0, 0, count(*) filter (where sent), count(*) filter (where opened),
      count(*) filter (where clicked), count(*) filter (where won), 0, 0, 0, 0, 0, 0, 0, 0
    from send_rows group by bucket, dimension, key
    having count(*) filter (where sent or opened or clicked or won) > 0
    union all
    select ${storeId}::uuid, bucket, dimension, key, order_currency,
      0, 0, 0, 0, 0, 0, 0, 0, 0, sum(order_value_minor), 0, 0, 0, 0, 0, 0
    from send_rows
    where won and order_currency is not null and order_value_minor is not null
    group by bucket, dimension, key, order_currency
    union all
    select ${storeId}::uuid, o.bucket, 'overlay', o.kind, '',
      coalesce(w.carts, 0), 0, 0, 0, 0, 0, 0, coalesce(w.recovered, 0), coalesce(w.converted, 0),
      0, o.shown, o.copy_code, o.checkout_action, o.dismiss, o.capture_submitted, o.reason
    from (
      select bucket, kind,
        count(*) filter (where type = 'overlay_shown') as shown,
        count(*) filter (where action = 'copy_code') as copy_code,
        count(*) filter (where action = 'checkout') as checkout_action,
        count(*) filter (where action = 'dismiss') as dismiss,
        count(*) filter (where action = 'capture_submitted') as capture_submitted,
        count(*) filter (where action = 'reason') as reason
      from overlay_events group by bucket, kind
    ) as o
    left join (
      select bucket, kind, count(*) as carts,
        count(*) filter (where status = 'recovered') as recovered,
        count(*) filter (where status = 'converted') as converted
      from overlay_carts group by bucket, kind
    ) as w on w.bucket = o.bucket and w.kind = o.kind
    union all
    select ${storeId}::uuid, bucket, 'overlay', kind, order_currency,
      0, 0, 0, 0, 0, 0, 0, 0, 0, sum(order_value_minor), 0, 0, 0, 0, 0, 0
    from overlay_carts
    where status = 'recovered' and order_currency is not null and order_value_minor is not null
    group by bucket, kind, order_currency
  `.execute(db);
}
