/**
 * `pnpm bench:ingest`: durable ingest over WebSocket against a plain COPY, in one run.
 *
 * This process hosts the real app (buildApp, listening on 127.0.0.1) on a fresh database and
 * forks ingest-driver.ts, which drives it over N WebSockets. Figures go to stdout as one JSON
 * line, last; progress goes to stderr. Nothing here asserts a time.
 *
 * Settings (environment): BENCH_EVENTS (200000), BENCH_CONNECTIONS (16), BENCH_PIPELINE (4),
 * BENCH_PACED_RATE (5000), BENCH_PACED_SECONDS (10), BENCH_PHASE_LIMIT_S (180), and
 * DATABASE_URL for the Postgres server (else postgres://postgres@127.0.0.1:5432/postgres).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { buildApp, createStore, loadConfig } from '@winback/server';
import { createDb, ensureEventPartitions, migrateToLatest } from '@winback/server/db';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { admin, envInt, percentile, round, serverUrl, withDatabase } from './common.js';
import type { DriverMessage, DriverOptions, PhaseResult } from './ingest-driver.js';

const log = (line: string) => process.stderr.write(`[bench:ingest] ${line}\n`);

const ORIGIN = 'https://shop.bench.example';

/** Runs the driver to its end; resolves with its phases and the acked ids. */
function drive(
  options: DriverOptions,
  children: ChildProcess[],
  onPhase: (name: 'throughput' | 'paced', edge: 'start' | 'end') => void = () => {},
) {
  const driverPath = fileURLToPath(new URL('./ingest-driver.ts', import.meta.url));
  const child = fork(driverPath, [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const phases: Partial<Record<'throughput' | 'paced', PhaseResult>> = {};
  const acked: string[] = [];
  return new Promise<{ phases: typeof phases; acked: string[] }>((resolve, reject) => {
    let done = false;
    child.on('message', (message: DriverMessage) => {
      if (message.t === 'progress') log(message.line);
      else if (message.t === 'phase-start') onPhase(message.name, 'start');
      else if (message.t === 'phase') {
        phases[message.name] = message.result;
        onPhase(message.name, 'end');
      } else if (message.t === 'ids') for (const id of message.ids) acked.push(id);
      else if (message.t === 'done') done = true;
      else if (message.t === 'error') reject(new Error(`driver failed: ${message.message}`));
    });
    child.on('exit', (code) => {
      if (done) resolve({ phases, acked });
      else reject(new Error(`driver exited with code ${code} before finishing`));
    });
    child.send({ t: 'run', options });
  });
}

/** Peak RSS of this process (which hosts the app) while `work` runs, sampled every 100 ms. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  try {
    const value = await work();
    return { value, peakMb: peak / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/**
 * CPU time used by this process and by the Postgres backends serving `database` (read from
 * /proc, so only for a Postgres on this machine) between `start` and `stop`. Backends are sampled
 * every 200 ms, so one that exits between samples loses at most its last 200 ms.
 */
function cpuMeter(url: string, database: string) {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const backendCpuMs = (pid: number): number | undefined => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
    } catch {
      return undefined;
    }
  };
  const client = new pg.Client({ connectionString: url });
  const first = new Map<number, number>();
  const applications = new Set<string>();
  const last = new Map<number, number>();
  // Whether /proc shows the backends at all (a Postgres on another machine: no figure).
  let readable = false;
  let timer: NodeJS.Timeout | undefined;
  let processBefore = process.cpuUsage();
  const sample = async () => {
    const { rows } = await client.query<{ pid: number; application_name: string }>(
      `select pid, application_name from pg_stat_activity
       where datname = $1 and pid <> pg_backend_pid()`,
      [database],
    );
    for (const { pid, application_name } of rows) {
      applications.add(application_name);
      const ms = backendCpuMs(pid);
      // Gone since the query (a pool closing an idle connection), or not on this machine.
      if (ms === undefined) continue;
      readable = true;
      // A backend first seen after the start counts from its beginning.
      if (!first.has(pid)) first.set(pid, timer === undefined ? ms : 0);
      last.set(pid, ms);
    }
  };
  return {
    async start() {
      await client.connect();
      await sample();
      processBefore = process.cpuUsage();
      timer = setInterval(() => void sample().catch(() => {}), 200);
    },
    /** How the writer stored events, from the name its own connections carry. */
    eventsWrite(): string {
      const own = [...applications].find((name) => name.startsWith('winback-ingest-'));
      return own ? own.slice('winback-ingest-'.length) : 'unnest (app pool)';
    },
    async stop(): Promise<{ serverMs: number; databaseMs: number | null }> {
      const used = process.cpuUsage(processBefore);
      clearInterval(timer);
      await sample().catch(() => {});
      await client.end().catch(() => {});
      let databaseMs = 0;
      for (const [pid, ms] of last) databaseMs += ms - (first.get(pid) ?? 0);
      return {
        serverMs: (used.user + used.system) / 1000,
        databaseMs: readable ? databaseMs : null,
      };
    },
  };
}

