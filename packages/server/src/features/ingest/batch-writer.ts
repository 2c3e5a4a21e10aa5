import type { TrackedEvent } from '@winback/shared';
import pg from 'pg';
import type { Db } from '../../db/index.js';
import type { Database } from '../../db/schema.js';
import { lockForTransaction } from '../../db/send-locks.js';
import { type ProjectedCart, projectEvents, purchaseLockKeys } from './projection.js';
import {
  addDroppedEvents,
  type EventsWrite,
  type GroupEvent,
  stagingTable,
  writeGroupEvents,
} from './repository.js';
import { type IngestSession, kyselyTransaction, poolTransaction } from './session.js';

/*
 * Group commit for ingest. Frames from every connection wait here until a transaction is free;
 * each transaction takes everything waiting (up to `maxEvents`), stores it and projects it, and
 * only after its COMMIT does each frame learn its result, so every ack still follows the commit
 * of its own events. Under load one commit carries many frames, which is what brings durable
 * ingest close to the database's bulk write speed.
 *
 * Bounded: when more than `maxPendingEvents` are already waiting, a frame is refused at once
 * with `WriterBusyError` (the client gets `nack unavailable` / HTTP 503 with a retry delay)
 * instead of queueing without end; and a transaction that runs past `statementTimeoutMs` is
 * cancelled by Postgres, so a stuck database turns into refusals, not into memory.
 *
 * A transaction that fails takes all its frames with it; each of them is then tried once in a
 * transaction of its own, so one frame the database refuses cannot keep refusing its neighbours.
 *
 * Connections: given `databaseUrl`, the writer keeps `concurrency` connections of its own, where
 * its statements are prepared once and events can go by COPY (`eventsWrite`); given only `db`,
 * it borrows the app's pool through Kysely and writes events with `unnest`.
 */

export interface BatchWriterOptions {
  db: Db;
  /**
   * Postgres for the writer's own connections (prepared statements, COPY). Without it the writer
   * uses `db`'s pool and `unnest`.
   */
  databaseUrl?: string | undefined;
  /**
   * How events reach the table with `databaseUrl` (see `writeGroupEvents`): `copy` (default:
   * COPY, straight into `events` unless the group repeats stored events) or `unnest` (one insert
   * of column arrays, as without `databaseUrl`). Measured in test/bench/README.md.
   */
  eventsWrite?: EventsWrite;
  /** Most events in one transaction. Default 2,000. */
  maxEvents?: number;
  /** Transactions in flight at once (each holds one pooled connection). Default 2. */
  concurrency?: number;
  /** Events waiting for a transaction beyond which new frames are refused. Default 20,000. */
  maxPendingEvents?: number;
  /** Postgres `statement_timeout` inside ingest transactions, in ms. Default 10,000. */
  statementTimeoutMs?: number;
}

export interface WriteResult {
  /** How many of the frame's events were new. */
  stored: number;
  /** The carts those events changed, as they stood at COMMIT. */
  carts: ProjectedCart[];
}

export interface BatchWriter {
  /**
   * Stores one frame's valid events for one store; resolves after COMMIT. `dropped` is the
   * frame's count of events the browser had to drop, added to the store's daily count in the
   * same transaction (once per frame, however often it is resent).
   */
  write(
    storeId: string,
    events: readonly TrackedEvent[],
    receivedAt: Date,
    dropped?: number,
  ): Promise<WriteResult>;
  /** Events waiting for a transaction right now. */
  readonly pendingEvents: number;
  /** Committed transactions and the frames they carried, since the writer was made. */
  readonly stats: { readonly transactions: number; readonly frames: number };
  /** Refuses new frames and waits for those already taken. */
  close(): Promise<void>;
}

/** The writer has as much waiting as it may hold; the frame should be resent later. */
export class WriterBusyError extends Error {
  override readonly name = 'WriterBusyError';
}

