import { randomUUID } from 'node:crypto';
import {
  buildApp,
  createLogger,
  createQueue,
  type JobQueue,
  type JobRunner,
  loadConfig,
  startJobs,
} from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerRowOf, type MailSink, mailsPerRow, startMailSink } from './helpers/mail-sink.js';
import {
  boughtBeforeDelivery,
  collect,
  countQueueKeys,
  deleteQueueKeys,
  existingKeys,
  LINK_SECRET,
  PUBLIC_URL,
  purchaseOf,
  type RecoveryStore,
  recoveryStore,
  until,
} from './helpers/recovery.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';

// Redis loses everything while 1,000 carts are in the middle of their sequences: Postgres is the
// source of truth, so one reconcile pass must re-arm every step and every idle timer, and each
// step that comes due is then sent exactly once — never to a shopper who has bought, whether
// they bought before the flush or while the re-armed steps go out.
//
// The suite deletes only its own queue prefix's keys instead of running FLUSHALL: the other
// suites share this Redis server under their own prefixes, in parallel, and a FLUSHALL would
// wipe their queues mid-run. For this deployment the effect is the same.

const pgUrl = needs('postgres');
const redisUrl = needs('redis');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop-redis-flush.example';

const SHOPPERS = 600;
/** Shoppers below this index have two abandoned carts, the rest one: 1,000 carts in all. */
const TWO_CARTS = 400;
/** Carts still active (their idle timer pending) beside the enrolled ones. */
const ACTIVE = 50;
const steps = [
  { delayMinutes: 0, channel: 'email', template: 'reminder' },
  { delayMinutes: 60, channel: 'email', template: 'lastChance' },
  { delayMinutes: 1440, channel: 'email', template: 'reminder' },
];

type App = Awaited<ReturnType<typeof buildApp>>;

const anonymousIdOf = (index: number) => `shopper_${index}`;
const cartIdOf = (index: number, cart: number) => `cart-shopper_${index}-${cart}`;
/** Bought before the flush, naming one of their abandoned carts or (odd ones) a new cart. */
const boughtBefore = (index: number) => index % 4 === 0;
/** Bought while the re-armed steps go out. */
const boughtDuring = (index: number) => index % 4 === 1;