async function main(): Promise<void> {
  const events = envInt('BENCH_EVENTS', 200_000);
  const options: Omit<DriverOptions, 'url'> = {
    origin: ORIGIN,
    connections: envInt('BENCH_CONNECTIONS', 16),
    pipeline: envInt('BENCH_PIPELINE', 4),
    eventsPerFrame: 20,
    events,
    pacedRate: envInt('BENCH_PACED_RATE', 5_000),
    pacedSeconds: envInt('BENCH_PACED_SECONDS', 10),
    phaseLimitMs: envInt('BENCH_PHASE_LIMIT_S', 180) * 1000,
  };

  const name = `wb_bench_${randomBytes(5).toString('hex')}`;
  const children: ChildProcess[] = [];
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let db: ReturnType<typeof createDb> | undefined;
  let created = false;
  // Ending the driver makes the run fail over to the cleanup below.
  const stopOnSignal = () => {
    log('interrupted, cleaning up');
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  try {
    await admin((client) => client.query(`create database ${name}`));
    created = true;
    const url = withDatabase(serverUrl, name);
    log(`database ${name} created`);
    db = createDb(url, 2);
    await migrateToLatest(db);
    await ensureEventPartitions(db);
    const { store, publicKey } = await createStoreWithKey(db);

    app = await buildApp(
      loadConfig({
        DATABASE_URL: url,
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        // The bench measures the database path, not the per-key limit (1,000 events/s by default).
        RATE_LIMIT_EVENTS_PER_SECOND: '10000000',
        // How the writer stores events, where the configuration offers the choice.
        ...(process.env.BENCH_EVENTS_WRITE
          ? { INGEST_EVENTS_WRITE: process.env.BENCH_EVENTS_WRITE }
          : {}),
      }),
    );
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const wsUrl = `${address.replace(/^http/, 'ws')}/v1/stream?key=${encodeURIComponent(publicKey)}`;
    log(
      `server on ${address}; ${options.connections} connections, ${options.pipeline} frames ` +
        `in flight each, ${events} events, then ${options.pacedRate}/s for ${options.pacedSeconds} s`,
    );

    const meter = cpuMeter(url, name);
    let cpu: Promise<{ serverMs: number; databaseMs: number | null }> | undefined;
    let meterStarted: Promise<void> | undefined;
    const { value: run, peakMb } = await peakRss(() =>
      drive({ ...options, url: wsUrl }, children, (phase, edge) => {
        if (phase !== 'throughput') return;
        if (edge === 'start') meterStarted = meter.start();
        else cpu = (meterStarted ?? Promise.resolve()).then(() => meter.stop());
      }),
    );
    const used = await (cpu ?? meter.stop());
    const throughput = run.phases.throughput!;
    const paced = run.phases.paced!;
    for (const [phase, result] of Object.entries(run.phases)) {
      log(
        `${phase}: sent ${result.sentEvents}, acked ${result.ackedEvents}, rejected ` +
          `${result.rejectedEvents}, nacks ${result.nacks}, ${round(result.elapsedMs / 1000, 2)} s` +
          (result.timedOut ? ' (TIMED OUT: figures cover what was acked)' : ''),
      );
    }

    // Lost: acked but not in the table. Duplicated: rows beyond one per acked id.
    const check = await (async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query('create temp table sent_ids (id text collate "C" not null)');
        await pipeline(
          Readable.from(chunks(run.acked)),
          client.query(copyFrom('copy sent_ids (id) from stdin')),
        );
        const { rows } = await client.query<{
          rows: string;
          distinct_ids: string;
          lost: string;
          extra: string;
        }>(
          `select
             (select count(*) from events where store_id = $1) as rows,
             (select count(distinct id) from events where store_id = $1) as distinct_ids,
             (select count(*) from (select distinct id from sent_ids) s
                where not exists (select 1 from events e where e.store_id = $1 and e.id = s.id)) as lost,
             (select count(*) from events e where e.store_id = $1
                and not exists (select 1 from sent_ids s where s.id = e.id)) as extra`,
          [store.id],
        );
        return rows[0]!;
      } finally {
        await client.end();
      }
    })();
    const rows = Number(check.rows);
    const lost = Number(check.lost);
    const duplicated = rows - Number(check.distinct_ids) + Number(check.extra);
    log(
      `table: ${rows} rows, ${check.distinct_ids} distinct ids; acked ${run.acked.length} ids ` +
        `(${new Set(run.acked).size} distinct); not stored ${lost}; stored but never acked ${check.extra}`,
    );

    // Stop the app before the COPY so it does not share the machine with it.
    await app.close();
    app = undefined;

    const copyRowsPerS = await copyBaseline(url, store.id, rows);

    const latencies = [...throughput.latencies].sort((a, b) => a - b);
    const pacedLatencies = [...paced.latencies].sort((a, b) => a - b);
    const eventsPerS = throughput.ackedEvents / (throughput.elapsedMs / 1000);
    log(
      `paced: ${paced.latencies.length} frames, p50 ${round(percentile(pacedLatencies, 50), 2)} ms, ` +
        `max ${round(pacedLatencies.at(-1) ?? Number.NaN, 2)} ms`,
    );
    log(
      'rss_mb is the peak RSS of the process hosting the app (and nothing else heavy) during the run',
    );
    process.stdout.write(
      `${JSON.stringify({
        events_write: meter.eventsWrite(),
        events_per_s: Math.round(eventsPerS),
        copy_rows_per_s: Math.round(copyRowsPerS),
        ratio: round(eventsPerS / copyRowsPerS, 3),
        p50_ms: round(percentile(latencies, 50), 2),
        p99_ms: round(percentile(latencies, 99), 2),
        p99_ms_at_5k: round(percentile(pacedLatencies, 99), 2),
        rss_mb: round(peakMb),
        lost,
        duplicated,
        // CPU per acked event in phase 1, in microseconds: the server process (app and event
        // loop), the Postgres backends of the bench database, and the load driver.
        cpu_us_per_event: {
          server: round((used.serverMs * 1000) / throughput.ackedEvents),
          postgres:
            used.databaseMs === null
              ? null
              : round((used.databaseMs * 1000) / throughput.ackedEvents),
          driver: round((throughput.driverCpuMs * 1000) / throughput.ackedEvents),
        },
      })}\n`,
    );
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await app?.close().catch(() => {});
    await db?.destroy().catch(() => {});
    if (created) {
      await admin((client) => client.query(`drop database if exists ${name} with (force)`))
        .then(() => log(`database ${name} dropped`))
        .catch((error: unknown) => log(`could not drop ${name}: ${String(error)}`));
    }
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
  }
}

