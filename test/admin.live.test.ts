import { createHash } from 'node:crypto';
import { buildApp, createStore, loadConfig, revokeStore, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ORIGIN, collect, openAdminFeed, signIn } from './helpers/admin.js';
import { cartUpdated } from './helpers/ingest.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';
import type { Conversation } from './helpers/websocket.js';

const pgUrl = needs('postgres');
const redisUrl = needs('redis');
const database = useFreshDatabase(pgUrl);

type App = Awaited<ReturnType<typeof buildApp>>;

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** A listening app; `feed` is the live feed's ws:// URL. */
async function startNode(
  env: Record<string, string>,
  options: Parameters<typeof buildApp>[1] = {},
): Promise<{ app: App; feed: string }> {
  const app = await buildApp(
    loadConfig({ LOG_LEVEL: 'silent', PUBLIC_URL: ADMIN_ORIGIN, ...env }),
    options,
  );
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, feed: `${address.replace(/^http/, 'ws')}/admin/live` };
}

/** A feed that must open; resolves once the server says it is live. */
async function follow(feed: string, cookie: string): Promise<Conversation> {
  const upgrade = await openAdminFeed(feed, { origin: ADMIN_ORIGIN, cookie });
  if (!upgrade.opened) throw new Error(`feed refused: ${upgrade.status} ${upgrade.body}`);
  expect(await upgrade.conversation.next()).toEqual({ t: 'ready' });
  return upgrade.conversation;
}

