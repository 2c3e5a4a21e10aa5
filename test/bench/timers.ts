/**
 * `pnpm bench:timers`: how late the abandonment decision and the first recovery step come after
 * they are due, with the in-process queue and with BullMQ, for 10,000 carts falling due over a
 * minute. Figures go to stdout as one JSON line, last; progress goes to stderr. Nothing here
 * asserts a time.
 *
 * For each adapter, on a fresh database: a store with the shortest idle threshold (1 minute), no
 * quiet hours or frequency cap, and a campaign whose first step is sent at once; N carts, each
 * with a reachable shopper, whose `idle_due_at` is spread evenly over the next BENCH_SPREAD_S
 * seconds after BENCH_LEAD_S (set directly rather than waited for). Their idle jobs are armed
 * through the queue, earliest first, then this process starts the jobs as a worker does
 * (`startJobs`: the abandonment and message handlers, then a reconcile pass) with a local SMTP
 * server that accepts everything. It waits until every cart is abandoned and every first step
 * handled, then reads from Postgres:
 * - abandon lateness: `abandoned_at − due` (the decision's clock reading minus `idle_due_at`);
 * - step lateness: `sent_at − scheduled_at` of each first step (the provider has answered), and
 *   `claimed_at − scheduled_at` (the claim);
 * - duplicates: mails beyond one per ledger row, counted by the SMTP server from each mail's
 *   `X-Winback-Message` header.
 *
 * Settings (environment): BENCH_CARTS (10000), BENCH_SPREAD_S (60), BENCH_LEAD_S (10),
 * BENCH_ADAPTERS (local,bullmq), BENCH_LIMIT_S (300, per adapter); the worker's SEND_CONCURRENCY,
 * SMTP_MAX_CONNECTIONS and DATABASE_POOL_MAX (the server's defaults when unset); DATABASE_URL for the Postgres
 * server (else postgres://postgres@127.0.0.1:5432/postgres) and REDIS_URL for BullMQ (else
 * redis://127.0.0.1:6379).
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  createLogger,
  createQueue,
  createStore,
  type JobQueue,
  type JobRunner,
  loadConfig,
  startJobs,
} from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import { admin, envInt, percentile, round, serverUrl, withDatabase } from './common.js';

const log = (line: string) => process.stderr.write(`[bench:timers] ${line}\n`);

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ORIGIN = 'https://shop.bench.example';
const IDLE_JOB = 'cart.idle';
/** Idle jobs armed at once while setting up (the queue's own calls, in parallel). */
const ARM_CONCURRENCY = 50;

type Adapter = 'local' | 'bullmq';

interface AdapterFigures {
  carts: number;
  abandoned: number;
  abandon_late_p50_ms: number;
  abandon_late_p99_ms: number;
  abandon_late_max_ms: number;
  steps_sent: number;
  step_late_p50_ms: number;
  step_late_p99_ms: number;
  step_late_max_ms: number;
  claim_late_p99_ms: number;
  /** Carts abandoned per second, from the first due time to the last decision. */
  abandoned_per_s: number;
  /** First steps sent per second, from the first due time to the last send. */
  sent_per_s: number;
  /** First steps not `sent` when the run ended (timed out, failed, suppressed). */
  steps_not_sent: number;
  duplicates: number;
  /** Seconds spent arming the idle jobs before the first was due. */
  arm_s: number;
  /** Redis `hz` (how often it wakes to serve delayed jobs), BullMQ only. */
  redis_hz?: number;
}

