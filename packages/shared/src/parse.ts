import type { z } from 'zod';
import { fastBatchFrame, fastTrackedEvent } from './fast-validate.js';
import { limits } from './limits.js';
import { batchFrame, type NackReason, type TrackedEvent, trackedEvent } from './protocol.js';

export interface ParsedBatch {
  ok: true;
  seq: number;
  dropped: number;
  /** The valid events, in frame order. */
  events: TrackedEvent[];
  /** Events that can never be accepted, by their index in the frame. */
  rejected: { index: number; message: string }[];
}

export interface RefusedBatch {
  ok: false;
  /** The frame's seq when it could be read, else -1. */
  seq: number;
  reason: Extract<NackReason, 'invalid' | 'too_large'>;
  message: string;
}

const encoder = new TextEncoder();

const nonAscii = /[\u0080-\uffff]/;

/** UTF-8 byte length of a string, without allocating for plain ASCII. */
export function utf8Bytes(value: string): number {
  // Fast path: most frames are ASCII, where bytes equal UTF-16 code units (a native scan).
  return nonAscii.test(value) ? encoder.encode(value).length : value.length;
}

function describe(error: z.ZodError, prefix: string): string {
  const issue = error.issues[0];
  if (!issue) return `${prefix}invalid`;
  const path = [prefix.replace(/\.$/, ''), ...issue.path.map(String)].filter(Boolean).join('.');
  return `${path ? `${path}: ` : ''}${issue.message}`;
}

/**
 * Reads one client → server frame (a WebSocket message or an HTTP body) within the protocol's
 * limits. A frame that is too large or not a batch is refused whole; inside a good frame each
 * event is checked on its own, so one malformed event does not hold back the others.
 *
 * @example
 *   const batch = parseBatch(message);
 *   if (!batch.ok) socket.send(nack(batch.seq, batch.reason));
 */
export function parseBatch(raw: string): ParsedBatch | RefusedBatch {
  const frameBytes = utf8Bytes(raw);
  if (frameBytes > limits.frameBytes) {
    return {
      ok: false,
      seq: -1,
      reason: 'too_large',
      message: `a frame is at most ${limits.frameBytes} bytes`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, seq: -1, reason: 'invalid', message: 'the frame is not JSON' };
  }
  // The fast paths answer only "valid"; anything else, and every message, comes from zod.
  let frame = fastBatchFrame(json);
  if (!frame) {
    const parsed = batchFrame.safeParse(json);
    if (!parsed.success) {
      const seq = (json as { seq?: unknown } | null)?.seq;
      return {
        ok: false,
        seq: typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : -1,
        reason: 'invalid',
        message: describe(parsed.error, ''),
      };
    }
    frame = parsed.data;
  }
  const events: TrackedEvent[] = [];
  const rejected: ParsedBatch['rejected'] = [];
  // An event is measured as re-serialised JSON, which can outgrow its raw text only a little
  // (numbers written with exponents); a frame under half the limit cannot hold one over it.
  const measure = frameBytes > limits.eventBytes / 2;
  for (let index = 0; index < frame.events.length; index += 1) {
    const candidate = frame.events[index];
    if (measure && utf8Bytes(JSON.stringify(candidate)) > limits.eventBytes) {
      rejected.push({
        index,
        message: `events.${index}: an event is at most ${limits.eventBytes} bytes`,
      });
      continue;
    }
    const fast = fastTrackedEvent(candidate);
    if (fast) {
      events.push(fast);
      continue;
    }
    const event = trackedEvent.safeParse(candidate);
    if (event.success) events.push(event.data);
    else rejected.push({ index, message: describe(event.error, `events.${index}.`) });
  }
  return { ok: true, seq: frame.seq, dropped: frame.dropped ?? 0, events, rejected };
}
