/**
 * `pnpm bench:analytics`: how fast the analytics endpoints answer on a big store. Seeds one
 * store with BENCH_CARTS carts (1,000,000) and BENCH_EVENTS events (10,000,000) over 90 days in
 * a fresh database, builds the rollup, then times every analytics endpoint through the real app
 * with a signed-in session, over varied periods. Progress on stderr; last line of stdout one
 * JSON object. See README.md (analytics).
 */
import { randomBytes } from 'node:crypto';
import { buildApp, createStore, loadConfig } from '@winback/server';
import { createDb, ensureEventPartitions, migrateToLatest } from '@winback/server/db';
import { sql } from 'kysely';
import pg from 'pg';
import { admin, envInt, percentile, round, serverUrl, withDatabase } from './common.js';

const CARTS = envInt('BENCH_CARTS', 1_000_000);
const EVENTS = envInt('BENCH_EVENTS', 10_000_000);
const DAYS = envInt('BENCH_DAYS', 90);
const ITERATIONS = envInt('BENCH_ITERATIONS', 100);
const TIME_ZONE = process.env.BENCH_TIMEZONE || 'Europe/Berlin';
const ORIGIN = 'https://admin.bench.test';

const log = (message: string) => process.stderr.write(`${message}\n`);
const seconds = (since: number) => round((performance.now() - since) / 1000, 1);

const name = `wb_bench_${randomBytes(4).toString('hex')}`;
const url = withDatabase(serverUrl, name);

