import {
  type AckFrame,
  type CommandFrame,
  type NackFrame,
  parseBatch,
  type TrackedEvent,
} from '@winback/shared';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/index.js';
import type { Device } from '../../domain/device.js';
import { type BatchWriter, WriterBusyError } from './batch-writer.js';
import { type ProjectedCart, projectEvents } from './projection.js';
import { insertNewEvents } from './repository.js';
import { kyselyTransaction } from './session.js';

/** What one committed batch carried, for features that react to new events. */
export interface StoredBatch {
  storeId: string;
  /** When the frame reached this server. */
  receivedAt: Date;
  /** Every valid event of the frame, in frame order, including resent ones. */
  events: readonly TrackedEvent[];
  /** How many of `events` were new (the rest were already stored). */
  stored: number;
  /** The carts the new events changed, as they stood at COMMIT. */
  carts: readonly ProjectedCart[];
  /**
   * The browser's socket the frame came on, to answer with commands (`show_overlay`); one
   * object per socket, so per page. Absent for HTTP, which cannot be answered later.
   */
  channel?: CommandChannel;
}

/** Sends commands to the browser a frame came from; a closed socket drops them. */
export interface CommandChannel {
  send(command: CommandFrame): void;
}

/**
 * Called after a batch has committed, before its ack leaves. Listeners must not throw and must
 * not hold the caller up: a returned promise is not awaited, only watched for a rejection to log.
 * Whatever they start must be safe to repeat, because a resent batch is reported again.
 */
export type EventsStoredListener = (batch: StoredBatch) => void | Promise<void>;

export interface FrameContext {
  db: Db;
  /** Groups frames from every connection into shared transactions; without it, one per frame. */
  writer?: BatchWriter;
  storeId: string;
  receivedAt: Date;
  log: FastifyBaseLogger;
  listeners: readonly EventsStoredListener[];
  /** The socket the frame came on (WebSocket only), handed to listeners. */
  channel?: CommandChannel;
  /** The device the request carrying the frame came from (User-Agent and client hints). */
  device?: Device | undefined;
  /**
   * Asked before a valid frame's events are stored, with how many events it carries: `null`
   * lets it through, a number refuses it (`nack` `rate_limited`) with that retry delay in ms.
   */
  admit?: (events: number) => Promise<number | null>;
  /** Counts outcomes; optional so the core runs without a metrics registry. */
  count?: (outcome: FrameOutcome, events: EventCounts) => void;
}

export type FrameOutcome = 'ack' | NackFrame['reason'];
export interface EventCounts {
  stored: number;
  duplicate: number;
  rejected: number;
}

/** How long a client should wait before resending after a storage failure: 1–5 s, jittered. */
export function retryDelayMs(random: () => number = Math.random): number {
  // Jitter spreads the retries of every client that saw the same outage.
  return 1_000 + Math.floor(random() * 4_000);
}

const anySurrogate = /[\ud800-\udfff]/;
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether a value holds text Postgres cannot store: a NUL character (text and jsonb refuse it)
 * or a lone UTF-16 surrogate (jsonb refuses its escape). The wire schemas allow both, so
 * without this check one such event would fail its whole batch on every retry, for ever.
 */
export function hasUnstorableText(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000') || loneSurrogate.test(value);
  if (value === null || typeof value !== 'object' || depth > 16) return false;
  if (Array.isArray(value)) return value.some((item) => hasUnstorableText(item, depth + 1));
  return Object.entries(value).some(
    ([key, item]) => hasUnstorableText(key, depth + 1) || hasUnstorableText(item, depth + 1),
  );
}

/**
 * Whether JSON text may parse to something `hasUnstorableText` finds. A parsed string can hold a
 * NUL only from a `\u` escape (JSON text cannot carry it raw), and a lone surrogate only from an
 * escape or from a surrogate in the text itself; a frame with neither (the usual one: both are
 * native scans) needs no walk through its events.
 */
export function mayHoldUnstorableText(json: string): boolean {
  return json.includes('\\u') || anySurrogate.test(json);
}

/**
 * Stores a frame's events in one transaction and resolves once it has COMMITTED, with the number
 * of new events and the carts they changed. This is the one place the write happens, so the
 * projections of the ingestion work (carts, shoppers, purchases) join this transaction rather
 * than run after the ack.
 */
export async function storeEvents(
  db: Db,
  storeId: string,
  events: readonly TrackedEvent[],
  receivedAt: Date,
): Promise<{ stored: number; carts: ProjectedCart[] }> {
  return kyselyTransaction(db, 10_000, async (session) => {
    const newIds = await insertNewEvents(session.kysely, storeId, events, receivedAt);
    // Only first-time events are projected, so a resent one never counts twice.
    const carts = await projectEvents(session, storeId, firstOfEach(events, newIds));
    return { stored: newIds.length, carts };
  });
}

/** The events whose ids are in `ids`, the first of each id in frame order (the one stored). */
export function firstOfEach(
  events: readonly TrackedEvent[],
  ids: readonly string[],
): TrackedEvent[] {
  const wanted = new Set(ids);
  const picked: TrackedEvent[] = [];
  for (const event of events) {
    if (wanted.delete(event.id)) picked.push(event);
  }
  return picked;
}

/**
 * A page view's device with the type, OS and browser the server read from the request filled in
 * where the sdk left them out (it sends only what only the browser knows).
 */
