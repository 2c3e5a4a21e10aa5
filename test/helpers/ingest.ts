import { randomInt } from 'node:crypto';
import { buildApp, loadConfig } from '@winback/server';
import { createDb, type Db, migrateToLatest, ulidTimePrefix } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import { sql } from 'kysely';
import { afterAll, beforeAll } from 'vitest';

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A fresh ULID for an event id, with today's time part (so it lands in a month partition). */
export function eventId(): string {
  let random = '';
  for (let i = 0; i < 16; i += 1) random += crockford.charAt(randomInt(32));
  return ulidTimePrefix(Date.now()) + random;
}

const envelope = () => ({
  id: eventId(),
  ts: Date.UTC(2026, 10, 23, 12, 0, 0, randomInt(1000)),
  sessionId: 'session_0001',
  anonymousId: 'anon_000001',
});

/** A valid `cart_updated` event with one line; `title` lets a test make it bigger. */
export function cartUpdated(title = 'Blue mug'): TrackedEvent {
  return {
    ...envelope(),
    cartId: 'cart-1',
    type: 'cart_updated',
    cart: {
      currency: 'EUR',
      subtotal: 1200,
      lines: [{ id: 'line-1', title, quantity: 2, unitPrice: 600 }],
    },
  };
}

/** A valid `page_view` event. */
export function pageView(): TrackedEvent {
  return { ...envelope(), type: 'page_view', page: { url: 'https://shop.example/products/mug' } };
}

/** A batch frame as the sdk sends it. */
export function batch(seq: number, events: readonly unknown[]): string {
  return JSON.stringify({ t: 'batch', seq, events });
}

export interface StoredEvent {
  id: string;
  type: string;
  ts: Date;
  received_at: Date;
  session_id: string | null;
  anonymous_id: string | null;
  cart_id: string | null;
  payload: Record<string, unknown>;
}

/** Every stored event of a store, by id. */
export async function storedEvents(db: Db, storeId: string): Promise<Map<string, StoredEvent>> {
  const rows = await db
    .selectFrom('events')
    .select(['id', 'type', 'ts', 'received_at', 'session_id', 'anonymous_id', 'cart_id', 'payload'])
    .where('store_id', '=', storeId)
    .execute();
  return new Map(rows.map((row) => [row.id, row]));
}

/** How many rows each of `ids` has, for this store (0 when absent). */
export async function rowCounts(
  db: Db,
  storeId: string,
  ids: readonly string[],
): Promise<number[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: string; n: number }>`
    select id, count(*)::int as n from events
    where store_id = ${storeId} and id = any(${[...ids]}::text[])
    group by id`.execute(db);
  const counts = new Map(rows.map((row) => [row.id, row.n]));
  return ids.map((id) => counts.get(id) ?? 0);
}

/** The row an event must become: envelope fields in columns, the rest in `payload`. */
export function expectedRow(event: TrackedEvent) {
  const { id, type, ts, sessionId, anonymousId, cartId, ...payload } = event;
  return {
    id,
    type,
    ts: new Date(ts),
    session_id: sessionId,
    anonymous_id: anonymousId,
    cart_id: cartId ?? null,
    payload,
  };
}

/**
 * Gives a suite a migrated database and the real app on it, made before its tests and closed
 * after them. Read `.db` and `.app` inside tests or hooks.
 */
export function useIngestApp(database: { readonly url: string }, enabled: boolean) {
  const state = {} as { db: Db; app: Awaited<ReturnType<typeof buildApp>> };
  beforeAll(async () => {
    if (!enabled) return;
    state.db = createDb(database.url, 4);
    await migrateToLatest(state.db);
    state.app = await buildApp(loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' }));
  });
  afterAll(async () => {
    await state.app?.close();
    await state.db?.destroy();
  });
  return state;
}