interface Item {
  storeId: string;
  events: readonly TrackedEvent[];
  receivedAt: Date;
  dropped: number;
  /** Set after the item's group failed: it is then written in a transaction of its own. */
  alone: boolean;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

const defaults = {
  maxEvents: 2_000,
  concurrency: 2,
  maxPendingEvents: 20_000,
  statementTimeoutMs: 10_000,
};

export function createBatchWriter(options: BatchWriterOptions): BatchWriter {
  const { databaseUrl, eventsWrite = 'copy', ...numbers } = options;
  const settings = { ...defaults, ...definedOnly(numbers) };
  if (eventsWrite !== 'copy' && eventsWrite !== 'unnest') {
    throw new RangeError(
      `batch writer: eventsWrite must be "copy" or "unnest" (got ${eventsWrite})`,
    );
  }
  for (const name of [
    'maxEvents',
    'concurrency',
    'maxPendingEvents',
    'statementTimeoutMs',
  ] as const) {
    const value = settings[name];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`batch writer: ${name} must be a whole number >= 1 (got ${value})`);
    }
  }
  const { db } = options;
  const pool = databaseUrl ? ownPool(databaseUrl, settings.concurrency, eventsWrite) : undefined;
  const transaction = <T>(work: (session: IngestSession) => Promise<T>): Promise<T> =>
    pool
      ? poolTransaction(pool, settings.statementTimeoutMs, stagingTable, work)
      : kyselyTransaction(db, settings.statementTimeoutMs, work);
  const pending: Item[] = [];
  let pendingEvents = 0;
  let active = 0;
  let closed = false;
  const stats = { transactions: 0, frames: 0 };
  let poolEnded: Promise<void> | undefined;
  const idle: (() => void)[] = [];

  function pump(): void {
    while (active < settings.concurrency && pending.length > 0) {
      const group = takeGroup();
      active += 1;
      void flush(group).finally(() => {
        active -= 1;
        pump();
        if (active === 0 && pending.length === 0) for (const done of idle.splice(0)) done();
      });
    }
  }

  /** The waiting frames, oldest first, up to `maxEvents` (always at least one frame). */
  function takeGroup(): Item[] {
    const first = pending.shift() as Item;
    const group = [first];
    let events = first.events.length;
    if (!first.alone) {
      while (pending.length > 0) {
        const next = pending[0] as Item;
        if (next.alone || events + next.events.length > settings.maxEvents) break;
        group.push(next);
        events += next.events.length;
        pending.shift();
      }
    }
    pendingEvents -= events;
    return group;
  }

  async function flush(group: Item[]): Promise<void> {
    let results: WriteResult[];
    try {
      results = await transaction((session) => writeGroup(session, group, eventsWrite));
    } catch (error) {
      if (group.length === 1) {
        group[0]?.reject(error);
        return;
      }
      // Each frame once more, alone, ahead of newer frames.
      for (const item of group.reverse()) {
        item.alone = true;
        pending.unshift(item);
        pendingEvents += item.events.length;
      }
      return;
    }
    stats.transactions += 1;
    stats.frames += group.length;
    for (const [index, item] of group.entries()) item.resolve(results[index] as WriteResult);
  }

  return {
    write(storeId, events, receivedAt, dropped = 0) {
      if (closed) return Promise.reject(new WriterBusyError('the batch writer is closed'));
      if (pendingEvents > 0 && pendingEvents + events.length > settings.maxPendingEvents) {
        return Promise.reject(new WriterBusyError('too many events are waiting to be stored'));
      }
      return new Promise<WriteResult>((resolve, reject) => {
        pending.push({ storeId, events, receivedAt, dropped, alone: false, resolve, reject });
        pendingEvents += events.length;
        pump();
      });
    },
    get pendingEvents() {
      return pendingEvents;
    },
    get stats() {
      return { ...stats };
    },
    async close() {
      closed = true;
      if (active > 0 || pending.length > 0) {
        await new Promise<void>((resolve) => idle.push(resolve));
      }
      poolEnded ??= pool?.end();
      await poolEnded;
    },
  };
}

/**
 * One transaction for a group of frames: the events of every store in one statement, then per
 * store (in id order) the new ones projected and the browsers' drop counts added. The send
 * locks of every purchase in the group are taken first, all in one key order, so two groups
 * never wait on each other in a cycle.
 */
async function writeGroup(
  session: IngestSession,
  group: Item[],
  eventsWrite: EventsWrite,
): Promise<WriteResult[]> {
  const stores = new Map<string, Item[]>();
  const events: GroupEvent[] = [];
  for (const item of group) {
    const items = stores.get(item.storeId);
    if (items) items.push(item);
    else stores.set(item.storeId, [item]);
    for (const event of item.events) {
      events.push({ storeId: item.storeId, event, receivedAt: item.receivedAt });
    }
  }
  const results = new Map<Item, WriteResult>();
  const locks = group.flatMap((item) => purchaseLockKeys(item.storeId, item.events));
  if (locks.length > 0) await lockForTransaction<Database>(session.kysely, locks);
  const { newIds, settings } = await writeGroupEvents(session, events, eventsWrite);
  for (const storeId of [...stores.keys()].sort()) {
    const items = stores.get(storeId) as Item[];
    const fresh = newIds.get(storeId) ?? new Set<string>();
    // The first of each new id, in group order, is the one stored: it belongs to its frame.
    const stored: TrackedEvent[][] = items.map((item) =>
      item.events.filter((event) => fresh.delete(event.id)),
    );
    const carts = await projectEvents(session, storeId, stored.flat(), {
      locksHeld: true,
      settings: settings.get(storeId),
    });
    const byExternalId = new Map(carts.map((cart) => [cart.externalId, cart]));
    const drops = new Map<string, number>();
    for (const [index, item] of items.entries()) {
      const touched = new Set<string>();
      for (const event of item.events) if (event.cartId !== undefined) touched.add(event.cartId);
      const own = stored[index] ?? [];
      // A frame's drop count rides with it until it is acked: it is counted with the frame's
      // first event, so a resend (whose first event is stored already) never counts it twice.
      if (item.dropped > 0 && own[0] !== undefined && own[0] === item.events[0]) {
        const day = item.receivedAt.toISOString().slice(0, 10);
        drops.set(day, (drops.get(day) ?? 0) + item.dropped);
      }
      results.set(item, {
        stored: own.length,
        carts: [...touched].flatMap((id) => byExternalId.get(id) ?? []),
      });
    }
    if (drops.size > 0) await addDroppedEvents(session, storeId, drops);
  }
  return group.map((item) => results.get(item) as WriteResult);
}

/** The writer's own connections: as many as transactions may run at once. */
function ownPool(databaseUrl: string, connections: number, eventsWrite: EventsWrite): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: connections,
    // Names the connections in pg_stat_activity (and tells the benchmark which path ran).
    application_name: `winback-ingest-${eventsWrite}`,
    // Fail fast rather than hang when the database is gone: the frames are nacked and resent.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // A lost idle connection emits 'error' on the pool, and on its client while in use; the
  // query's rejection is what the writer handles, so these only must not crash the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, item]) => item !== undefined),
  ) as Partial<T>;
}
