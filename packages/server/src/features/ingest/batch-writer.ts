import type { TrackedEvent } from '@winback/shared';
import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import type { Database } from '../../db/schema.js';
import { lockForTransaction } from '../../db/send-locks.js';
import { type ProjectedCart, projectEvents, purchaseLockKeys } from './projection.js';
import { insertNewEvents } from './repository.js';

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
 */

export interface BatchWriterOptions {
  db: Db;
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
  /** Stores one frame's valid events for one store; resolves after COMMIT. */
  write(storeId: string, events: readonly TrackedEvent[], receivedAt: Date): Promise<WriteResult>;
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
  const settings = { ...defaults, ...definedOnly(options) };
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
  const pending: Item[] = [];
  let pendingEvents = 0;
  let active = 0;
  let closed = false;
  const stats = { transactions: 0, frames: 0 };
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
      results = await writeGroup(db, group, settings.statementTimeoutMs);
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
    write(storeId, events, receivedAt) {
      if (closed) return Promise.reject(new WriterBusyError('the batch writer is closed'));
      if (pendingEvents > 0 && pendingEvents + events.length > settings.maxPendingEvents) {
        return Promise.reject(new WriterBusyError('too many events are waiting to be stored'));
      }
      return new Promise<WriteResult>((resolve, reject) => {
        pending.push({ storeId, events, receivedAt, alone: false, resolve, reject });
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
      if (active === 0 && pending.length === 0) return;
      await new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}

/**
 * One transaction for a group of frames: per store (in id order) the events are inserted in one
 * statement and the new ones projected. The send locks of every purchase in the group are taken
 * first, all in one key order, so two groups never wait on each other in a cycle.
 */
async function writeGroup(
  db: Db,
  group: Item[],
  statementTimeoutMs: number,
): Promise<WriteResult[]> {
  const stores = new Map<string, Item[]>();
  for (const item of group) {
    const items = stores.get(item.storeId);
    if (items) items.push(item);
    else stores.set(item.storeId, [item]);
  }
  const results = new Map<Item, WriteResult>();
  await db.transaction().execute(async (trx) => {
    await sql.raw(`set local statement_timeout = ${statementTimeoutMs}`).execute(trx);
    await lockForTransaction<Database>(
      trx,
      group.flatMap((item) => purchaseLockKeys(item.storeId, item.events)),
    );
    for (const storeId of [...stores.keys()].sort()) {
      const items = stores.get(storeId) as Item[];
      const events = items.flatMap((item) => item.events);
      const receivedAt = items.flatMap((item) => item.events.map(() => item.receivedAt));
      const newIds = new Set(await insertNewEvents(trx, storeId, events, receivedAt));
      // The first of each new id, in frame order, is the one stored: it belongs to its frame.
      const fresh: TrackedEvent[][] = items.map((item) =>
        item.events.filter((event) => newIds.delete(event.id)),
      );
      const carts = await projectEvents(trx, storeId, fresh.flat(), { locksHeld: true });
      const byExternalId = new Map(carts.map((cart) => [cart.externalId, cart]));
      for (const [index, item] of items.entries()) {
        const touched = new Set<string>();
        for (const event of item.events) if (event.cartId !== undefined) touched.add(event.cartId);
        results.set(item, {
          stored: fresh[index]?.length ?? 0,
          carts: [...touched].flatMap((id) => byExternalId.get(id) ?? []),
        });
      }
    }
  });
  return group.map((item) => results.get(item) as WriteResult);
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, item]) => item !== undefined),
  ) as Partial<T>;
}