/** Runs statements on their own connection (bulk load: no synchronous commit, no triggers). */
async function bulk(statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('set synchronous_commit = off');
    // Triggers (the rollup's marks) and foreign keys off while loading: the rollup is built
    // whole afterwards, as after a restore.
    await client.query("set session_replication_role = 'replica'");
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

async function seed(storeId: string): Promise<void> {
  const span = `${DAYS} days`;
  await bulk([
    `insert into campaigns (store_id, name, status, priority, steps)
     select '${storeId}', 'Campaign ' || n, 'active', n, '[]'::jsonb from generate_series(1, 4) n`,
    // Carts: first activity spread evenly over the period; statuses, devices,
    // answers and currencies in proportions like a real store's.
    `insert into carts (store_id, external_id, status, first_seen_at, created_at,
       last_activity_at, checkout_at, abandoned_at, enrolment, device, campaign_id, exit_reason,
       currency, value_minor, line_count, order_id, order_value_minor, order_currency,
       converted_at)
     select '${storeId}', 'cart-' || n, s.status, t.at, t.at, t.at,
       case when s.status in ('checkout', 'converted', 'recovered') or r3 < 0.1 then t.at end,
       case when s.status in ('abandoned', 'recovered') then t.at + interval '30 minutes' end,
       case when s.status in ('abandoned', 'recovered')
         then case when r4 < 0.7 then 'enrolled' when r4 < 0.9 then 'no_channel'
           else 'no_campaign' end end,
       case when r2 < 0.45 then 'desktop' when r2 < 0.9 then 'mobile'
         when r2 < 0.98 then 'tablet' end,
       case when s.status in ('abandoned', 'recovered') and r4 < 0.7
         then (select id from campaigns where store_id = '${storeId}'
               order by priority offset (n % 4) limit 1) end,
       case when r3 < 0.08 then (array['price', 'shipping_cost', 'just_browsing',
         'need_time', 'found_cheaper', 'other'])[1 + (n % 6)] end,
       cur.code, 1000 + (n::bigint * 7919) % 30000, 1 + n % 5,
       case when s.status in ('converted', 'recovered') then 'order-' || n end,
       case when s.status in ('converted', 'recovered') then 1000 + (n::bigint * 7919) % 30000 end,
       case when s.status in ('converted', 'recovered') then cur.code end,
       case when s.status in ('converted', 'recovered') then t.at + interval '2 hours' end
     from generate_series(1, ${CARTS}) n
     cross join lateral (select random() r1, random() r2, random() r3, random() r4, random() r5,
       n x) r
     cross join lateral (select case when r1 < 0.25 then 'active' when r1 < 0.30 then 'checkout'
       when r1 < 0.62 then 'abandoned' when r1 < 0.80 then 'converted'
       when r1 < 0.86 then 'recovered' else 'emptied' end as status) s
     cross join lateral (select now() - r5 * interval '${span}' as at) t
     cross join lateral (select case when n % 10 < 7 then 'EUR' when n % 10 < 9 then 'USD'
       else 'GBP' end as code) cur`,
    // The ledger: enrolled carts get their campaign's steps (email, email, sms), sent or not.
    `insert into messages (store_id, cart_id, campaign_id, step, channel, status, scheduled_at,
       sent_at, opened_at, clicked_at)
     select c.store_id, c.id, c.campaign_id, step, case when step = 2 then 'sms' else 'email' end,
       st.status, c.abandoned_at + step * interval '1 day',
       case when st.status = 'sent' then c.abandoned_at + step * interval '1 day' end,
       case when st.status = 'sent' and random() < 0.45 then c.abandoned_at + interval '1 day' end,
       case when st.status = 'sent' and (c.status = 'recovered' or random() < 0.12)
         then c.abandoned_at + interval '1 day' end
     from carts c
     cross join generate_series(0, 2) step
     cross join lateral (select case when c.status = 'recovered' and step = 0 then 'sent'
       when random() < 0.7 then 'sent' when random() < 0.5 then 'cancelled'
       when random() < 0.5 then 'suppressed' else 'failed' end as status) st
     where c.store_id = '${storeId}' and c.enrolment = 'enrolled'`,
    'analyze carts',
    'analyze messages',
    `update carts c set attributed_message_id = m.id
     from messages m
     where c.store_id = '${storeId}' and c.status = 'recovered' and m.cart_id = c.id
       and m.step = 0`,
  ]);
}

/** Events in time order (so ULID ids append), on two connections, one half each. */
async function seedEvents(storeId: string): Promise<void> {
  await bulk([
    `create table bench_minutes as
     select m as minute, winback_ulid_time_prefix(m) as prefix
     from generate_series(date_trunc('minute', now() - interval '${DAYS} days'),
       now(), interval '1 minute') m`,
    'create index on bench_minutes (minute)',
  ]);
  const half = Math.floor(EVENTS / 2);
  const chunk = (first: number, last: number) =>
    `insert into events (store_id, id, type, ts, received_at, session_id, anonymous_id, cart_id,
       payload)
     select '${storeId}', b.prefix || lpad(upper(to_hex(n)), 16, '0'), e.type, e.ts, e.ts,
       's-' || (k % 300000), 'a-' || (k % 250000), 'cart-' || (1 + k % ${CARTS}),
       case e.type
         when 'overlay_shown' then jsonb_build_object('overlayId',
           case when k % 3 = 0 then 'ov_slide_' else 'ov_exit_' end || k)
         when 'overlay_action' then jsonb_build_object('overlayId',
           case when k % 3 = 0 then 'ov_slide_' else 'ov_exit_' end || k,
           'action', (array['dismiss', 'copy_code', 'checkout', 'capture_submitted',
             'reason'])[1 + (n % 5)])
         when 'page_view' then jsonb_build_object('url', 'https://shop.example/products/' || k % 500)
         when 'exit_intent' then jsonb_build_object('signal', 'mouse_top')
         else jsonb_build_object('value', 1000 + k % 30000, 'currency', 'EUR') end
     from generate_series(${first}, ${last}) n
     cross join lateral (select (n * 2654435761) % ${CARTS} as k) h
     cross join lateral (select now() - interval '${DAYS} days'
       + (n::double precision / ${EVENTS}) * interval '${DAYS} days' as ts,
       case when n % 100 < 50 then 'page_view' when n % 100 < 84 then 'cart_updated'
         when n % 100 < 91 then 'exit_intent' when n % 100 < 94 then 'overlay_shown'
         when n % 100 < 97 then 'overlay_action' else 'checkout_started' end as type) e
     join bench_minutes b on b.minute = date_trunc('minute', e.ts)`;
  await Promise.all([bulk([chunk(1, half)]), bulk([chunk(half + 1, EVENTS)])]);
  await bulk(['drop table bench_minutes']);
}

interface Timing {
  p50_ms: number;
  p95_ms: number;
  max_ms: number;
  n: number;
}

function summary(times: number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(sorted, 50), 2),
    p95_ms: round(percentile(sorted, 95), 2),
    max_ms: round(sorted.at(-1) ?? Number.NaN, 2),
    n: sorted.length,
  };
}