/** A store with its own storefront origin, and a signed-in admin of it. */
async function storeWithAdmin(db: Db, app: App, name: string) {
  const origin = `https://${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
  const { store, adminSecret } = await createStore(db, { name, allowedOrigins: [origin] });
  const { cookie, token } = await signIn(app, store.id, adminSecret);
  return { store, adminSecret, cookie, token };
}

/** The cart row a live `cart` message must mirror. */
async function cartRow(db: Db, store: Store, externalId: string) {
  return db
    .selectFrom('carts')
    .select(['id', 'external_id', 'status', 'score', 'value_minor', 'line_count', 'idle_due_at'])
    .where('store_id', '=', store.id)
    .where('external_id', '=', externalId)
    .executeTakeFirstOrThrow();
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
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

function cartEvent(cartId: string, title = 'Blue mug') {
  return { ...cartUpdated(title), cartId };
}

describe.skipIf(!pgUrl)('admin live feed (one node, in-process bus)', () => {
  let db: Db;
  let node: { app: App; feed: string };

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    node = await startNode({ DATABASE_URL: database.url });
  });
  afterAll(async () => {
    await node?.app.close();
    await db?.destroy();
  });

  it('refuses the upgrade without a session (401), from another origin or none (403), with an expired session (401)', async () => {
    const { cookie, token } = await storeWithAdmin(db, node.app, 'Refusals');

    const noCookie = await openAdminFeed(node.feed, { origin: ADMIN_ORIGIN });
    expect(noCookie).toMatchObject({ opened: false, status: 401 });
    if (!noCookie.opened) {
      expect(JSON.parse(noCookie.body).error.code).toBe('WB_ERR_UNAUTHENTICATED');
    }
    const madeUp = await openAdminFeed(node.feed, {
      origin: ADMIN_ORIGIN,
      cookie: `wb_admin=${'x'.repeat(43)}`,
    });
    expect(madeUp).toMatchObject({ opened: false, status: 401 });

    for (const origin of ['https://evil.example', 'https://shop.admin.winback.test', undefined]) {
      const crossSite = await openAdminFeed(node.feed, {
        ...(origin === undefined ? {} : { origin }),
        cookie,
      });
      expect(crossSite, String(origin)).toMatchObject({ opened: false, status: 403 });
      if (!crossSite.opened) {
        expect(JSON.parse(crossSite.body).error.code).toBe('WB_ERR_CROSS_ORIGIN');
      }
    }

    await db
      .updateTable('admin_sessions')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('token_hash', '=', digest(token))
      .execute();
    const expired = await openAdminFeed(node.feed, { origin: ADMIN_ORIGIN, cookie });
    expect(expired).toMatchObject({ opened: false, status: 401 });
  });

  it('answers a plain GET (no upgrade) with 400', async () => {
    const { cookie } = await storeWithAdmin(db, node.app, 'Plain get');
    const response = await node.app.inject({
      method: 'GET',
      url: '/admin/live',
      headers: { origin: ADMIN_ORIGIN, cookie },
    });
    expect(response.statusCode).toBe(400);
  });

  it('streams the store’s cart updates as events arrive through /v1/collect, ids and numbers only', async () => {
    const { store, cookie } = await storeWithAdmin(db, node.app, 'Live one');
    const feed = await follow(node.feed, cookie);

    await collect(node.app, store, [cartEvent('cart-live-1', 'Rose gold earrings for Jane Doe')]);
    const message = await feed.next();
    const row = await cartRow(db, store, 'cart-live-1');
    expect(message).toEqual({
      t: 'cart',
      cart: {
        id: row.id,
        externalId: 'cart-live-1',
        status: row.status,
        score: row.score,
        valueMinor: row.value_minor,
        lineCount: row.line_count,
        idleDueAt: row.idle_due_at?.toISOString() ?? null,
      },
    });
    expect(row.value_minor).toBe(1200);
    expect(JSON.stringify(message)).not.toMatch(/Jane|earrings|anon_|session_/);

    // A second batch, a second update of the same cart.
    await collect(node.app, store, [cartEvent('cart-live-1')]);
    expect(await feed.next()).toMatchObject({ t: 'cart', cart: { id: row.id } });
    feed.socket.close();
    await feed.closed;
  });

  it('never sends one store’s carts to another store’s admin', async () => {
    const mine = await storeWithAdmin(db, node.app, 'Mine');
    const theirs = await storeWithAdmin(db, node.app, 'Theirs');
    const feed = await follow(node.feed, mine.cookie);
    const theirFeed = await follow(node.feed, theirs.cookie);

    // Their events first: had they leaked, they would be the next message on my feed.
    await collect(node.app, theirs.store, [cartEvent('their-cart')]);
    expect(await theirFeed.next()).toMatchObject({
      t: 'cart',
      cart: { externalId: 'their-cart' },
    });
    await collect(node.app, mine.store, [cartEvent('my-cart')]);
    expect(await feed.next()).toMatchObject({ t: 'cart', cart: { externalId: 'my-cart' } });
    feed.socket.close();
    theirFeed.socket.close();
  });

  it('carries what workers publish through app.live, and nothing but the feed’s own fields', async () => {
    const { store, cookie } = await storeWithAdmin(db, node.app, 'Workers');
    const feed = await follow(node.feed, cookie);
    const cartId = '0b6f3f5e-7c2a-4d7e-9a51-3d1e6c2f9a10';
    const messageId = '5d7c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d';

    node.app.live.publish(store.id, {
      t: 'decision',
      cartId,
      kind: 'abandoned',
      enrolment: 'enrolled',
      // A field added by mistake never reaches the browser.
      email: 'jane@example.com',
    } as never);
    node.app.live.publish(
      store.id,
      // Not the feed's shape: dropped whole.
      { t: 'message', messageId, cartId, status: 'exploded' } as never,
      { t: 'message', messageId, cartId, status: 'sent' },
    );
    expect(await feed.next()).toEqual({
      t: 'decision',
      cartId,
      kind: 'abandoned',
      enrolment: 'enrolled',
    });
    expect(await feed.next()).toEqual({ t: 'message', messageId, cartId, status: 'sent' });
    feed.socket.close();
  });

  it('closes the feeds of a session when it signs out, and only those', async () => {
    const { store, adminSecret, cookie } = await storeWithAdmin(db, node.app, 'Sign out');
    const other = await signIn(node.app, store.id, adminSecret);
    const feed = await follow(node.feed, cookie);
    const otherFeed = await follow(node.feed, other.cookie);

    const out = await node.app.inject({
      method: 'DELETE',
      url: '/admin/api/session',
      headers: { origin: ADMIN_ORIGIN, cookie },
    });
    expect(out.statusCode).toBe(204);
    expect(await feed.closed).toEqual({ code: 4401, reason: 'signed out' });

    // The other session's feed still follows the store.
    await collect(node.app, store, [cartEvent('after-sign-out')]);
    expect(await otherFeed.next()).toMatchObject({
      t: 'cart',
      cart: { externalId: 'after-sign-out' },
    });
    otherFeed.socket.close();
  });

  it('does no work for a store nobody watches, and stops once its last admin leaves', async () => {
    const { store, cookie } = await storeWithAdmin(db, node.app, 'Unwatched');
    expect(node.app.live.watched(store.id)).toBe(false);
    const feed = await follow(node.feed, cookie);
    expect(node.app.live.watched(store.id)).toBe(true);
    feed.socket.close();
    await feed.closed;
    await expect.poll(() => node.app.live.watched(store.id), { timeout: 10_000 }).toBe(false);
  });

  it('closes an open feed once its store is revoked, though the revocation came from elsewhere', async () => {
    // A node that checks its feeds' sessions often; the revocation is a plain database write,
    // as `winback store revoke` makes from its own process.
    const quick = await startNode({ DATABASE_URL: database.url }, { liveHeartbeatMs: 100 });
    try {
      const revoked = await storeWithAdmin(db, quick.app, 'Revoked live');
      const kept = await storeWithAdmin(db, quick.app, 'Kept live');
      const feed = await follow(quick.feed, revoked.cookie);
      const keptFeed = await follow(quick.feed, kept.cookie);
      await revokeStore(db, revoked.store.id);
      expect(await feed.closed).toEqual({ code: 4401, reason: 'session ended' });

      // The other store's feed keeps following.
      await collect(quick.app, kept.store, [cartEvent('still-watched')]);
      expect(await keptFeed.next()).toMatchObject({
        t: 'cart',
        cart: { externalId: 'still-watched' },
      });
      keptFeed.socket.close();
    } finally {
      await quick.app.close();
    }
  });
});

describe.skipIf(!pgUrl || !redisUrl)(
  'admin live feed across nodes (BullMQ mode, Redis pub/sub)',
  () => {
    let db: Db;
    let nodeA: { app: App; feed: string };
    let nodeB: { app: App; feed: string };
    const prefix = uniqueName('wb_live');

    beforeAll(async () => {
      db = createDb(database.url, 4);
      await migrateToLatest(db);
      // Two nodes of one deployment: same database, same Redis, same prefix.
      const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl!, QUEUE_PREFIX: prefix };
      nodeA = await startNode(env);
      nodeB = await startNode(env);
    });
    afterAll(async () => {
      await nodeA?.app.close();
      await nodeB?.app.close();
      await db?.destroy();
      // The idle timers the ingested carts armed.
      if (redisUrl) await deleteKeys(redisUrl, prefix);
    });

    it('brings an event ingested on node A to an admin connected to node B, and never another store’s', async () => {
      // Signed in on A, watching on B: the session lives in Postgres, not in a node.
      const mine = await storeWithAdmin(db, nodeA.app, 'Across nodes');
      const theirs = await storeWithAdmin(db, nodeA.app, 'Across nodes other');
      const feed = await follow(nodeB.feed, mine.cookie);
      const theirFeed = await follow(nodeB.feed, theirs.cookie);

      await collect(nodeA.app, theirs.store, [cartEvent('their-cart')]);
      expect(await theirFeed.next()).toMatchObject({
        t: 'cart',
        cart: { externalId: 'their-cart' },
      });

      await collect(nodeA.app, mine.store, [cartEvent('cart-from-a')]);
      const row = await cartRow(db, mine.store, 'cart-from-a');
      expect(await feed.next()).toEqual({
        t: 'cart',
        cart: {
          id: row.id,
          externalId: 'cart-from-a',
          status: row.status,
          score: row.score,
          valueMinor: row.value_minor,
          lineCount: row.line_count,
          idleDueAt: row.idle_due_at?.toISOString() ?? null,
        },
      });

      // What a worker publishes on any process reaches it too.
      nodeA.app.live.publish(mine.store.id, {
        t: 'decision',
        cartId: row.id,
        kind: 'abandoned',
        enrolment: 'no_channel',
      });
      expect(await feed.next()).toEqual({
        t: 'decision',
        cartId: row.id,
        kind: 'abandoned',
        enrolment: 'no_channel',
      });
      feed.socket.close();
      theirFeed.socket.close();
    });

    it('closes a feed on node B when its session signs out on node A', async () => {
      const { cookie } = await storeWithAdmin(db, nodeA.app, 'Sign out across');
      const feed = await follow(nodeB.feed, cookie);
      const out = await nodeA.app.inject({
        method: 'DELETE',
        url: '/admin/api/session',
        headers: { origin: ADMIN_ORIGIN, cookie },
      });
      expect(out.statusCode).toBe(204);
      expect(await feed.closed).toEqual({ code: 4401, reason: 'signed out' });
    });
  },
);
