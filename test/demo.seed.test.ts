import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStore, seedDemoStore } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers/cli.js';
import { freePort } from './helpers/discover.js';
import { needs, useFreshDatabase } from './helpers/services.js';

// `winback demo --seed` against real Postgres: the month it writes has the shape of a real one
// (a month of days with a daily rhythm, every cart status, consent behind every address, no mail
// after a purchase, bookkeeping that agrees with itself), seeding again replaces it without
// touching the store's own rows, the generated month stands in when the real sessions are
// absent, and the CLI flag seeds the demo store before the URLs are printed.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const demoDatabase = useFreshDatabase(pgUrl);

const SESSIONS = fileURLToPath(new URL('../../shared/data/sessions/', import.meta.url));
const REES46 = join(SESSIONS, 'rees46-2019-oct-head.csv');
const DAY = 86_400_000;
/** A fixed end of the month, so every run of the suite checks the same month. */
const NOW = new Date('2026-11-20T15:30:00Z');

/** Product ids of the REES46 export, read here on their own. */
function rees46ProductIds(): Set<string> {
  const [head, ...lines] = readFileSync(REES46, 'utf8').trim().split('\n');
  const column = head!.split(',').indexOf('product_id');
  return new Set(lines.map((line) => line.split(',')[column]!));
}

async function newStore(db: Db, name: string) {
  const { store } = await createStore(db, {
    name,
    allowedOrigins: ['https://shop.example'],
    postalAddress: '1 Example Street, 00000 Nowhere',
  });
  return store;
}

/** Everything seeded for `storeId`, reduced to one text: equal texts, equal months. */
async function fingerprint(db: Db, storeId: string): Promise<string> {
  const { rows } = await sql<{ part: string }>`
    select coalesce(string_agg(x, '|' order by x), '') as part from (
      select concat_ws(',', id, external_id, status, first_seen_at, last_activity_at, value_minor,
        abandoned_at, converted_at, order_value_minor, attributed_message_id, shopper_id) as x
      from carts where store_id = ${storeId} and external_id like 'demo-seed-%'
      union all
      select concat_ws(',', id, cart_id, step, status, scheduled_at, sent_at, opened_at, clicked_at)
      from messages where store_id = ${storeId}
      union all
      select concat_ws(',', id, type, ts, cart_id) from events where store_id = ${storeId}
      union all
      select concat_ws(',', shopper_id, granted, source, created_at)
      from consent_log where store_id = ${storeId}
      union all
      select concat_ws(',', code, cart_id, used_at) from discounts where store_id = ${storeId}
    ) parts`.execute(db);
  return rows[0]?.part ?? '';
}

