import type { TrackedEvent } from '@winback/shared';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { IngestSession } from './session.js';

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

/** One event of a writer's group, with what the group knows about it. */
export interface GroupEvent {
  storeId: string;
  event: TrackedEvent;
  receivedAt: Date;
}

/** How a group's events reach the events table (see `writeGroupEvents`). */
export type EventsWrite = 'unnest' | 'copy';

/** The scratch table a COPY fills inside the transaction; made once per connection. */
export const stagingTable = {
  ingest_events_staging: `
    create temporary table if not exists ingest_events_staging (
      ord integer not null,
      store_id uuid not null,
      id text collate "C" not null,
      type text not null,
      ts timestamptz not null,
      received_at timestamptz not null,
      session_id text,
      anonymous_id text,
      cart_id text,
      payload jsonb not null
    ) on commit delete rows`,
} as const;

// Both paths end in the same statement shape: rows in (store, id, place in the group) order, so
// concurrent transactions take their row locks in one order and, of two events with one id,
// the first in the group is the one stored; then the new ids and the stores' settings come
// back in one round trip (the projection needs both).
const newEventsAndSettings = `
  select 'event' as kind, store_id::text as store_id, id as value from new_events
  union all
  select 'settings', id::text, settings::text from stores where id = any($1::uuid[])`;

const insertFromUnnest = `
  with new_events as (
    insert into events
      (store_id, id, type, ts, received_at, session_id, anonymous_id, cart_id, payload)
    select e.store_id, e.id, e.type, e.ts, e.received_at, e.session_id, e.anonymous_id,
      e.cart_id, e.payload::jsonb
    from unnest(
      $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[],
      $8::text[], $9::text[], $10::text[]
    ) with ordinality as e (store_id, id, type, ts, received_at, session_id, anonymous_id,
      cart_id, payload, ord)
    order by e.store_id, e.id, e.ord
    on conflict (store_id, id) do nothing
    returning store_id, id
  )
  ${newEventsAndSettings}`;

const insertFromStaging = `
  with new_events as (
    insert into events
      (store_id, id, type, ts, received_at, session_id, anonymous_id, cart_id, payload)
    select store_id, id, type, ts, received_at, session_id, anonymous_id, cart_id, payload
    from ingest_events_staging
    order by store_id, id, ord
    on conflict (store_id, id) do nothing
    returning store_id, id
  )
  ${newEventsAndSettings}`;

const copyIntoStaging = `copy ingest_events_staging
  (ord, store_id, id, type, ts, received_at, session_id, anonymous_id, cart_id, payload)
  from stdin`;

/** What a group's events insert tells the rest of the transaction. */
export interface GroupInsert {
  /** Per store, the ids stored for the first time. */
  newIds: Map<string, Set<string>>;
  /** Per store, its `stores.settings` document as JSON text (absent for an unknown store). */
  settings: Map<string, string>;
}

