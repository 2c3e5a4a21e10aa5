import {
  AppError,
  createStore,
  findStoreById,
  findStoreByPublicKey,
  listStores,
  revokeStore,
  updateAllowedOrigins,
  verifyAdminSecret,
} from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs, useFreshDatabase } from './helpers/services.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

async function storeCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('stores')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return row.n;
}

async function rejection(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe.skipIf(!pgUrl)('stores repository', () => {
  let db: Db;

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('creates a store with a pk_ public key and an sk_ admin secret it keeps only hashed', async () => {
    const { store, adminSecret } = await createStore(db, {
      name: '  My Shop ',
      allowedOrigins: ['https://Shop.Example/', 'http://localhost:3000'],
    });
    expect(store.name).toBe('My Shop');
    expect(store.public_key).toMatch(/^pk_[A-Za-z0-9_-]{24,}$/);
    expect(adminSecret).toMatch(/^sk_[A-Za-z0-9_-]{32,}$/);
    expect(store.allowed_origins).toEqual(['https://shop.example', 'http://localhost:3000']);
    expect(store.revoked_at).toBeNull();
    expect(store.settings.idleThresholdMinutes).toBe(30);
    // The digest never leaves the repository.
    expect(Object.keys(store)).not.toContain('secret_hash');

    // Nowhere in the row, in any encoding a dump would show, is the secret.
    const { rows } = await sql<{ row: string }>`
      select row_to_json(s)::text as row from stores s where id = ${store.id}`.execute(db);
    const dumped = rows[0]?.row ?? '';
    expect(dumped).toContain(store.public_key);
    expect(dumped).not.toContain(adminSecret);
    expect(dumped).not.toContain(adminSecret.slice(3));
    expect(dumped).not.toContain(Buffer.from(adminSecret).toString('hex'));
  });

  it('gives every store its own keys', async () => {
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createStore(db, { name: `Shop ${i}`, allowedOrigins: ['https://a.example'] }),
      ),
    );
    expect(new Set(made.map((m) => m.store.public_key)).size).toBe(20);
    expect(new Set(made.map((m) => m.adminSecret)).size).toBe(20);
  });

  it('verifies the right admin secret and nothing else', async () => {
    const one = await createStore(db, { name: 'One', allowedOrigins: ['https://one.example'] });
    const two = await createStore(db, { name: 'Two', allowedOrigins: ['https://two.example'] });
    expect(await verifyAdminSecret(db, one.store.id, one.adminSecret)).toBe(true);
    expect(await verifyAdminSecret(db, one.store.id, two.adminSecret)).toBe(false);
    expect(await verifyAdminSecret(db, two.store.id, one.adminSecret)).toBe(false);
    expect(await verifyAdminSecret(db, one.store.id, `${one.adminSecret}x`)).toBe(false);
    expect(await verifyAdminSecret(db, one.store.id, one.adminSecret.slice(0, -1))).toBe(false);
    expect(await verifyAdminSecret(db, one.store.id, '')).toBe(false);
    expect(await verifyAdminSecret(db, 'not-a-uuid', one.adminSecret)).toBe(false);
    expect(
      await verifyAdminSecret(db, '00000000-0000-4000-8000-000000000000', one.adminSecret),
    ).toBe(false);
    await fc.assert(
      fc.asyncProperty(fc.string(), async (guess) => {
        fc.pre(guess !== one.adminSecret);
        expect(await verifyAdminSecret(db, one.store.id, guess)).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('finds live stores by public key and id; garbage finds nothing', async () => {
    const { store } = await createStore(db, { name: 'Find me', allowedOrigins: [] });
    expect((await findStoreByPublicKey(db, store.public_key))?.id).toBe(store.id);
    expect((await findStoreById(db, store.id))?.public_key).toBe(store.public_key);
    for (const key of ['', 'pk_', 'sk_whatever', `${store.public_key}x`, "pk_' or 1=1 --"]) {
      expect(await findStoreByPublicKey(db, key)).toBeUndefined();
    }
    expect(await findStoreById(db, 'nope')).toBeUndefined();
    expect(await findStoreById(db, '00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('revokes a store: its key no longer resolves and its secret no longer verifies', async () => {
    const { store, adminSecret } = await createStore(db, {
      name: 'Closing down',
      allowedOrigins: ['https://closing.example'],
    });
    const revoked = await revokeStore(db, store.id);
    expect(revoked?.revoked_at).toBeInstanceOf(Date);
    expect(await findStoreByPublicKey(db, store.public_key)).toBeUndefined();
    expect(await verifyAdminSecret(db, store.id, adminSecret)).toBe(false);
    // Still visible to the operator, and revoking twice keeps the first time.
    expect((await findStoreById(db, store.id))?.revoked_at).toEqual(revoked?.revoked_at);
    expect((await revokeStore(db, store.id))?.revoked_at).toEqual(revoked?.revoked_at);
    expect(await revokeStore(db, '00000000-0000-4000-8000-000000000000')).toBeUndefined();

    const live = await listStores(db);
    const all = await listStores(db, { includeRevoked: true });
    expect(live.map((s) => s.id)).not.toContain(store.id);
    expect(all.map((s) => s.id)).toContain(store.id);
    expect(all.length).toBe(live.length + all.filter((s) => s.revoked_at !== null).length);
    for (const listed of all) expect(Object.keys(listed)).not.toContain('secret_hash');
  });

  it('refuses a bad name with a validation error and stores nothing', async () => {
    const before = await storeCount(db);
    for (const name of ['', '   ', 'x'.repeat(201)]) {
      const error = await rejection(createStore(db, { name, allowedOrigins: [] }));
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('WB_ERR_VALIDATION');
    }
    expect(await storeCount(db)).toBe(before);
  });

  it('stores only valid origins, normalised, and refuses the whole store otherwise', async () => {
    const host = fc.stringMatching(/^[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}$/);
    const origin = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc
        .tuple(
          fc.constantFrom('https://', 'HTTPS://', 'http://', 'ftp://', 'https:'),
          fc.oneof(host, fc.constantFrom('localhost', '127.0.0.1', '127.1')),
          fc.constantFrom('', '/', ':8443', ':443', '/path', '?q', ' '),
        )
        .map((parts) => parts.join('')),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(origin, { minLength: 1, maxLength: 3 }), async (origins) => {
        const before = await storeCount(db);
        try {
          const { store } = await createStore(db, { name: 'Origins', allowedOrigins: origins });
          const expected = [...new Set(origins.map((o) => new URL(o.trim()).origin))];
          expect(store.allowed_origins).toEqual(expected);
          for (const stored of store.allowed_origins) {
            expect(stored).toMatch(
              /^(https:\/\/[a-z0-9.-]+|http:\/\/(localhost|127\.0\.0\.1))(:[0-9]+)?$/,
            );
          }
          expect(await storeCount(db)).toBe(before + 1);
        } catch (error) {
          expect(error).toBeInstanceOf(AppError);
          expect((error as AppError).code).toBe('WB_ERR_VALIDATION');
          expect((error as AppError).message).toMatch(/^origin "/);
          expect(await storeCount(db)).toBe(before);
        }
      }),
      { numRuns: 150 },
    );
    const error = await rejection(
      createStore(db, { name: 'Plain http', allowedOrigins: ['http://shop.example'] }),
    );
    expect((error as AppError).message).toContain('must use https://');
  });

  it('replaces allowed origins with checked, normalised ones', async () => {
    const { store } = await createStore(db, { name: 'Moves', allowedOrigins: [] });
    const updated = await updateAllowedOrigins(db, store.id, [
      'https://New.Example/',
      'https://new.example:443',
    ]);
    expect(updated?.allowed_origins).toEqual(['https://new.example']);
    const error = await rejection(updateAllowedOrigins(db, store.id, ['https://x.example/cart']));
    expect((error as AppError).code).toBe('WB_ERR_VALIDATION');
    expect((await findStoreById(db, store.id))?.allowed_origins).toEqual(['https://new.example']);
  });
});
