import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pg from 'pg';
import pino, { type DestinationStream, type Logger } from 'pino';
import { buildApp } from '../app.js';
import { type Config, withOverrides } from '../config.js';
import { createDb, type Db } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { EmbeddedPostgresError, startEmbeddedPostgres } from '../embedded/postgres.js';
import { type SmtpCapture, startSmtpCapture } from '../embedded/smtp-capture.js';
import { UsageError } from '../errors.js';
import { seedDemoStore } from '../features/demo-seed/index.js';
import { normalizeOrigin } from '../features/stores/origins.js';
import { createStore, listStores, updateAllowedOrigins } from '../features/stores/repository.js';
import { loggerOptions } from '../logger.js';
import { stopOnSignal } from '../shutdown.js';

const DEMO_STORE_NAME = 'Winback demo store';
const DEMO_DATABASE = 'winback';
/** Commercial email must carry one; the demo's is plainly not a real place. */
const DEMO_POSTAL_ADDRESS = 'Demo Shop, 1 Example Street, 00000 Nowhere';
/** Where the demo keeps what `createStore` shows only once (the admin secret). */
const DEMO_STORE_FILE = 'demo-store.json';
const DEMO_LINK_SECRET_FILE = 'link-secret';
/** The demo shop in this repository; absent from a published package, then only /admin runs. */
const STOREFRONT_DIR = fileURLToPath(new URL('../../../../examples/storefront/', import.meta.url));

export interface DemoOptions {
  /** Fill the demo store with a month of carts before serving (see features/demo-seed). */
  seed: boolean;
}

const usage = 'usage: winback demo [--seed]';

/** Parses `winback demo`'s arguments before anything starts. */
export function parseDemoArgs(argv: string[]): DemoOptions {
  // `pnpm demo -- --seed` hands the `--` on: it separates nothing here.
  const args = argv.filter((arg) => arg !== '--');
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { seed: { type: 'boolean' } },
    });
    return { seed: values.seed === true };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`demo: ${reason}; ${usage}`);
  }
}

/**
 * `winback demo`: everything on embedded defaults in one process — Postgres (unless
 * DATABASE_URL is set), the local queue (unless REDIS_URL is set), an SMTP capture (unless
 * SMTP_URL is set), the demo storefront at `/` and the admin page at `/admin`. With `--seed`,
 * the demo store is first filled with a month of carts. Prints one line per URL on stdout (logs
 * go to stderr); Ctrl-C stops everything it started.
 */