async function createStoreWithKey(db: ReturnType<typeof createDb>) {
  const created = await createStore(db, { name: 'Bench shop', allowedOrigins: [ORIGIN] });
  return { store: created.store, publicKey: created.store.public_key };
}

function* chunks(ids: readonly string[]): Generator<string> {
  for (let i = 0; i < ids.length; i += 10_000) {
    yield `${ids.slice(i, i + 10_000).join('\n')}\n`;
  }
}

/**
 * The baseline: the very rows ingest stored, read back as COPY text, then written with ONE
 * `COPY ... FROM STDIN` (autocommit, so it is durable at its end like an ack) into a copy of
 * the events table: same columns, defaults, checks, primary key and indexes, but not
 * partitioned and without the foreign key to stores. Only the COPY FROM is timed.
 */
async function copyBaseline(url: string, storeId: string, expected: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('create table bench_events_copy (like events including all)');
    const parts: Buffer[] = [];
    await pipeline(
      client.query(
        copyTo(
          `copy (select store_id, id, type, ts, received_at, session_id, anonymous_id, cart_id, payload
                 from events where store_id = '${storeId}') to stdout`,
        ),
      ),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          parts.push(chunk);
          callback();
        },
      }),
    );
    const data = Buffer.concat(parts);
    log(`copy: ${expected} rows, ${round(data.length / 2 ** 20)} MB of COPY text`);
    await client.query('checkpoint').catch(() => {}); // needs superuser; fine without
    const started = performance.now();
    await pipeline(
      Readable.from(splitBuffer(data, 1 << 16)),
      client.query(
        copyFrom(
          'copy bench_events_copy (store_id, id, type, ts, received_at, session_id, anonymous_id, cart_id, payload) from stdin',
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const { rows } = await client.query<{ n: string }>(
      'select count(*) as n from bench_events_copy',
    );
    const copied = Number(rows[0]!.n);
    log(`copy: ${copied} rows in ${round(seconds, 2)} s (${Math.round(copied / seconds)}/s)`);
    return copied / seconds;
  } finally {
    await client.query('drop table if exists bench_events_copy').catch(() => {});
    await client.end();
  }
}

function* splitBuffer(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