describe.skipIf(!pgUrl)('the demo seed', () => {
  let db: Db;

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
  });

  afterAll(async () => {
    await db?.destroy();
  });

  describe.skipIf(!existsSync(REES46))('from the real sessions', () => {
    let storeId: string;
    let summary: Awaited<ReturnType<typeof seedDemoStore>>;

    beforeAll(async () => {
      storeId = (await newStore(db, 'Seeded Shop')).id;
      summary = await seedDemoStore(db, storeId, { now: NOW, sessionsDir: SESSIONS });
    });

    it('replays the REES46 sessions: their products, prices in minor units and USD', async () => {
      expect(summary.source).toBe('rees46');
      expect(summary.sessions).toBeGreaterThan(100);
      const carts = await db
        .selectFrom('carts')
        .select(['snapshot', 'currency', 'value_minor', 'line_count'])
        .where('store_id', '=', storeId)
        .execute();
      expect(carts).toHaveLength(summary.carts);
      const known = rees46ProductIds();
      for (const cart of carts) {
        const snapshot = cart.snapshot as {
          currency: string;
          subtotal: number;
          lines: { productId: string; quantity: number; unitPrice: number }[];
        };
        expect(cart.currency).toBe('USD');
        expect(snapshot.currency).toBe('USD');
        expect(cart.line_count).toBe(snapshot.lines.length);
        const subtotal = snapshot.lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
        expect(cart.value_minor).toBe(subtotal);
        for (const line of snapshot.lines) {
          expect(known.has(line.productId)).toBe(true);
          expect(Number.isInteger(line.unitPrice)).toBe(true);
        }
      }
    });

    it('spreads the carts over the month before now, more in the evening than at night', async () => {
      const { rows } = await sql<{
        first: Date;
        last: Date;
        days: number;
        evening: number;
        night: number;
      }>`
        select min(first_seen_at) as first, max(last_activity_at) as last,
          count(distinct (first_seen_at at time zone 'UTC')::date)::int as days,
          count(*) filter (where hour between 18 and 21)::int as evening,
          count(*) filter (where hour between 2 and 5)::int as night
        from (
          select *, extract(hour from first_seen_at at time zone 'UTC') as hour
          from carts where store_id = ${storeId}
        ) as c`.execute(db);
      const span = rows[0]!;
      expect(span.first.getTime()).toBeGreaterThanOrEqual(NOW.getTime() - 30 * DAY);
      expect(span.last.getTime()).toBeLessThanOrEqual(NOW.getTime());
      expect(span.last.getTime() - span.first.getTime()).toBeGreaterThan(28 * DAY);
      expect(span.days).toBeGreaterThanOrEqual(29);
      expect(span.evening).toBeGreaterThan(2 * span.night);
    });

    it('has carts in every status, in proportions a shop would recognise', async () => {
      const rows = await db
        .selectFrom('carts')
        .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
        .where('store_id', '=', storeId)
        .groupBy('status')
        .execute();
      const count = Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
      for (const status of [
        'active',
        'checkout',
        'abandoned',
        'converted',
        'recovered',
        'emptied',
      ]) {
        expect(count[status], status).toBeGreaterThan(0);
      }
      // Most carts are left (published studies: about 70 %); a few of those are won back.
      expect(count.abandoned!).toBeGreaterThan(summary.carts * 0.4);
      expect(count.recovered!).toBeLessThan(count.abandoned!);
    });

    it('keeps addresses only with consent, in the consent log, and only obviously fake ones', async () => {
      const shoppers = await db
        .selectFrom('shoppers')
        .select(['id', 'email', 'email_consent', 'opted_out_at'])
        .where('store_id', '=', storeId)
        .execute();
      const identified = shoppers.filter((shopper) => shopper.email !== null);
      expect(identified.length).toBeGreaterThan(10);
      // Most shoppers never leave an address.
      expect(identified.length).toBeLessThan(shoppers.length / 2);
      const grants = await db
        .selectFrom('consent_log')
        .select(['shopper_id', 'granted', 'source', 'created_at'])
        .where('store_id', '=', storeId)
        .where('channel', '=', 'email')
        .execute();
      for (const shopper of identified) {
        expect(shopper.email).toMatch(/^shopper-\d+@example\.com$/);
        const own = grants.filter((grant) => grant.shopper_id === shopper.id);
        expect(own.some((grant) => grant.granted)).toBe(true);
        // Whoever unsubscribed has the withdrawal logged and no consent left.
        if (shopper.opted_out_at) {
          expect(own.some((grant) => !grant.granted && grant.source === 'unsubscribe')).toBe(true);
          expect(shopper.email_consent).toBe(false);
        } else {
          expect(shopper.email_consent).toBe(true);
        }
      }
      const anonymous = new Set(shoppers.filter((s) => s.email === null).map((s) => s.id));
      expect(grants.some((grant) => anonymous.has(grant.shopper_id))).toBe(false);
      // Sends went only to addresses given with consent, before they were sent.
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from messages m
        join carts c on c.id = m.cart_id join shoppers s on s.id = c.shopper_id
        where m.store_id = ${storeId} and m.status = 'sent' and not exists (
          select 1 from consent_log l
          where l.shopper_id = s.id and l.granted and l.created_at < m.sent_at)`.execute(db);
      expect(rows[0]!.n).toBe(0);
    });

    it('sends nothing after a purchase, and leaves nothing overdue for the workers', async () => {
      const { rows } = await sql<{ after: number; shopperAfter: number; overdue: number }>`
        select
          (select count(*)::int from messages m join carts c on c.id = m.cart_id
           where m.store_id = ${storeId} and m.sent_at > c.converted_at) as after,
          (select count(*)::int from messages m join carts c on c.id = m.cart_id
           join carts bought on bought.shopper_id = c.shopper_id
           where m.store_id = ${storeId} and bought.converted_at >= c.first_seen_at
             and m.sent_at > bought.converted_at) as "shopperAfter",
          (select count(*)::int from messages
           where store_id = ${storeId} and status = 'scheduled'
             and scheduled_at <= ${NOW.toISOString()}::timestamptz) as overdue`.execute(db);
      expect(rows[0]).toEqual({ after: 0, shopperAfter: 0, overdue: 0 });
      const statuses = await db
        .selectFrom('messages')
        .select('status')
        .distinct()
        .where('store_id', '=', storeId)
        .execute();
      expect(statuses.map((row) => row.status)).toEqual(
        expect.arrayContaining(['sent', 'cancelled', 'failed']),
      );
    });

    it('follows the store’s own campaign and attribution window', async () => {
      const campaign = await db
        .selectFrom('campaigns')
        .select(['id', 'steps', 'version'])
        .where('store_id', '=', storeId)
        .executeTakeFirstOrThrow();
      const steps = campaign.steps as { delayMinutes: number }[];
      const messages = await db
        .selectFrom('messages as m')
        .innerJoin('carts as c', 'c.id', 'm.cart_id')
        .select(['m.campaign_id', 'm.step', 'm.step_def', 'm.campaign_version', 'c.enrolled_at'])
        .select(['m.created_at', 'c.campaign_id as cart_campaign'])
        .where('m.store_id', '=', storeId)
        .execute();
      expect(messages.length).toBeGreaterThan(20);
      for (const message of messages) {
        expect(message.campaign_id).toBe(campaign.id);
        expect(message.cart_campaign).toBe(campaign.id);
        expect(message.campaign_version).toBe(campaign.version);
        expect(message.step_def).toEqual(steps[message.step]);
      }
      // A recovered cart's purchase follows an open or click of one of its own messages within
      // the window (5 days by default); every other bought cart converted without one.
      const { rows } = await sql<{ status: string; touched: boolean }>`
        select c.status, exists (
          select 1 from messages m
          where m.cart_id = c.id and (
            m.opened_at between c.converted_at - interval '5 days' and c.converted_at
            or m.clicked_at between c.converted_at - interval '5 days' and c.converted_at)
        ) as touched
        from carts c where c.store_id = ${storeId} and c.converted_at is not null`.execute(db);
      expect(rows.some((row) => row.status === 'recovered')).toBe(true);
      expect(rows.filter((row) => row.status === 'recovered').every((row) => row.touched)).toBe(
        true,
      );
      expect(rows.filter((row) => row.status === 'converted').some((row) => row.touched)).toBe(
        false,
      );
      const attributed = await sql<{ n: number }>`
        select count(*)::int as n from carts c join messages m on m.id = c.attributed_message_id
        where c.store_id = ${storeId} and c.status = 'recovered' and m.cart_id = c.id`.execute(db);
      expect(attributed.rows[0]!.n).toBe(rows.filter((row) => row.status === 'recovered').length);
    });

    it('writes the events the carts were projected from', async () => {
      const { rows } = await sql<{ missing: number; orders: number; wrongValue: number }>`
        select
          (select count(*)::int from carts c where c.store_id = ${storeId}
             and not exists (select 1 from events e where e.store_id = c.store_id
               and e.id = c.snapshot_event_id and e.type = 'cart_updated'
               and e.payload->'cart' = c.snapshot)) as missing,
          (select count(*)::int from events where store_id = ${storeId}
             and type = 'order_completed') as orders,
          (select count(*)::int from carts c where c.store_id = ${storeId}
             and c.converted_at is not null and not exists (
               select 1 from events e where e.store_id = c.store_id and e.cart_id = c.external_id
                 and e.type = 'order_completed' and e.ts = c.converted_at
                 and (e.payload->>'value')::bigint = c.order_value_minor)) as "wrongValue"`.execute(
        db,
      );
      expect(rows[0]!.missing).toBe(0);
      expect(rows[0]!.wrongValue).toBe(0);
      const bought = await db
        .selectFrom('carts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('store_id', '=', storeId)
        .where('converted_at', 'is not', null)
        .executeTakeFirstOrThrow();
      expect(rows[0]!.orders).toBe(Number(bought.n));
      const types = await db
        .selectFrom('events')
        .select('type')
        .distinct()
        .where('store_id', '=', storeId)
        .execute();
      expect(types.map((row) => row.type)).toEqual(
        expect.arrayContaining([
          'page_view',
          'cart_updated',
          'checkout_started',
          'identify',
          'exit_intent',
          'overlay_shown',
          'overlay_action',
          'order_completed',
        ]),
      );
    });

    it('seeding again replaces the month, the same clock giving the same rows, and leaves the store’s own carts alone', async () => {
      const own = await db
        .insertInto('carts')
        .values({ store_id: storeId, external_id: 'cart-of-a-real-shopper', currency: 'EUR' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const first = await fingerprint(db, storeId);

      const later = await seedDemoStore(db, storeId, {
        now: new Date(NOW.getTime() + 3 * 3_600_000),
        sessionsDir: SESSIONS,
      });
      expect(later.replaced).toBe(summary.carts);
      expect(await fingerprint(db, storeId)).not.toBe(first);

      const again = await seedDemoStore(db, storeId, { now: NOW, sessionsDir: SESSIONS });
      expect(again.replaced).toBe(later.carts);
      expect(await fingerprint(db, storeId)).toBe(first);

      const counts = await sql<{ seeded: number; shoppers: number; own: number }>`
        select
          (select count(*)::int from carts where store_id = ${storeId}
             and external_id like 'demo-seed-%') as seeded,
          (select count(*)::int from shoppers where store_id = ${storeId}) as shoppers,
          (select count(*)::int from carts where id = ${own.id}) as own`.execute(db);
      expect(counts.rows[0]).toEqual({
        seeded: summary.carts,
        shoppers: summary.shoppers,
        own: 1,
      });
    });
  });

  it('generates a month from the demo shop’s catalogue when the real sessions are absent', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'winback-no-sessions-'));
    try {
      const store = await newStore(db, 'Generated Shop');
      const summary = await seedDemoStore(db, store.id, {
        now: NOW,
        sessionsDir: empty,
        carts: 200,
      });
      expect(summary).toMatchObject({ source: 'generated', carts: 200, replaced: 0 });
      const carts = await db
        .selectFrom('carts')
        .select(['status', 'currency', 'snapshot', 'first_seen_at'])
        .where('store_id', '=', store.id)
        .execute();
      expect(carts).toHaveLength(200);
      expect(new Set(carts.map((cart) => cart.currency))).toEqual(new Set(['EUR']));
      expect(new Set(carts.map((cart) => cart.status)).size).toBeGreaterThanOrEqual(5);
      const titles = new Set(
        carts.flatMap((cart) =>
          (cart.snapshot as { lines: { title: string }[] }).lines.map((line) => line.title),
        ),
      );
      expect(titles.has('Sunrise mug')).toBe(true);
      const first = Math.min(...carts.map((cart) => cart.first_seen_at!.getTime()));
      expect(first).toBeGreaterThanOrEqual(NOW.getTime() - 30 * DAY);
      expect(first).toBeLessThan(NOW.getTime() - 28 * DAY);

      // The same clock and seed give the same month.
      const before = await fingerprint(db, store.id);
      await seedDemoStore(db, store.id, { now: NOW, sessionsDir: empty, carts: 200 });
      expect(await fingerprint(db, store.id)).toBe(before);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('`winback demo --seed` seeds the demo store before printing its URLs', {
    timeout: 120_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'winback-demo-seed-'));
    const demo = await startCli(
      ['demo', '--seed'],
      {
        PORT: String(await freePort()),
        WINBACK_DATA_DIR: dataDir,
        DATABASE_URL: demoDatabase.url,
        LOG_LEVEL: 'info',
      },
      /^admin: .*\n/m,
    );
    const demoDb = createDb(demoDatabase.url, 1);
    try {
      const saved = JSON.parse(await readFile(join(dataDir, 'demo-store.json'), 'utf8')) as {
        id: string;
      };
      const seeded = await demoDb
        .selectFrom('carts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('store_id', '=', saved.id)
        .where('external_id', 'like', 'demo-seed-%')
        .executeTakeFirstOrThrow();
      expect(Number(seeded.n)).toBe(480);
      // One line says where the month came from; no address reaches the log.
      const said = demo
        .stderr()
        .split('\n')
        .filter((line) => line.includes('demo store seeded'));
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(existsSync(REES46) ? /real shopping sessions/ : /generated/);
      expect(demo.stderr()).not.toMatch(/@example\.com/);
    } finally {
      await demoDb.destroy();
      await demo.stop('SIGINT');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('`winback demo` refuses an unknown option before starting anything', async () => {
    const result = await runCli(['demo', '--sed']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: winback demo [--seed]');
  });
});