describe.skipIf(!pgUrl || !redisUrl)('a Redis flush in the middle of 1,000 sequences', () => {
  const prefix = uniqueName('wbflush');
  const logger = createLogger({ logLevel: 'silent', logPretty: false });
  let db: Db;
  let app: App;
  let sink: MailSink;
  let shop: RecoveryStore;
  const runners: { runner: JobRunner; queue: JobQueue; db: Db }[] = [];
  /** Mails accepted while their cart or shopper had already bought: must stay empty. */
  const afterPurchase: string[] = [];

  const config = () =>
    loadConfig({
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      SMTP_URL: sink.url,
      LINK_SECRET,
      PUBLIC_URL,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_EVENTS_PER_SECOND: '100000',
      RATE_LIMIT_FRAMES_PER_IP_PER_SECOND: '100000',
    });

  /** A worker node's job runner in this process, on its own pool and Redis connections. */
  async function startRunner() {
    const runnerDb = createDb(database.url, 10);
    const queue = createQueue({ redisUrl, prefix, logger });
    const runner = await startJobs({ db: runnerDb, queue, config: config(), logger });
    const started = { runner, queue, db: runnerDb };
    runners.push(started);
    return started;
  }

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    sink = await startMailSink();
    sink.behaviour.beforeAccept = async (mail) => {
      if (await boughtBeforeDelivery(db, ledgerRowOf(mail))) afterPurchase.push(ledgerRowOf(mail));
    };
    app = await buildApp(config());
    shop = await recoveryStore(db, { origin: SHOP, steps });
    await seed();
  });

  afterAll(async () => {
    for (const { runner, queue, db: runnerDb } of runners) {
      await runner.stop();
      await queue.close();
      await runner.release();
      await runnerDb.destroy();
    }
    await app?.close();
    await sink?.close();
    await db?.destroy();
    if (redisUrl) await deleteQueueKeys(redisUrl, prefix);
  });

  /**
   * Shoppers abandoned their carts 30 minutes ago: step 0 went out then, step 1 is due in 30
   * minutes, step 2 tomorrow. A few more carts are still active, their idle timer an hour away.
   */
  async function seed(): Promise<void> {
    const storeId = shop.store.id;
    const snapshot = JSON.stringify({
      currency: 'EUR',
      subtotal: 3600,
      lines: [
        { id: 'line-1', variantId: '40001', title: 'Sunrise mug', quantity: 2, unitPrice: 1800 },
      ],
    });
    await sql`
      insert into shoppers (store_id, anonymous_id, email, email_consent, consent_text_version)
      select ${storeId}::uuid, 'shopper_' || i, 'shopper_' || i || '@shopper.example', true, 'v1'
      from generate_series(0, ${SHOPPERS - 1}::int) as i
    `.execute(db);
    await sql`
      insert into carts (store_id, external_id, shopper_id, session_id, status, snapshot, currency,
        value_minor, line_count, last_activity_at, first_seen_at, abandoned_at, campaign_id,
        enrolled_at, enrolment)
      select s.store_id, 'cart-' || s.anonymous_id || '-' || k, s.id, 'session_' || s.anonymous_id,
        'abandoned', ${snapshot}::jsonb, 'EUR', 3600, 1, now() - interval '31 minutes',
        now() - interval '40 minutes', now() - interval '30 minutes', ${shop.campaignId}::uuid,
        now() - interval '30 minutes', 'enrolled'
      from shoppers s cross join generate_series(0, 1) as k
      where s.store_id = ${storeId}::uuid
        and s.anonymous_id like 'shopper\\_%'
        and (k = 0 or substring(s.anonymous_id from 9)::int < ${TWO_CARTS}::int)
    `.execute(db);
    await sql`
      insert into messages (store_id, cart_id, campaign_id, step, channel, status, scheduled_at,
        claimed_at, sent_at, provider_id, attempt, step_def)
      select c.store_id, c.id, c.campaign_id, st.step, 'email',
        case when st.step = 0 then 'sent' else 'scheduled' end,
        c.abandoned_at + make_interval(mins => (st.def->>'delayMinutes')::int),
        case when st.step = 0 then c.abandoned_at end,
        case when st.step = 0 then c.abandoned_at end,
        case when st.step = 0 then '250 seeded' end,
        case when st.step = 0 then 1 else 0 end,
        st.def
      from carts c
      cross join jsonb_array_elements(${JSON.stringify(steps)}::jsonb) with ordinality as st0(def, n)
      cross join lateral (select (st0.n - 1)::int as step, st0.def) as st
      where c.store_id = ${storeId}::uuid
    `.execute(db);
    await sql`
      insert into shoppers (store_id, anonymous_id, email, email_consent, consent_text_version)
      select ${storeId}::uuid, 'returning_' || i, 'returning_' || i || '@shopper.example', true, 'v1'
      from generate_series(0, ${ACTIVE - 1}::int) as i
    `.execute(db);
    await sql`
      insert into carts (store_id, external_id, shopper_id, session_id, status, snapshot, currency,
        value_minor, line_count, last_activity_at, first_seen_at, idle_due_at)
      select s.store_id, 'cart-' || s.anonymous_id, s.id, 'session_' || s.anonymous_id, 'active',
        ${snapshot}::jsonb, 'EUR', 3600, 1, now(), now(), now() + interval '1 hour'
      from shoppers s
      where s.store_id = ${storeId}::uuid and s.anonymous_id like 'returning\\_%'
    `.execute(db);
  }

  async function purchases(indexes: readonly number[]): Promise<void> {
    const events = indexes.map((index) =>
      purchaseOf(
        anonymousIdOf(index),
        index % 8 === 0 ? cartIdOf(index, 0) : `cart-new-${randomUUID()}`,
      ),
    );
    for (let i = 0; i < events.length; i += 100) {
      await collect(app, shop.store, SHOP, events.slice(i, i + 100));
    }
  }

  async function ledger() {
    return db
      .selectFrom('messages as m')
      .innerJoin('carts as c', 'c.id', 'm.cart_id')
      .innerJoin('shoppers as s', 's.id', 'c.shopper_id')
      .select(['m.id', 'm.step', 'm.status', 'm.suppress_reason', 's.anonymous_id'])
      .where('m.store_id', '=', shop.store.id)
      .execute();
  }

  // Everything runs in this one process (the serve node, two workers, the SMTP server), so on a
  // loaded machine it takes a while: a generous bound, never a timing check.
  it('re-arms everything from Postgres and sends each due step exactly once, none to a buyer', {
    timeout: 180_000,
  }, async () => {
    const everyIndex = [...Array(SHOPPERS).keys()];
    const first = await startRunner();
    const seededRows = (await ledger()).filter((row) => row.status === 'scheduled').length;
    // The first worker's start-up pass armed every step and idle timer in Redis.
    expect(await countQueueKeys(redisUrl!, prefix, '{message.send}:latest:*')).toBe(seededRows);
    expect(await countQueueKeys(redisUrl!, prefix, '{cart.idle}:latest:*')).toBe(ACTIVE);

    await purchases(everyIndex.filter(boughtBefore));

    // Redis loses everything, under a running worker.
    expect(await deleteQueueKeys(redisUrl!, prefix)).toBeGreaterThan(seededRows);
    expect(await countQueueKeys(redisUrl!, prefix, '*:latest:*')).toBe(0);

    // The clock moves on (moved here rather than waited for): every step 1 and every idle
    // timer comes due within the next second and a half.
    await sql`
      update messages set scheduled_at = now() + random() * interval '1500 milliseconds'
      where store_id = ${shop.store.id}::uuid and step = 1 and status = 'scheduled'
    `.execute(db);
    await sql`
      update carts set idle_due_at = now() + random() * interval '1500 milliseconds'
      where store_id = ${shop.store.id}::uuid and status = 'active'
    `.execute(db);

    // The reconcile passes: the running worker's, and a second worker starting meanwhile.
    const passes = Promise.all([first.runner.reconciler.run(), startRunner()]);
    // Some shoppers buy while their re-armed steps go out.
    await purchases(everyIndex.filter(boughtDuring));
    await passes;

    await until(async () => {
      const { rows } = await sql<{ pending: number }>`
        select count(*)::int as pending from messages
        where store_id = ${shop.store.id}::uuid
          and (status = 'sending' or (status = 'scheduled' and scheduled_at <= now()))
      `.execute(db);
      const { rows: carts } = await sql<{ active: number }>`
        select count(*)::int as active from carts
        where store_id = ${shop.store.id}::uuid and status = 'active'
      `.execute(db);
      return rows[0]?.pending === 0 && carts[0]?.active === 0;
    });

    expect(afterPurchase).toEqual([]);
    const mails = mailsPerRow(sink.received);
    expect(sink.received).toHaveLength(sink.mails.length);
    const rows = await ledger();
    const indexOf = (anonymousId: string) => Number(anonymousId.slice('shopper_'.length));
    const wrong: unknown[] = [];
    for (const row of rows) {
      const count = mails.get(row.id) ?? 0;
      const outcome = [row.status, row.suppress_reason, count];
      const expected = (() => {
        if (row.anonymous_id.startsWith('returning_')) {
          // Abandoned after the flush: step 0 sent now, the others still to come.
          return row.step === 0 ? [['sent', null, 1]] : [['scheduled', null, 0]];
        }
        const index = indexOf(row.anonymous_id);
        if (row.step === 0) return [['sent', null, 0]];
        if (boughtBefore(index)) return [['cancelled', 'purchased', 0]];
        if (boughtDuring(index)) {
          return row.step === 1
            ? [
                ['sent', null, 1],
                ['cancelled', 'purchased', 0],
              ]
            : [['cancelled', 'purchased', 0]];
        }
        return row.step === 1 ? [['sent', null, 1]] : [['scheduled', null, 0]];
      })();
      if (!expected.some((candidate) => candidate.every((value, i) => value === outcome[i]))) {
        wrong.push({ row: row.id, shopper: row.anonymous_id, step: row.step, outcome, expected });
      }
    }
    expect(wrong).toEqual([]);
    expect(rows).toHaveLength((SHOPPERS + TWO_CARTS + ACTIVE) * steps.length);
    const sentNow = rows.filter((row) => (mails.get(row.id) ?? 0) > 0).length;
    expect(sink.mails).toHaveLength(sentNow);
    expect(sentNow).toBeGreaterThan(SHOPPERS / 2);

    // What is still to come is armed again, once each.
    const stillScheduled = rows.filter((row) => row.status === 'scheduled');
    expect(stillScheduled.length).toBeGreaterThan(0);
    expect(
      await existingKeys(
        redisUrl!,
        stillScheduled.map((row) => `${prefix}:{message.send}:latest:${row.id}`),
      ),
    ).toBe(stillScheduled.length);
  });
});
