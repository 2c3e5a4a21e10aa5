import type { TrackedEvent } from '@winback/shared';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

/**
 * Records events for one store in ONE statement and returns how many were new. See
 * `insertNewEvents`, which it wraps.
 *
 * @example
 *   const stored = await db.transaction().execute((trx) => insertEvents(trx, storeId, events, now));
 */
export async function insertEvents(
  db: Kysely<Database>,
  storeId: string,
  events: readonly TrackedEvent[],
  receivedAt: Date,
): Promise<number> {
  return (await insertNewEvents(db, storeId, events, receivedAt)).length;
}

/**
 * Records events for one store in ONE statement and returns the ids of those that were new. A resent event
 * (same `(store_id, id)`) is skipped by `on conflict do nothing`, so retries never double rows.
 * Pass a transaction when the caller acks only after COMMIT.
 *
 * `unnest` of one array per column keeps the statement at nine parameters however many events
 * there are, so a batch never meets Postgres's parameter limit and the plan is the same for
 * every batch size. `receivedAt` is one time for all the events or one per event (the batch
 * writer's frames arrived at different times).
 *
 * @example
 *   const newIds = await insertNewEvents(trx, storeId, events, now);
 */
export async function insertNewEvents(
  db: Kysely<Database>,
  storeId: string,
  events: readonly TrackedEvent[],
  receivedAt: Date | readonly Date[],
): Promise<string[]> {
  if (events.length === 0) return [];
  const arrivals = Array.isArray(receivedAt)
    ? receivedAt.map((at: Date) => at.toISOString())
    : events.map(() => (receivedAt as Date).toISOString());
  if (arrivals.length !== events.length) {
    throw new RangeError('insertNewEvents: one receivedAt per event, or one for all');
  }
  const ids: string[] = [];
  const types: string[] = [];
  const times: string[] = [];
  const sessions: string[] = [];
  const anonymous: string[] = [];
  const carts: (string | null)[] = [];
  const payloads: string[] = [];
  const received: string[] = [];
  // Rows go in id order, so two transactions writing overlapping events (a frame resent on a
  // new connection while the first attempt is still in flight) take their row locks in the same
  // order and wait for each other instead of deadlocking. The sort is stable: of two events with
  // one id in a frame, the first is kept.
  const ordered = events
    .map((event, index) => ({ event, index }))
    .sort((a, b) =>
      a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : a.index - b.index,
    );
  for (const { event, index } of ordered) {
    received.push(arrivals[index] as string);
    const { id, type, ts, sessionId, anonymousId, cartId, ...payload } = event;
    ids.push(id);
    types.push(type);
    // ISO strings are UTC and exact to the millisecond the browser sent.
    times.push(new Date(ts).toISOString());
    sessions.push(sessionId);
    anonymous.push(anonymousId);
    carts.push(cartId ?? null);
    // jsonb goes over the wire as JSON text (see db/schema.ts).
    payloads.push(JSON.stringify(payload));
  }
  const result = await sql<{ id: string }>`
    insert into events
      (store_id, id, type, ts, received_at, session_id, anonymous_id, cart_id, payload)
    select ${storeId}::uuid, e.id, e.type, e.ts, e.received_at,
      e.session_id, e.anonymous_id, e.cart_id, e.payload::jsonb
    from unnest(
      ${ids}::text[], ${types}::text[], ${times}::timestamptz[], ${received}::timestamptz[],
      ${sessions}::text[], ${anonymous}::text[], ${carts}::text[], ${payloads}::text[]
    ) as e (id, type, ts, received_at, session_id, anonymous_id, cart_id, payload)
    on conflict (store_id, id) do nothing
    returning id
  `.execute(db);
  return result.rows.map((row) => row.id);
}