export function withDevice(event: TrackedEvent, device: Device | undefined): TrackedEvent {
  if (!device || event.type !== 'page_view' || !event.device) return event;
  const { type, os, browser } = event.device;
  return {
    ...event,
    device: {
      ...event.device,
      type: type ?? device.type,
      ...((os ?? device.os) ? { os: os ?? device.os } : {}),
      ...((browser ?? device.browser) ? { browser: browser ?? device.browser } : {}),
    },
  };
}

/**
 * Handles one client → server frame, whatever carried it (WebSocket message or HTTP body), and
 * returns the frame to answer with. An `ack` is returned only after the events committed; a
 * storage failure is a `nack` with `reason: 'unavailable'` and a jittered `retryAfterMs`, never
 * an exception, so neither transport can turn it into a 500.
 */
export async function ingestFrame(
  context: FrameContext,
  raw: string,
): Promise<AckFrame | NackFrame> {
  const batch = parseBatch(raw);
  if (!batch.ok) {
    context.count?.(batch.reason, { stored: 0, duplicate: 0, rejected: 0 });
    context.log.debug(
      { storeId: context.storeId, seq: batch.seq, reason: batch.reason },
      'ingest frame refused',
    );
    return {
      t: 'nack',
      seq: batch.seq,
      retryAfterMs: 0,
      reason: batch.reason,
      message: batch.message,
    };
  }

  const limitedFor = await context.admit?.(batch.events.length + batch.rejected.length);
  if (typeof limitedFor === 'number') {
    context.count?.('rate_limited', { stored: 0, duplicate: 0, rejected: 0 });
    context.log.debug(
      { storeId: context.storeId, seq: batch.seq, retryAfterMs: limitedFor },
      'ingest frame rate limited',
    );
    return rateLimited(batch.seq, limitedFor);
  }

  const events: TrackedEvent[] = [];
  const rejected = [...batch.rejected];
  // parseBatch keeps valid events in frame order without their indexes; walk the frame's indexes
  // to name any event refused here by its place in the frame, as the sdk expects.
  const refusedIndexes = new Set(batch.rejected.map((item) => item.index));
  const mayBeUnstorable = mayHoldUnstorableText(raw);
  let index = 0;
  for (const event of batch.events) {
    while (refusedIndexes.has(index)) index += 1;
    if (mayBeUnstorable && hasUnstorableText(event)) {
      rejected.push({
        index,
        message: `events.${index}: text must not contain NUL characters or lone surrogates`,
      });
    } else {
      events.push(withDevice(event, context.device));
    }
    index += 1;
  }
  rejected.sort((a, b) => a.index - b.index);

  let stored = 0;
  if (events.length > 0) {
    let carts: ProjectedCart[];
    try {
      ({ stored, carts } = context.writer
        ? await context.writer.write(context.storeId, events, context.receivedAt, batch.dropped)
        : await storeEvents(context.db, context.storeId, events, context.receivedAt));
    } catch (error) {
      const retryAfterMs = retryDelayMs();
      context.count?.('unavailable', { stored: 0, duplicate: 0, rejected: 0 });
      // The error's code and class only: a database message may quote the values it choked on.
      // A full writer is load shedding, expected under overload: not worth a warning each time.
      context.log[error instanceof WriterBusyError ? 'debug' : 'warn'](
        {
          storeId: context.storeId,
          seq: batch.seq,
          events: events.length,
          error: describeFailure(error),
          retryAfterMs,
        },
        'ingest could not store a batch',
      );
      return {
        t: 'nack',
        seq: batch.seq,
        retryAfterMs,
        reason: 'unavailable',
        message: 'the events could not be stored, retry later',
      };
    }
    notify(context, {
      storeId: context.storeId,
      receivedAt: context.receivedAt,
      events,
      stored,
      carts,
      ...(context.channel ? { channel: context.channel } : {}),
    });
  }

  const counts = { stored, duplicate: events.length - stored, rejected: rejected.length };
  context.count?.('ack', counts);
  context.log.debug(
    { storeId: context.storeId, seq: batch.seq, dropped: batch.dropped, ...counts },
    'ingest frame stored',
  );
  return rejected.length > 0
    ? { t: 'ack', seq: batch.seq, rejected }
    : { t: 'ack', seq: batch.seq };
}

/** The answer to a frame over a rate limit: nothing of it is stored; resend it after the delay. */
export function rateLimited(seq: number, retryAfterMs: number): NackFrame {
  return {
    t: 'nack',
    seq,
    retryAfterMs,
    reason: 'rate_limited',
    message: `rate limit reached, retry in ${retryAfterMs} ms`,
  };
}

function notify(context: FrameContext, batch: StoredBatch): void {
  for (const listener of context.listeners) {
    try {
      const result = listener(batch);
      if (result && typeof result.then === 'function') {
        result.then(undefined, (error: unknown) => {
          context.log.error({ error: describeFailure(error) }, 'an events-stored listener failed');
        });
      }
    } catch (error) {
      // The batch is committed: a listener's failure must not turn its ack into a nack.
      context.log.error({ error: describeFailure(error) }, 'an events-stored listener failed');
    }
  }
}

/** An error's class and code, never its message (which may quote stored values). */
export function describeFailure(error: unknown): { name: string; code?: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? { name: error.name, code } : { name: error.name };
  }
  return { name: typeof error };
}