const copyIntoEvents = `copy events
  (store_id, id, type, ts, received_at, session_id, anonymous_id, cart_id, payload)
  from stdin`;

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether an id occurs twice for one store in the group (a frame resent while waiting). */
function hasRepeats(events: readonly GroupEvent[]): boolean {
  const seen = new Set<string>();
  for (const item of events) {
    const key = `${item.storeId} ${item.event.id}`;
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}

/**
 * The usual case, where no event of the group was stored before: one COPY straight into
 * `events`, inside a savepoint. A resent event breaks the primary key (23505); then the
 * savepoint is rolled back and the group goes the staging way, which skips stored events. The
 * savepoint and the stores' settings share one round trip (store ids are uuids from `stores`,
 * checked, so they can be written into the statement).
 */
async function copyDirect(
  session: IngestSession,
  events: readonly GroupEvent[],
  stores: readonly string[],
): Promise<GroupInsert | undefined> {
  if (!stores.every((id) => uuid.test(id))) return undefined;
  const ordered = [...events].sort((a, b) =>
    a.storeId !== b.storeId
      ? a.storeId < b.storeId
        ? -1
        : 1
      : a.event.id < b.event.id
        ? -1
        : a.event.id > b.event.id
          ? 1
          : 0,
  );
  let data = '';
  for (const item of ordered) {
    const row = columnsOf(item.event);
    data +=
      `${item.storeId}\t${copyField(row.id)}\t${copyField(row.type)}\t${row.ts}\t` +
      `${item.receivedAt.toISOString()}\t${copyField(row.sessionId)}\t` +
      `${copyField(row.anonymousId)}\t${copyField(row.cartId)}\t${copyField(row.payload)}\n`;
  }
  const settingsRows = await (session.scriptRows as NonNullable<IngestSession['scriptRows']>)<{
    store_id: string;
    settings: string;
  }>(
    `savepoint ingest_events; select id::text as store_id, settings::text as settings from stores where id in (${stores.map((id) => `'${id}'`).join(', ')})`,
  );
  try {
    await (session.copyIn as NonNullable<IngestSession['copyIn']>)(copyIntoEvents, data);
  } catch (error) {
    if ((error as { code?: unknown }).code !== '23505') throw error;
    await session.script('rollback to savepoint ingest_events');
    return undefined;
  }
  const result: GroupInsert = { newIds: new Map(), settings: new Map() };
  for (const row of settingsRows) result.settings.set(row.store_id, row.settings);
  for (const item of events) {
    let ids = result.newIds.get(item.storeId);
    if (!ids) {
      ids = new Set();
      result.newIds.set(item.storeId, ids);
    }
    ids.add(item.event.id);
  }
  return result;
}

/** An event's columns: the envelope apart, everything else in `payload` (JSON text). */
function columnsOf(event: TrackedEvent) {
  const { id, type, ts, sessionId, anonymousId, cartId, ...payload } = event;
  return {
    id,
    type,
    // ISO strings are UTC and exact to the millisecond the browser sent.
    ts: new Date(ts).toISOString(),
    sessionId,
    anonymousId,
    cartId: cartId ?? null,
    payload: JSON.stringify(payload),
  };
}

const copySpecial = /[\\\n\r\t]/;
const copySpecials = /[\\\n\r\t]/g;
const copyEscapes: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A text value as a field of COPY's text format (`\N` is NULL). */
export function copyField(value: string | null): string {
  if (value === null) return '\\N';
  return copySpecial.test(value)
    ? value.replace(copySpecials, (char) => copyEscapes[char] as string)
    : value;
}

/**
 * Stores a group's events (of any number of stores) in one statement, `on conflict (store_id,
 * id) do nothing`, and returns the new ids and the stores' settings.
 *
 * `copy` sends the rows in COPY's text format instead of one escaped array literal per column,
 * which costs both sides less: straight into `events` when none of them was stored before (the
 * usual case; see `copyDirect`), else into a temporary table made once per connection
 * (`stagingTable`, emptied at each commit) and on with `insert ... select ... on conflict do
 * nothing`. It needs a session that can COPY; `unnest` works on any.
 */
export async function writeGroupEvents(
  session: IngestSession,
  events: readonly GroupEvent[],
  how: EventsWrite,
): Promise<GroupInsert> {
  const stores = [...new Set(events.map((item) => item.storeId))];
  let rows: { kind: 'event' | 'settings'; store_id: string; value: string }[];
  if (how === 'copy' && session.copyIn && session.scriptRows && !hasRepeats(events)) {
    const direct = await copyDirect(session, events, stores);
    if (direct) return direct;
  }
  if (how === 'copy' && session.copyIn) {
    let data = '';
    for (const [ord, item] of events.entries()) {
      const row = columnsOf(item.event);
      data +=
        `${ord}\t${item.storeId}\t${copyField(row.id)}\t${copyField(row.type)}\t${row.ts}\t` +
        `${item.receivedAt.toISOString()}\t${copyField(row.sessionId)}\t` +
        `${copyField(row.anonymousId)}\t${copyField(row.cartId)}\t${copyField(row.payload)}\n`;
    }
    await session.copyIn(copyIntoStaging, data);
    rows = await session.query('ingest_events_staged', insertFromStaging, [stores]);
  } else {
    const columns: (string | null)[][] = Array.from({ length: 9 }, () => []);
    const [storeIds, ids, types, times, received, sessions, anonymous, carts, payloads] =
      columns as [
        string[],
        string[],
        string[],
        string[],
        string[],
        string[],
        string[],
        (string | null)[],
        string[],
      ];
    for (const item of events) {
      const row = columnsOf(item.event);
      storeIds.push(item.storeId);
      ids.push(row.id);
      types.push(row.type);
      times.push(row.ts);
      received.push(item.receivedAt.toISOString());
      sessions.push(row.sessionId);
      anonymous.push(row.anonymousId);
      carts.push(row.cartId);
      payloads.push(row.payload);
    }
    rows = await session.query('ingest_events_unnest', insertFromUnnest, [stores, ...columns]);
  }
  const result: GroupInsert = { newIds: new Map(), settings: new Map() };
  for (const row of rows) {
    if (row.kind === 'settings') {
      result.settings.set(row.store_id, row.value);
      continue;
    }
    let ids = result.newIds.get(row.store_id);
    if (!ids) {
      ids = new Set();
      result.newIds.set(row.store_id, ids);
    }
    ids.add(row.value);
  }
  return result;
}

const addDropped = `
  insert into sdk_dropped_events as d (store_id, day, dropped)
  select $1::uuid, v.day, v.dropped
  from unnest($2::date[], $3::bigint[]) as v (day, dropped)
  order by v.day
  on conflict (store_id, day) do update set dropped = d.dropped + excluded.dropped`;

/**
 * Adds to a store's daily counts of events its shoppers' browsers had to drop (the sdk's bounded
 * queue was full), by UTC day (`YYYY-MM-DD`) of arrival.
 */
export async function addDroppedEvents(
  session: IngestSession,
  storeId: string,
  byDay: ReadonlyMap<string, number>,
): Promise<void> {
  await session.query('ingest_dropped_events', addDropped, [
    storeId,
    [...byDay.keys()],
    [...byDay.values()],
  ]);
}