/** An SMTP server that accepts every mail and counts mails per ledger row. */
async function startSink(): Promise<{
  url: string;
  perRow: Map<string, number>;
  close(): Promise<void>;
}> {
  const perRow = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const headers = text.slice(0, text.indexOf('\r\n\r\n'));
        const row = /^x-winback-message:\s*(\S+)/im.exec(headers)?.[1] ?? '';
        perRow.set(row, (perRow.get(row) ?? 0) + 1);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    perRow,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function seed(db: Db, carts: number, firstDue: number, spreadMs: number) {
  const { store } = await createStore(db, {
    name: 'Bench shop',
    allowedOrigins: [ORIGIN],
    postalAddress: '1 Bench Street, 12345 Benchville',
  });
  await db
    .updateTable('stores')
    .set({
      settings: JSON.stringify({
        idleThresholdMinutes: 1,
        quietHours: { start: '00:00', end: '00:00' },
        frequencyCapHours: { email: 0, sms: 24, push: 12 },
        cartRestore: { kind: 'shopify' },
      }),
    })
    .where('id', '=', store.id)
    .execute();
  await db
    .updateTable('campaigns')
    .set({
      steps: JSON.stringify([
        { delayMinutes: 0, channel: 'email', template: 'reminder' },
        { delayMinutes: 1440, channel: 'email', template: 'lastChance' },
      ]),
    })
    .where('store_id', '=', store.id)
    .execute();
  const snapshot = JSON.stringify({
    currency: 'EUR',
    subtotal: 3600,
    lines: [
      { id: 'line-1', variantId: '40001', title: 'Sunrise mug', quantity: 2, unitPrice: 1800 },
    ],
  });
  await sql`
    insert into shoppers (store_id, anonymous_id, email, email_consent, consent_text_version)
    select ${store.id}::uuid, 'bench_' || i, 'bench_' || i || '@shopper.example', true, 'v1'
    from generate_series(0, ${carts - 1}::int) as i
  `.execute(db);
  // Cart i is due at firstDue + i/N of the spread; its last activity was the threshold before.
  await sql`
    insert into carts (store_id, external_id, shopper_id, session_id, status, snapshot, currency,
      value_minor, line_count, last_activity_at, first_seen_at, idle_due_at)
    select s.store_id, 'cart-' || s.anonymous_id, s.id, 'session_' || s.anonymous_id, 'active',
      ${snapshot}::jsonb, 'EUR', 3600, 1, due - interval '1 minute', due - interval '2 minutes', due
    from shoppers s,
      lateral (select ${new Date(firstDue).toISOString()}::timestamptz
        + make_interval(secs => substring(s.anonymous_id from 7)::int * ${spreadMs / carts / 1000}::float8)
        as due) as d
    where s.store_id = ${store.id}::uuid
  `.execute(db);
  return store;
}

/** Arms every cart's idle job through the queue, earliest first, a few at a time. */
async function armIdleJobs(db: Db, queue: JobQueue): Promise<void> {
  const timers = await db
    .selectFrom('carts')
    .select(['id', 'store_id', 'idle_due_at'])
    .where('idle_due_at', 'is not', null)
    .orderBy('idle_due_at')
    .execute();
  let next = 0;
  const worker = async () => {
    while (next < timers.length) {
      const timer = timers[next++]!;
      await queue.schedule(IDLE_JOB, timer.id, timer.idle_due_at!, { storeId: timer.store_id });
    }
  };
  await Promise.all(Array.from({ length: ARM_CONCURRENCY }, worker));
}

async function runAdapter(adapter: Adapter): Promise<AdapterFigures> {
  const carts = envInt('BENCH_CARTS', 10_000);
  const spreadMs = envInt('BENCH_SPREAD_S', 60) * 1000;
  const leadMs = envInt('BENCH_LEAD_S', 10) * 1000;
  const limitMs = envInt('BENCH_LIMIT_S', 300) * 1000;
  const name = `wb_bench_${randomBytes(5).toString('hex')}`;
  const prefix = `wbbench_${randomBytes(5).toString('hex')}`;
  const logger = createLogger({ logLevel: 'silent', logPretty: false });
  let db: Db | undefined;
  let queue: JobQueue | undefined;
  let runner: JobRunner | undefined;
  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  let created = false;
  try {
    await admin((client) => client.query(`create database ${name}`));
    created = true;
    const url = withDatabase(serverUrl, name);
    db = createDb(url, 4);
    await migrateToLatest(db);
    sink = await startSink();
    const config = loadConfig({
      DATABASE_URL: url,
      ...(adapter === 'bullmq' ? { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix } : {}),
      SMTP_URL: sink.url,
      LINK_SECRET: randomBytes(32).toString('hex'),
      PUBLIC_URL: 'https://winback.bench.example',
      LOG_LEVEL: 'silent',
      // The worker's own settings, as a deployment would tune them (defaults when unset).
      SEND_CONCURRENCY: process.env.SEND_CONCURRENCY,
      SMTP_MAX_CONNECTIONS: process.env.SMTP_MAX_CONNECTIONS,
      DATABASE_POOL_MAX: process.env.DATABASE_POOL_MAX,
    });
    const firstDue = Date.now() + leadMs;
    await seed(db, carts, firstDue, spreadMs);
    log(`${adapter}: ${carts} carts due over ${spreadMs / 1000} s from ${leadMs / 1000} s on`);

    queue = createQueue({ redisUrl: config.redisUrl, prefix, logger });
    const armStarted = Date.now();
    await armIdleJobs(db, queue);
    const armS = (Date.now() - armStarted) / 1000;
    log(`${adapter}: idle jobs armed in ${round(armS, 2)} s`);
    if (Date.now() > firstDue) log(`${adapter}: arming ended after the first due time`);

    // As `winback worker` (or `serve` with the local queue) runs the jobs, on its own pool.
    const workerDb = createDb(url, config.databasePoolMax);
    runner = await startJobs({ db: workerDb, queue, config, logger });
    const started = Date.now();
    let timedOut = false;
    for (;;) {
      const { rows } = await sql<{ waiting: number; pending: number }>`
        select
          (select count(*)::int from carts where status = 'active') as waiting,
          (select count(*)::int from messages
            where step = 0 and status in ('scheduled', 'sending')) as pending
      `.execute(db);
      const { waiting, pending } = rows[0]!;
      if (waiting === 0 && pending === 0) break;
      if (interrupted) throw new Error('interrupted');
      if (Date.now() - started > limitMs) {
        timedOut = true;
        log(`${adapter}: TIMED OUT with ${waiting} carts active, ${pending} first steps pending`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await runner.stop();
    await queue.close();
    await runner.release();
    await workerDb.destroy();
    runner = undefined;
    queue = undefined;
    if (!timedOut)
      log(
        `${adapter}: all decided ${round((Date.now() - firstDue) / 1000, 1)} s after the first due time`,
      );

    const abandon = await sql<{ late_ms: number }>`
      select extract(epoch from abandoned_at - (last_activity_at + interval '1 minute')) * 1000
        as late_ms
      from carts where abandoned_at is not null order by 1
    `.execute(db);
    const steps = await sql<{
      status: string;
      id: string;
      sent_ms: number | null;
      claim_ms: number | null;
    }>`
      select id, status,
        extract(epoch from sent_at - scheduled_at) * 1000 as sent_ms,
        extract(epoch from claimed_at - scheduled_at) * 1000 as claim_ms
      from messages where step = 0
    `.execute(db);
    const abandonLate = abandon.rows.map((row) => Number(row.late_ms));
    const sent = steps.rows.filter((row) => row.status === 'sent');
    const stepLate = sent.map((row) => Number(row.sent_ms)).sort((a, b) => a - b);
    const claimLate = steps.rows
      .filter((row) => row.claim_ms !== null)
      .map((row) => Number(row.claim_ms))
      .sort((a, b) => a - b);
    const { rows: spans } = await sql<{ abandoned_s: number | null; sent_s: number | null }>`
      select
        (select extract(epoch from max(abandoned_at) - ${new Date(firstDue).toISOString()}::timestamptz)
          from carts) as abandoned_s,
        (select extract(epoch from max(sent_at) - ${new Date(firstDue).toISOString()}::timestamptz)
          from messages where step = 0) as sent_s
    `.execute(db);
    const perSecond = (count: number, seconds: number | null | undefined) =>
      seconds ? round(count / Number(seconds)) : Number.NaN;
    const duplicates = [...sink.perRow.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);

    const figures: AdapterFigures = {
      carts,
      abandoned: abandonLate.length,
      abandon_late_p50_ms: round(percentile(abandonLate, 50)),
      abandon_late_p99_ms: round(percentile(abandonLate, 99)),
      abandon_late_max_ms: round(abandonLate.at(-1) ?? Number.NaN),
      steps_sent: sent.length,
      step_late_p50_ms: round(percentile(stepLate, 50)),
      step_late_p99_ms: round(percentile(stepLate, 99)),
      step_late_max_ms: round(stepLate.at(-1) ?? Number.NaN),
      claim_late_p99_ms: round(percentile(claimLate, 99)),
      abandoned_per_s: perSecond(abandonLate.length, spans[0]?.abandoned_s),
      sent_per_s: perSecond(sent.length, spans[0]?.sent_s),
      steps_not_sent: carts - sent.length,
      duplicates,
      arm_s: round(armS, 2),
    };
    if (adapter === 'bullmq') {
      const redis = new Redis(redisUrl);
      try {
        const [, hz] = (await redis.config('GET', 'hz')) as [string, string];
        figures.redis_hz = Number(hz);
      } catch {
        // CONFIG may be disabled on a managed Redis.
      } finally {
        redis.disconnect();
      }
    }
    log(`${adapter}: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    await runner?.stop().catch(() => {});
    await queue?.close().catch(() => {});
    await runner?.release().catch(() => {});
    await sink?.close().catch(() => {});
    await db?.destroy().catch(() => {});
    if (created) {
      await admin((client) => client.query(`drop database if exists ${name} with (force)`)).catch(
        (error: unknown) => log(`could not drop ${name}: ${String(error)}`),
      );
    }
    if (adapter === 'bullmq') await deletePrefix(prefix).catch(() => {});
  }
}

async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const adapters = (process.env.BENCH_ADAPTERS || 'local,bullmq')
    .split(',')
    .map((name) => name.trim())
    .filter((name): name is Adapter => name === 'local' || name === 'bullmq');
  if (adapters.length === 0) throw new Error('BENCH_ADAPTERS names neither local nor bullmq');
  const results: Partial<Record<Adapter, AdapterFigures>> = {};
  for (const adapter of adapters) results[adapter] = await runAdapter(adapter);
  const all = Object.values(results);
  // The headline figures are the worst adapter's.
  const worst = (key: keyof AdapterFigures) =>
    Math.max(...all.map((figures) => Number(figures[key])));
  process.stdout.write(
    `${JSON.stringify({
      abandon_late_p50_ms: worst('abandon_late_p50_ms'),
      abandon_late_p99_ms: worst('abandon_late_p99_ms'),
      step_late_p99_ms: worst('step_late_p99_ms'),
      duplicates: all.reduce((sum, figures) => sum + figures.duplicates, 0),
      adapters: results,
    })}\n`,
  );
}

// Ctrl-C ends the wait; the run's finally blocks then drop the database and the Redis keys.
let interrupted = false;
const onSignal = () => {
  log('interrupted, cleaning up');
  interrupted = true;
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
