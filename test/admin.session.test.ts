import { createHash } from 'node:crypto';
import { buildApp, createStore, loadConfig, revokeStore, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ORIGIN, freshAddress, signIn } from './helpers/admin.js';
import { needs, useFreshDatabase } from './helpers/services.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

type App = Awaited<ReturnType<typeof buildApp>>;

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

describe.skipIf(!pgUrl)('admin sessions', () => {
  let db: Db;
  let app: App;
  const made: { store: Store; adminSecret: string }[] = [];
  const newStore = async (name = 'Shop') => {
    const created = await createStore(db, { name, allowedOrigins: ['https://shop.example'] });
    made.push(created);
    return created;
  };

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    app = await buildApp(
      loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', PUBLIC_URL: ADMIN_ORIGIN }),
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  const login = (
    body: unknown,
    headers: Record<string, string> = { origin: ADMIN_ORIGIN },
    address = freshAddress(),
  ) =>
    app.inject({
      method: 'POST',
      url: '/admin/api/session',
      headers: { 'x-forwarded-for': address, ...headers },
      ...(typeof body === 'string' ? { body } : { payload: body as object }),
    });
  const whoAmI = (cookie?: string) =>
    app.inject({
      method: 'GET',
      url: '/admin/api/session',
      headers: cookie === undefined ? {} : { cookie },
    });
  const logout = (cookie: string | undefined, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'DELETE',
      url: '/admin/api/session',
      headers: { origin: ADMIN_ORIGIN, ...(cookie ? { cookie } : {}), ...headers },
    });
  const auditOf = async (storeId: string) =>
    db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'subject'])
      .where('store_id', '=', storeId)
      .orderBy('id')
      .execute();

  it('signs in with the store admin secret: a session cookie with the right flags, only its digest stored', async () => {
    const { store, adminSecret } = await newStore('Sunrise Mugs');
    const response = await login({ storeId: store.id, secret: adminSecret });

    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json();
    expect(body).toEqual({
      storeId: store.id,
      storeName: 'Sunrise Mugs',
      expiresAt: expect.any(String),
    });
    const cookies = response.cookies.filter((cookie) => cookie.name === 'wb_admin');
    expect(cookies).toHaveLength(1);
    const cookie = cookies[0]!;
    expect(cookie).toMatchObject({
      path: '/admin',
      httpOnly: true,
      secure: true,
      sameSite: 'Strict',
      maxAge: 12 * 60 * 60,
    });
    // 256 random bits, and the database holds the digest only.
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await db
      .selectFrom('admin_sessions')
      .selectAll()
      .where('store_id', '=', store.id)
      .execute();
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.token_hash).toBe(digest(cookie.value));
    expect(JSON.stringify(rows)).not.toContain(cookie.value);
    const lifetime = row.expires_at.getTime() - row.created_at.getTime();
    expect(lifetime).toBe(12 * 60 * 60 * 1000);
    expect(new Date(body.expiresAt).getTime()).toBe(row.expires_at.getTime());

    const me = await whoAmI(`wb_admin=${cookie.value}`);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual(body);
    expect(await auditOf(store.id)).toEqual([
      { actor: 'admin', action: 'session.create', subject: row.id },
    ]);
  });

  it('refuses a wrong secret, another store’s secret and an unknown store alike: 401, no cookie, no session', async () => {
    const one = await newStore();
    const two = await newStore();
    for (const body of [
      { storeId: one.store.id, secret: two.adminSecret },
      { storeId: one.store.id, secret: `${one.adminSecret}x` },
      { storeId: one.store.id, secret: one.adminSecret.slice(0, -1) },
      { storeId: '00000000-0000-4000-8000-000000000000', secret: one.adminSecret },
    ]) {
      const response = await login(body);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        error: { code: 'WB_ERR_BAD_CREDENTIALS', message: expect.any(String) },
      });
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    const sessions = await db
      .selectFrom('admin_sessions')
      .select('id')
      .where('store_id', 'in', [one.store.id, two.store.id])
      .execute();
    expect(sessions).toEqual([]);
    expect(await auditOf(one.store.id)).toEqual([]);
  });

  it('refuses a revoked store’s secret', async () => {
    const { store, adminSecret } = await newStore();
    await revokeStore(db, store.id);
    const response = await login({ storeId: store.id, secret: adminSecret });
    expect(response.statusCode).toBe(401);
  });

  it('answers any malformed sign-in with a 4xx JSON error, never a 5xx and never a cookie', async () => {
    const { store, adminSecret } = await newStore();
    const notTheSecret = fc.string({ maxLength: 300 }).filter((text) => text !== adminSecret);
    const body = fc.oneof(
      // Any JSON value at all.
      fc.jsonValue().map((value) => JSON.stringify(value)),
      // The right shape with wrong or odd values.
      fc.record({
        storeId: fc.oneof(fc.constant(store.id), fc.uuid(), fc.string({ maxLength: 60 })),
        secret: notTheSecret,
      }),
      fc.record(
        { storeId: fc.anything(), secret: fc.anything(), extra: fc.anything() },
        { requiredKeys: [] },
      ),
      // The right store and secret plus keys that have no business there.
      fc
        .dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue(), { minKeys: 1 })
        .filter((extra) => !('storeId' in extra) && !('secret' in extra))
        .map((extra) => ({ storeId: store.id, secret: adminSecret, ...extra })),
      // Not JSON.
      fc.string({ maxLength: 200 }),
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
    );
    await fc.assert(
      fc.asyncProperty(body, contentType, async (value, type) => {
        const response = await app.inject({
          method: 'POST',
          url: '/admin/api/session',
          headers: {
            origin: ADMIN_ORIGIN,
            'content-type': type,
            'x-forwarded-for': freshAddress(),
          },
          body: typeof value === 'string' ? value : JSON.stringify(value),
        });
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expect(response.json().error.code).toMatch(/^WB_ERR_[A-Z_]+$/);
        expect(response.headers['set-cookie']).toBeUndefined();
      }),
      { numRuns: 150 },
    );
    const sessions = await db
      .selectFrom('admin_sessions')
      .select('id')
      .where('store_id', '=', store.id)
      .execute();
    expect(sessions).toEqual([]);
  });

  it('refuses cross-origin writes with 403 and takes same-origin ones', async () => {
    const { store, adminSecret } = await newStore();
    const body = { storeId: store.id, secret: adminSecret };
    const refused: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'https://shop.admin.winback.test' },
      { origin: 'http://admin.winback.test' },
      { origin: 'null' },
      // No Origin and nothing saying the request came from this origin.
      {},
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      // A same-site page may not borrow the right Origin's trust either.
      { origin: ADMIN_ORIGIN, 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of refused) {
      const response = await login(body, headers);
      expect(response.statusCode, JSON.stringify(headers)).toBe(403);
      expect(response.json().error.code).toBe('WB_ERR_CROSS_ORIGIN');
      expect(response.headers['set-cookie']).toBeUndefined();
    }

    // A browser that sent no Origin but says, through Fetch Metadata, that it is this origin.
    const sameOrigin = await login(body, { 'sec-fetch-site': 'same-origin' });
    expect(sameOrigin.statusCode).toBe(201);
    const withOrigin = await login(body, { origin: ADMIN_ORIGIN, 'sec-fetch-site': 'same-origin' });
    expect(withOrigin.statusCode).toBe(201);

    // Signing out cross-origin is refused too, and the session stays.
    const { cookie } = await signIn(app, store.id, adminSecret);
    const crossLogout = await logout(cookie, { origin: 'https://evil.example' });
    expect(crossLogout.statusCode).toBe(403);
    expect((await whoAmI(cookie)).statusCode).toBe(200);
  });

  it('answers 401 WB_ERR_UNAUTHENTICATED without a session, with a made-up one, and after sign-out', async () => {
    const { store, adminSecret } = await newStore();
    for (const cookie of [
      undefined,
      'wb_admin=',
      'wb_admin=nonsense',
      `wb_admin=${'A'.repeat(43)}`,
      'other=1',
    ]) {
      const response = await whoAmI(cookie);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        error: { code: 'WB_ERR_UNAUTHENTICATED', message: expect.any(String) },
      });
    }

    const { cookie, token } = await signIn(app, store.id, adminSecret);
    const sessionId = (
      await db
        .selectFrom('admin_sessions')
        .select('id')
        .where('token_hash', '=', digest(token))
        .executeTakeFirstOrThrow()
    ).id;
    const out = await logout(cookie);
    expect(out.statusCode).toBe(204);
    const cleared = out.cookies.find((item) => item.name === 'wb_admin');
    expect(cleared).toMatchObject({ value: '', path: '/admin', httpOnly: true });
    expect(cleared?.expires?.getTime()).toBeLessThanOrEqual(Date.now());
    expect((await whoAmI(cookie)).statusCode).toBe(401);
    expect(
      await db.selectFrom('admin_sessions').select('id').where('id', '=', sessionId).execute(),
    ).toEqual([]);
    expect(await auditOf(store.id)).toEqual([
      { actor: 'admin', action: 'session.create', subject: sessionId },
      { actor: 'admin', action: 'session.delete', subject: sessionId },
    ]);

    // Signing out again, or without any session, still answers 204 and changes nothing.
    expect((await logout(cookie)).statusCode).toBe(204);
    expect((await logout(undefined)).statusCode).toBe(204);
    expect(await auditOf(store.id)).toHaveLength(2);
  });

  it('refuses an expired session, and prunes expired sessions at the next sign-in', async () => {
    const { store, adminSecret } = await newStore();
    const { cookie, token } = await signIn(app, store.id, adminSecret);
    expect((await whoAmI(cookie)).statusCode).toBe(200);
    await db
      .updateTable('admin_sessions')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('token_hash', '=', digest(token))
      .execute();

    const response = await whoAmI(cookie);
    expect(response.statusCode).toBe(401);
    expect(response.json().error.code).toBe('WB_ERR_UNAUTHENTICATED');

    await signIn(app, store.id, adminSecret);
    const left = await db
      .selectFrom('admin_sessions')
      .select('token_hash')
      .where('store_id', '=', store.id)
      .execute();
    expect(left).toHaveLength(1);
    expect(left[0]?.token_hash).not.toBe(digest(token));
  });

  it('ends the sessions of a store that is revoked', async () => {
    const { store, adminSecret } = await newStore();
    const { cookie } = await signIn(app, store.id, adminSecret);
    await revokeStore(db, store.id);
    expect((await whoAmI(cookie)).statusCode).toBe(401);
  });

  it('limits sign-in attempts per client address, even with the right secret', async () => {
    const { store, adminSecret } = await newStore();
    const address = freshAddress();
    const wrong = { storeId: store.id, secret: 'sk_wrong' };
    for (let attempt = 0; attempt < 10; attempt += 1) {
      expect((await login(wrong, undefined, address)).statusCode).toBe(401);
    }
    const limited = await login({ storeId: store.id, secret: adminSecret }, undefined, address);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('WB_ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['set-cookie']).toBeUndefined();
    // Another address is not held back by it.
    expect((await login({ storeId: store.id, secret: adminSecret })).statusCode).toBe(201);
  });

  it('limits sign-in attempts per store, from however many addresses', async () => {
    const { store, adminSecret } = await newStore();
    const other = await newStore();
    for (let attempt = 0; attempt < 20; attempt += 1) {
      expect((await login({ storeId: store.id, secret: 'sk_guess' })).statusCode).toBe(401);
    }
    const limited = await login({ storeId: store.id, secret: adminSecret });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['set-cookie']).toBeUndefined();
    // Other stores sign in as usual.
    expect((await login({ storeId: other.store.id, secret: other.adminSecret })).statusCode).toBe(
      201,
    );
  });

  it('keeps the admin page public and unchanged', async () => {
    const response = await app.inject('/admin');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.body).toContain('<title>Winback admin</title>');
  });
});

describe.skipIf(!pgUrl)('admin sessions over plain http', () => {
  let db: Db;
  let app: App;

  beforeAll(async () => {
    db = createDb(database.url, 2);
    await migrateToLatest(db);
    app = await buildApp(
      loadConfig({
        DATABASE_URL: database.url,
        LOG_LEVEL: 'silent',
        PUBLIC_URL: 'http://127.0.0.1:3000',
      }),
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  it('sets the cookie without Secure when PUBLIC_URL is http, and checks writes against that origin', async () => {
    const { store, adminSecret } = await createStore(db, {
      name: 'Local shop',
      allowedOrigins: ['http://localhost:5173'],
    });
    const send = (origin: string) =>
      app.inject({
        method: 'POST',
        url: '/admin/api/session',
        headers: { origin, 'x-forwarded-for': freshAddress() },
        payload: { storeId: store.id, secret: adminSecret },
      });
    expect((await send(ADMIN_ORIGIN)).statusCode).toBe(403);
    const response = await send('http://127.0.0.1:3000');
    expect(response.statusCode).toBe(201);
    const cookie = response.cookies.find((item) => item.name === 'wb_admin');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });
    expect(cookie?.secure).toBeFalsy();
  });
});
