import { findStoreByPublicKey, verifyAdminSecret } from '@winback/server';
import { createDb, type Db } from '@winback/server/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { needs, useFreshDatabase } from './helpers/services.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

/** Exit code 2 with exactly one `winback: ...` line on stderr and nothing on stdout. */
function expectOneLineRefusal(result: { code: number | null; stdout: string; stderr: string }) {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^winback: /);
  return lines[0] ?? '';
}

describe.skipIf(!pgUrl)('winback migrate and winback store create', () => {
  let db: Db;
  const env = () => ({ DATABASE_URL: database.url });

  beforeAll(() => {
    db = createDb(database.url, 2);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('refuses to create a store before the schema is migrated, saying what to run', async () => {
    const result = await runCli(
      ['store', 'create', '--name', 'Early', '--origin', 'https://early.example'],
      env(),
    );
    expect(expectOneLineRefusal(result)).toMatch(/schema is behind .*run `winback migrate`/);
  });

  it('migrates, printing what it applied, and then has nothing left to apply', async () => {
    const first = await runCli(['migrate'], env());
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const applied = first.stdout.split('\n').filter((line) => line.startsWith('applied '));
    expect(applied.length).toBeGreaterThanOrEqual(6);
    expect(applied[0]).toMatch(/^applied \d{4}_\d{2}_\d{2}_\d{6}_create_stores$/);
    expect(first.stdout).toMatch(/^events partitions ready: events_\d{4}_\d{2}, /m);

    const second = await runCli(['migrate'], env());
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^database schema is already up to date$/m);
    expect(second.stdout).not.toMatch(/^applied /m);
  });

  it('creates a store and prints keys that work against the database', async () => {
    const result = await runCli(
      [
        'store',
        'create',
        '--name',
        'My Shop',
        '--origin',
        'https://Shop.Example/',
        '--origin',
        'http://localhost:3000',
      ],
      env(),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const publicKey = /^public key: (pk_[A-Za-z0-9_-]{24,})$/m.exec(result.stdout)?.[1];
    const adminSecret =
      /^admin secret: (sk_[A-Za-z0-9_-]{32,}) \(shown once; store it now\)$/m.exec(
        result.stdout,
      )?.[1];
    expect(publicKey).toBeDefined();
    expect(adminSecret).toBeDefined();

    const store = await findStoreByPublicKey(db, publicKey ?? '');
    expect(store?.name).toBe('My Shop');
    expect(store?.allowed_origins).toEqual(['https://shop.example', 'http://localhost:3000']);
    expect(await verifyAdminSecret(db, store?.id ?? '', adminSecret ?? '')).toBe(true);
    expect(await verifyAdminSecret(db, store?.id ?? '', `${adminSecret}0`)).toBe(false);
  });

  // Each refusal is a separate process; they run side by side.
  it.concurrent.each([
    [[], /--name/],
    [['--origin', 'https://a.example'], /--name/],
    [['--name', 'No origin'], /--origin/],
    [['--name', '   ', '--origin', 'https://a.example'], /--name/],
    [['--name', 'x', '--origin', 'http://shop.example'], /must use https:\/\//],
    [['--name', 'x', '--origin', 'https://shop.example/cart'], /bare origin/],
    [['--name', 'x', '--origin', 'https://a.example', '--colour', 'red'], /--colour/],
    [['--name', 'x', '--origin', 'https://a.example', 'extra'], /extra/],
    [['--name'], /--name/],
  ])('refuses `store create %j` in one line and creates nothing', async (args, reason) => {
    const before = await db
      .selectFrom('stores')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const result = await runCli(['store', 'create', ...args], env());
    expect(expectOneLineRefusal(result)).toMatch(reason);
    const after = await db
      .selectFrom('stores')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it.concurrent.each([
    [['migrate']],
    [['store', 'create', '--name', 'x', '--origin', 'https://a.example']],
  ])('`%j` without DATABASE_URL says so in one line', async (args) => {
    const result = await runCli(args, {});
    expect(expectOneLineRefusal(result)).toMatch(/DATABASE_URL is required/);
  });
});
