import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEmbeddedPostgres } from '@winback/server/embedded';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type RunningCli, startCli } from './helpers/cli.js';
import { freePort } from './helpers/discover.js';

const run = promisify(execFile);

/** Command lines of running processes that mention `text` (a data folder path). */
async function processesMentioning(text: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args=']);
  return stdout
    .split('\n')
    .filter((line) => line.includes(text) && !line.includes('ps -eo'))
    .map((line) => line.trim());
}

const folders: string[] = [];
async function tempFolder(prefix: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  folders.push(folder);
  return folder;
}

const running: RunningCli[] = [];
async function startDemo(dataDir: string, port: number): Promise<RunningCli> {
  // startCli passes only PATH/HOME/TMPDIR/LANG on, so DATABASE_URL, REDIS_URL and SMTP_URL
  // are unset and the demo starts its embedded services.
  const demo = await startCli(
    ['demo'],
    { PORT: String(port), WINBACK_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    /^admin: .*\n/m,
  );
  running.push(demo);
  return demo;
}

afterEach(async () => {
  for (const demo of running.splice(0)) await demo.stop('SIGKILL').catch(() => {});
});

afterAll(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

/** Counts demo stores by starting the cluster the demo left behind in `dataDir`. */
async function demoStoresIn(dataDir: string): Promise<{ ids: string[] }> {
  const postgres = await startEmbeddedPostgres({
    dataDir: join(dataDir, 'postgres'),
    port: await freePort(),
    persistent: true,
  });
  const url = new URL(postgres.url);
  url.pathname = '/winback';
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    const { rows } = await client.query<{ id: string }>(
      `select id from stores where name = 'Winback demo store'`,
    );
    return { ids: rows.map((row) => row.id) };
  } finally {
    await client.end().catch(() => {});
    await postgres.stop();
  }
}

describe.skipIf(process.platform === 'win32')('winback demo', () => {
  it('serves the storefront, the admin page and readiness; Ctrl-C stops everything; a second run reuses the data', {
    timeout: 240_000,
  }, async () => {
    const dataDir = await tempFolder('winback-demo-');

    for (const round of [1, 2]) {
      const port = await freePort();
      const demo = await startDemo(dataDir, port);
      const base = `http://127.0.0.1:${port}`;

      const urlLines = demo
        .stdout()
        .split('\n')
        .filter((line) => /^(storefront|admin):/.test(line));
      expect(urlLines, `round ${round}`).toEqual([`storefront: ${base}/`, `admin: ${base}/admin`]);

      const storefront = await fetch(`${base}/`);
      expect(storefront.status).toBe(200);
      expect(await storefront.text()).toContain('<title>Winback demo store</title>');

      const smtpUrl = /^smtp capture: (smtp:\/\/\S+)$/m.exec(demo.stdout())?.[1];
      expect(smtpUrl).toBeDefined();
      if (round === 1) {
        await nodemailer.createTransport({ url: smtpUrl, ignoreTLS: true }).sendMail({
          from: 'shop@example.test',
          to: 'shopper@example.test',
          subject: 'Your cart is waiting',
          text: 'Come back soon.',
        });
      }

      const admin = await fetch(`${base}/admin`);
      expect(admin.status).toBe(200);
      expect(admin.headers.get('content-security-policy')).toContain("default-src 'none'");
      const adminPage = await admin.text();
      expect(adminPage).toContain('<title>Winback admin</title>');
      // The captured mail is in the admin's outbox, and still there after a restart.
      const keys = JSON.parse(await readFile(join(dataDir, 'demo-store.json'), 'utf8'));
      const session = await fetch(`${base}/admin/api/session`, {
        method: 'POST',
        headers: { origin: base, 'content-type': 'application/json' },
        body: JSON.stringify({ storeId: keys.id, secret: keys.adminSecret }),
      });
      expect(session.status).toBe(201);
      const cookie = /wb_admin=[^;]+/.exec(session.headers.get('set-cookie') ?? '')?.[0] ?? '';
      const outbox = await fetch(`${base}/admin/api/outbox`, { headers: { cookie } });
      const { mails } = (await outbox.json()) as { mails: { subject: string | null }[] };
      expect(mails.map((mail) => mail.subject)).toEqual(['Your cart is waiting']);

      const ready = await fetch(`${base}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ok', queue: 'local' });

      const postgresBefore = await processesMentioning(join(dataDir, 'postgres'));
      expect(postgresBefore.length, 'an embedded Postgres runs on the data folder').toBeGreaterThan(
        0,
      );

      const result = await demo.stop('SIGINT');
      expect(result.code, result.stderr).toBe(0);
      expect(await processesMentioning(join(dataDir, 'postgres'))).toEqual([]);
    }

    const saved = JSON.parse(await readFile(join(dataDir, 'demo-store.json'), 'utf8')) as {
      id: string;
    };
    expect(await demoStoresIn(dataDir)).toEqual({ ids: [saved.id] });
  });

  it('stops its Postgres even when the demo process is killed outright', {
    timeout: 120_000,
  }, async () => {
    const dataDir = await tempFolder('winback-demo-kill-');
    const demo = await startDemo(dataDir, await freePort());
    expect((await processesMentioning(join(dataDir, 'postgres'))).length).toBeGreaterThan(0);

    await demo.stop('SIGKILL');

    // The watchdog asks Postgres to shut down once its owner is gone; that takes a moment.
    await vi.waitFor(
      async () => expect(await processesMentioning(join(dataDir, 'postgres'))).toEqual([]),
      { timeout: 30_000, interval: 200 },
    );
    // And the folder starts again cleanly afterwards.
    const again = await startDemo(dataDir, await freePort());
    expect((await again.stop('SIGINT')).code).toBe(0);
  });
});

describe.skipIf(process.platform === 'win32')('embedded Postgres', () => {
  it('runs a throw-away cluster on 127.0.0.1 and removes it when stopped', {
    timeout: 120_000,
  }, async () => {
    const dataDir = await tempFolder('winback-embedded-pg-');
    const port = await freePort();
    const postgres = await startEmbeddedPostgres({ dataDir, port, persistent: false });
    try {
      const url = new URL(postgres.url);
      expect(url.hostname).toBe('127.0.0.1');
      expect(url.port).toBe(String(port));
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      const { rows } = await client.query<{ listen: string }>(
        `select current_setting('listen_addresses') as listen`,
      );
      await client.end();
      expect(rows[0]?.listen).toBe('127.0.0.1');
    } finally {
      await postgres.stop();
    }
    expect(await processesMentioning(dataDir)).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('starts over a postmaster.pid left behind by a killed run', { timeout: 120_000 }, async () => {
    const dataDir = await tempFolder('winback-embedded-pg-');
    const first = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      persistent: true,
    });
    await first.stop();
    // The lock names a pid that a live process (not Postgres) now has, as after a reboot.
    const stranger = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      await writeFile(join(dataDir, 'postmaster.pid'), `${stranger.pid}\n${dataDir}\n`);
      const second = await startEmbeddedPostgres({
        dataDir,
        port: await freePort(),
        persistent: false,
      });
      const client = new pg.Client({ connectionString: second.url });
      await client.connect();
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await client.end();
      await second.stop();
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    'as root, names a parent folder the postgres OS user cannot enter',
    async () => {
      const closed = await tempFolder('winback-embedded-pg-');
      await chmod(closed, 0o700);
      await expect(
        startEmbeddedPostgres({
          dataDir: join(closed, 'inner', 'postgres'),
          port: await freePort(),
          persistent: false,
        }),
      ).rejects.toThrow(`cannot enter ${closed},`);
    },
  );

  it('refuses a folder that holds something other than a cluster', async () => {
    const dataDir = await tempFolder('winback-embedded-pg-');
    await writeFile(join(dataDir, 'notes.txt'), 'mine');
    await expect(
      startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false }),
    ).rejects.toThrow(/neither empty nor a Postgres data folder/);
    expect(await readFile(join(dataDir, 'notes.txt'), 'utf8')).toBe('mine');
  });
});