export async function demoCommand(
  config: Config,
  options: DemoOptions = { seed: false },
): Promise<void> {
  const logger = await demoLogger(config);
  // Stopped in reverse order of starting: the app before the services it uses.
  const running: { name: string; stop: () => Promise<void> }[] = [];
  const stopAll = async () => {
    const failures: unknown[] = [];
    for (const { name, stop } of running.splice(0).reverse()) {
      await stop().catch((error: unknown) => {
        logger.error({ err: error }, `stopping ${name} failed`);
        failures.push(error);
      });
    }
    if (failures.length > 0) throw failures[0];
  };
  // Registered first, so a Ctrl-C during start-up also stops what has started so far.
  stopOnSignal(stopAll, { timeoutMs: config.shutdownTimeoutMs, logger });

  try {
    const dataDir = resolve(config.dataDir);
    await prepareDataDir(dataDir);

    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const postgres = await startEmbeddedPostgres({
        dataDir: join(dataDir, 'postgres'),
        port: await freePort(),
        persistent: true,
        onLog: (text) => logger.debug({ component: 'postgres' }, text.trim()),
      });
      running.push({ name: 'embedded Postgres', stop: () => postgres.stop() });
      databaseUrl = await ensureDatabase(postgres.url, DEMO_DATABASE);
      logger.info({ dataDir: join(dataDir, 'postgres') }, 'embedded Postgres started');
    }

    let smtpUrl = config.smtpUrl;
    let capture: SmtpCapture | undefined;
    if (!smtpUrl) {
      capture = await startSmtpCapture({ dataDir });
      const started = capture;
      running.push({ name: 'SMTP capture', stop: () => started.close() });
      smtpUrl = capture.url;
    }

    // The port must be known before the app is built: recovery links and the demo store's
    // allowed origin are made from it.
    const port = config.port === 0 ? await freePort() : config.port;
    const shownHost = displayHost(config.host);
    const origin = `http://${shownHost}:${port}`;
    const derivedPublicUrl = `http://${config.host}:${config.port}`;
    const publicUrl = config.publicUrl === derivedPublicUrl ? origin : config.publicUrl;

    const db = createDb(databaseUrl, 2);
    let publicKey: string;
    try {
      const { applied } = await migrateToLatest(db);
      if (applied.length > 0) logger.info({ applied }, 'database migrated');
      const store = await ensureDemoStore(
        db,
        dataDir,
        [origin, publicUrl, `http://localhost:${port}`],
        logger,
      );
      publicKey = store.publicKey;
      if (options.seed) await seedDemo(db, store.id, logger);
    } finally {
      await db.destroy();
    }

    const storefrontDir = existsSync(join(STOREFRONT_DIR, 'index.html')) ? STOREFRONT_DIR : null;
    if (!storefrontDir) logger.warn('demo storefront files not found: serving /admin only');
    const app: FastifyInstance = await buildApp(
      withOverrides(config, {
        databaseUrl,
        smtpUrl,
        port,
        publicUrl,
        linkSecrets: config.linkSecrets ?? [await demoLinkSecret(dataDir)],
      }),
      {
        logger: logger as FastifyBaseLogger,
        ...(storefrontDir
          ? {
              storefrontDir,
              storefrontVariables: { WINBACK_KEY: publicKey, WINBACK_ENDPOINT: publicUrl },
            }
          : {}),
        ...(capture ? { mailbox: capture } : {}),
      },
    );
    running.push({ name: 'app', stop: () => app.close() });
    await app.listen({ port, host: config.host });

    const lines = [
      ...(storefrontDir ? [`storefront: ${origin}/`] : []),
      `admin: ${origin}/admin`,
      ...(capture ? [`smtp capture: ${capture.url}`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (error) {
    await stopAll().catch(() => {});
    // Its message already says what is wrong and what to do: shown as one message, no stack.
    if (error instanceof EmbeddedPostgresError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The demo is run by a person at a terminal: logs are human-readable and go to stderr, so the
 * URL lines on stdout stand out (and scripts can read them). JSON when pino-pretty is absent.
 */
async function demoLogger(config: Config): Promise<Logger> {
  const { transport: _transport, ...options } = loggerOptions(config);
  let destination: DestinationStream = pino.destination({ fd: 2, sync: true });
  try {
    const { default: pretty } = await import('pino-pretty');
    destination = pretty({
      destination: 2,
      sync: true,
      colorize: process.stderr.isTTY === true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname',
    });
  } catch {
    // pino-pretty is a development dependency; plain JSON lines are fine.
  }
  return pino(options, destination);
}

/**
 * Running as root, Postgres runs as the `postgres` OS user, which has to pass through the data
 * folder to reach its cluster inside. Only search permission is added, and only on a folder we
 * own: its listing and the captured mail stay private.
 */
async function prepareDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  if (process.getuid?.() !== 0) return;
  const stats = await stat(dataDir);
  if (stats.uid === 0 && (stats.mode & 0o001) === 0) await chmod(dataDir, stats.mode | 0o001);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', done);
  });
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** What a browser on this machine types for the listening host. */
function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The demo runs at a pace a person can watch: a cart counts as abandoned after one minute, and
 * the sequence's mails follow 1, 3 and 5 minutes later, at any hour. The exit modal shows for
 * any cart, with a 10 % code, once a session.
 */
async function useDemoPace(db: Db, storeId: string): Promise<void> {
  await db
    .updateTable('stores')
    .set({
      settings: JSON.stringify({
        idleThresholdMinutes: 1,
        quietHours: { start: '00:00', end: '00:00' },
        frequencyCapHours: { email: 0, sms: 0, push: 0 },
        // Overlays for any cart, with a code, once a session: the on-site side shows at once.
        onsite: {
          exitModal: { minRisk: 0 },
          dismissCooldownDays: 0,
          offer: {
            discount: { kind: 'percent', value: 10, validHours: 24 },
            minRisk: 0,
            maxPerDay: 1000,
          },
        },
      }),
    })
    .where('id', '=', storeId)
    .execute();
  await db
    .updateTable('campaigns')
    .set({
      steps: JSON.stringify([
        { delayMinutes: 1, channel: 'email', template: 'reminder' },
        { delayMinutes: 3, channel: 'email', template: 'lastChance' },
        {
          delayMinutes: 5,
          channel: 'email',
          template: 'discount',
          discount: { kind: 'percent', value: 10, validHours: 48 },
        },
      ]),
    })
    .where('store_id', '=', storeId)
    .execute();
}

/**
 * Links in mails must survive a restart of the demo: without LINK_SECRET, one random secret is
 * made on the first run and kept in the data folder.
 */
async function demoLinkSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, DEMO_LINK_SECRET_FILE);
  try {
    const saved = (await readFile(file, 'utf8')).trim();
    if (saved.length >= 32) return saved;
  } catch {
    // Not made yet.
  }
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Keeps the app's tables out of the cluster's `postgres` maintenance database. */
async function ensureDatabase(serverUrl: string, database: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [
      database,
    ]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * `--seed`: a month of carts, from the real sessions next to the repository or else generated.
 * Before the app starts, so its first admin page load already has them; one log line says which.
 */
async function seedDemo(db: Db, storeId: string, logger: Logger): Promise<void> {
  const summary = await seedDemoStore(db, storeId);
  const counts = {
    carts: summary.carts,
    shoppers: summary.shoppers,
    messages: summary.messages,
    replaced: summary.replaced,
  };
  if (summary.source === 'rees46') {
    logger.info(
      { ...counts, sessions: summary.sessions },
      `demo store seeded: ${summary.carts} carts over the last 30 days from ${summary.sessions} real shopping sessions (REES46)`,
    );
  } else {
    logger.info(
      counts,
      `demo store seeded: real sessions not found (../shared/data/sessions next to the repository), so ${summary.carts} carts over the last 30 days were generated`,
    );
  }
}

/**
 * One demo store, made on the first run; its admin secret (shown only once by `createStore`)
 * is kept in the data folder. A later run on another port adds that port's origins. Returns the
 * store's id and public key, which the storefront's script tag needs.
 */
async function ensureDemoStore(
  db: Db,
  dataDir: string,
  origins: string[],
  logger: Logger,
): Promise<{ id: string; publicKey: string }> {
  const allowedOrigins: string[] = [];
  for (const candidate of origins) {
    try {
      allowedOrigins.push(normalizeOrigin(candidate));
    } catch {
      // A PUBLIC_URL that is not a valid storefront origin is simply not added.
    }
  }
  const existing = (await listStores(db)).find((store) => store.name === DEMO_STORE_NAME);
  if (!existing) {
    const { store, adminSecret } = await createStore(db, {
      name: DEMO_STORE_NAME,
      allowedOrigins,
      postalAddress: DEMO_POSTAL_ADDRESS,
    });
    await useDemoPace(db, store.id);
    const file = join(dataDir, DEMO_STORE_FILE);
    const saved = { id: store.id, publicKey: store.public_key, adminSecret };
    await writeFile(file, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
    logger.info({ storeId: store.id, file }, 'demo store created; its keys are in the file');
    return { id: store.id, publicKey: store.public_key };
  }
  if (existing.postal_address === null) {
    // Made by a version of the demo from before recovery mails: bring it up to date once.
    await db
      .updateTable('stores')
      .set({ postal_address: DEMO_POSTAL_ADDRESS })
      .where('id', '=', existing.id)
      .execute();
    await useDemoPace(db, existing.id);
  }
  const missing = allowedOrigins.filter((item) => !existing.allowed_origins.includes(item));
  if (missing.length > 0) {
    await updateAllowedOrigins(db, existing.id, [...existing.allowed_origins, ...missing]);
    logger.info({ storeId: existing.id, added: missing }, 'demo store origins updated');
  }
  return { id: existing.id, publicKey: existing.public_key };
}
