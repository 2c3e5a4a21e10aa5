import type { TrackedEvent } from '@winback/shared';
import { limits } from '@winback/shared/limits';
import { warn } from './safe.js';
import { persist, read } from './storage.js';

// The local queue: events waiting for an ack, persisted so that the next page can send them.
// Bounded: past 500 events or 256 KiB the oldest are dropped first and counted, and the count
// goes to the server with the next frame so it knows what it missed.

/** How much the queue keeps while the server cannot be reached. */
export const QUEUE_BOUNDS = { events: 500, bytes: 256 * 1024 } as const;

const encoder = new TextEncoder();
/** An event's UTF-8 size as JSON, as the server counts bytes. */
export const eventBytes = (event: TrackedEvent): number =>
  sizes.get(event.id) ?? encoder.encode(JSON.stringify(event)).length;

let storageKey = '';
let events: TrackedEvent[] = [];
let sizes = new Map<string, number>();
let total = 0;
let dropped = 0;

const save = () =>
  persist(storageKey, () => (events.length || dropped ? { events, dropped } : undefined));

/**
 * Appends an event, dropping the oldest past the bounds. Returns false (and warns, W10) for an
 * event too large to ever be accepted.
 */
export function enqueue(event: TrackedEvent): boolean {
  const bytes = eventBytes(event);
  if (bytes > limits.eventBytes) {
    warn(10, event.type);
    return false;
  }
  // Two tabs may have left the same event behind; the server would drop the copy anyway.
  if (!sizes.has(event.id)) {
    events.push(event);
    sizes.set(event.id, bytes);
    total += bytes;
    while (events.length > QUEUE_BOUNDS.events || total > QUEUE_BOUNDS.bytes) {
      settle(new Set([(events[0] as TrackedEvent).id]), -1);
    }
    save();
  }
  return true;
}

/**
 * Forgets acked events, and the part of the dropped count their frame reported. (Dropping the
 * oldest event to stay within bounds is settling it with -1: it counts as one more dropped.)
 */
export function settle(ids: ReadonlySet<string>, reportedDropped: number): void {
  events = events.filter((event) => {
    if (!ids.has(event.id)) return true;
    total -= eventBytes(event);
    return !sizes.delete(event.id);
  });
  dropped = Math.max(0, dropped - reportedDropped);
  save();
}

/** Loads what earlier pages left under `key`; anything that does not look like an event is ignored. */
export function loadQueue(key: string): void {
  const saved = read<{ events?: TrackedEvent[]; dropped?: number }>(key);
  storageKey = key;
  events = [];
  sizes = new Map();
  total = 0;
  dropped = Number(saved?.dropped) | 0;
  for (const event of Array.isArray(saved?.events) ? saved.events : []) {
    if (typeof event?.id === 'string') enqueue(event);
  }
}

/** Queued events, oldest first. */
export const queued = (): readonly TrackedEvent[] => events;

/** Events dropped to stay within the bounds and not yet reported to the server. */
export const droppedCount = (): number => dropped;
