import type { TrackedEvent } from '@winback/shared';
import { limits } from '@winback/shared/limits';
import { warn } from './safe.js';
import { persist, read } from './storage.js';

// The local queue: events waiting for an ack, persisted so that the next page can send them.
// Bounded: past 500 events or 256 KiB the oldest are dropped first and counted, and the count
// goes to the server with the next frame so it knows what it missed.

/** How much the queue keeps while the server cannot be reached. */
export const QUEUE_BOUNDS = { events: 500, bytes: 256 * 1024 } as const;

/** An event's UTF-8 size as JSON, as the server counts bytes. */
export const eventBytes = (event: TrackedEvent): number => new Blob([JSON.stringify(event)]).size;

let storageKey = '';
let total = 0;
/** Queued events, oldest first. */
export let queued: TrackedEvent[] = [];
/** Events dropped to stay within the bounds and not yet reported to the server. */
export let dropped = 0;

const save = () =>
  persist(storageKey, queued.length || dropped ? { events: queued, dropped } : undefined);

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
  queued.push(event);
  total += bytes;
  while (queued.length > QUEUE_BOUNDS.events || total > QUEUE_BOUNDS.bytes) {
    total -= eventBytes(queued.shift() as TrackedEvent);
    dropped++;
  }
  save();
  return true;
}

/**
 * Forgets the events of an acked frame (the very objects it was made of), and the part of the
 * dropped count it reported.
 */
export function settle(events: readonly unknown[], reportedDropped: number): void {
  queued = queued.filter((event) => {
    if (!events.includes(event)) return true;
    total -= eventBytes(event);
    return false;
  });
  dropped -= reportedDropped;
  save();
}

/** Loads what earlier pages left under `key`; anything that does not look like an event is ignored. */
export function loadQueue(key: string): void {
  const saved = read<{ events?: TrackedEvent[]; dropped?: number }>(key);
  storageKey = key;
  queued = [];
  total = 0;
  dropped = (saved?.dropped as number) | 0;
  for (const event of [saved?.events].flat()) {
    // Two tabs may have left the same event behind; the server would drop the copy anyway.
    if (typeof event?.id === 'string' && !queued.some((each) => each.id === event.id)) {
      enqueue(event);
    }
  }
}