async function main(): Promise<void> {
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    await admin((client) => client.query(`drop database if exists ${name} with (force)`)).catch(
      () => {},
    );
  };
  const stopOnSignal = () => {
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  await admin((client) => client.query(`create database ${name}`));
  const db = createDb(url, 4);
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    await migrateToLatest(db);
    await ensureEventPartitions(db, {
      from: new Date(Date.now() - (DAYS + 31) * 86_400_000),
      monthsAhead: Math.ceil(DAYS / 28) + 3,
    });
    const { store, adminSecret } = await createStore(db, {
      name: 'Bench shop',
      allowedOrigins: ['https://shop.example'],
    });
    await sql`update stores set settings = settings || ${JSON.stringify({ timezone: TIME_ZONE })}::jsonb
      where id = ${store.id}`.execute(db);

    log(`seeding ${CARTS} carts and ${EVENTS} events over ${DAYS} days into ${name}...`);
    const seedStart = performance.now();
    await seed(store.id);
    log(`  carts and messages: ${seconds(seedStart)} s`);
    const eventsStart = performance.now();
    await seedEvents(store.id);
    log(`  events: ${seconds(eventsStart)} s`);
    await sql`analyze`.execute(db);
    const seedS = seconds(seedStart);

    const counts = await sql<{ carts: number; messages: number; events: number }>`
      select (select count(*) from carts where store_id = ${store.id}) as carts,
        (select count(*) from messages where store_id = ${store.id}) as messages,
        (select count(*) from events where store_id = ${store.id}) as events`.execute(db);
    log(`  rows: ${JSON.stringify(counts.rows[0])}`);

    app = await buildApp(
      loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent', PUBLIC_URL: ORIGIN }),
    );
    const session = await app.inject({
      method: 'POST',
      url: '/admin/api/session',
      headers: { origin: ORIGIN },
      payload: { storeId: store.id, secret: adminSecret },
    });
    const token = session.cookies.find((cookie) => cookie.name === 'wb_admin')?.value;
    if (!token) throw new Error(`sign-in failed: ${session.statusCode} ${session.body}`);
    const cookie = `wb_admin=${token}`;
    const inject = app.inject.bind(app);
    const get = async (path: string) => {
      const started = performance.now();
      const response = await inject({ method: 'GET', url: path, headers: { cookie } });
      const ms = performance.now() - started;
      if (response.statusCode !== 200) {
        throw new Error(`${path}: ${response.statusCode} ${response.body.slice(0, 300)}`);
      }
      return { ms, response };
    };

    // The rollup from nothing: every quarter hour marked, then the first request refreshes.
    log('building the rollup (first request after marking every quarter hour)...');
    await sql`insert into analytics_dirty (store_id, bucket)
      select distinct store_id, winback_quarter_hour(coalesce(first_seen_at, created_at))
      from carts where store_id = ${store.id}`.execute(db);
    const rollupStart = performance.now();
    await get('/admin/api/analytics/overview');
    const rollupS = seconds(rollupStart);
    await sql`analyze analytics_rollup`.execute(db);
    const rollupRows = await sql<{ n: number }>`
      select count(*) as n from analytics_rollup where store_id = ${store.id}`.execute(db);
    log(`  ${rollupS} s, ${rollupRows.rows[0]?.n} rollup rows`);

    // Varied periods: the last 7, 30, 90 and 366 days, and random ones within the data.
    const dayOf = (offset: number) =>
      new Date(Date.now() - offset * 86_400_000).toISOString().slice(0, 10);
    let turn = 0;
    const period = () => {
      turn += 1;
      const fixed = [7, 30, 90, 366];
      const length = turn % 2 === 0 ? (fixed[(turn / 2) % 4] as number) : 1 + ((turn * 37) % 120);
      const end = turn % 2 === 0 ? 0 : (turn * 13) % 60;
      return `from=${dayOf(end + length - 1)}&to=${dayOf(end)}`;
    };
    const endpoints: Record<string, () => string> = {
      overview: () => `/admin/api/analytics/overview?${period()}`,
      overview_csv: () => `/admin/api/analytics/overview?${period()}&format=csv`,
      ...Object.fromEntries(
        ['campaign', 'step', 'channel', 'overlay', 'device', 'exit_reason'].map((by) => [
          `breakdown_${by}`,
          () => `/admin/api/analytics/breakdown?by=${by}&${period()}`,
        ]),
      ),
      breakdown_csv: () => `/admin/api/analytics/breakdown?by=campaign&${period()}&format=csv`,
    };
    const results: Record<string, Timing> = {};
    for (const [endpoint, path] of Object.entries(endpoints)) {
      for (let warm = 0; warm < 5; warm += 1) await get(path());
      const times: number[] = [];
      for (let i = 0; i < ITERATIONS; i += 1) times.push((await get(path())).ms);
      results[endpoint] = summary(times);
      log(`  ${endpoint.padEnd(22)} ${JSON.stringify(results[endpoint])}`);
    }

    // Not an analytics endpoint and not held to the budget: the carts CSV, 50,000 rows.
    const exportTimes: number[] = [];
    let exportRows = 0;
    for (let i = 0; i < 3; i += 1) {
      const started = performance.now();
      const response = await inject({
        method: 'POST',
        url: '/admin/api/carts/search',
        headers: { cookie, origin: ORIGIN },
        payload: { format: 'csv' },
      });
      exportTimes.push(performance.now() - started);
      exportRows = response.body.split('\r\n').length - 2;
    }
    log(`  carts_csv ${exportRows} rows: ${exportTimes.map((t) => round(t)).join(', ')} ms`);

    const load = (await import('node:os')).loadavg()[0] ?? 0;
    const worst = Math.max(...Object.values(results).map((timing) => timing.p95_ms));
    process.stdout.write(
      `${JSON.stringify({
        carts: counts.rows[0]?.carts,
        events: counts.rows[0]?.events,
        messages: counts.rows[0]?.messages,
        rollup_rows: rollupRows.rows[0]?.n,
        seed_s: seedS,
        rollup_build_s: rollupS,
        max_p95_ms: worst,
        endpoints: results,
        carts_csv_ms: round(
          percentile(
            [...exportTimes].sort((a, b) => a - b),
            50,
          ),
        ),
        carts_csv_rows: exportRows,
        load_avg_1m: round(load, 2),
      })}\n`,
    );
  } finally {
    await app?.close();
    await db.destroy();
    await cleanUp();
  }
}

await main();
