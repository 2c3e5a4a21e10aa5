import type { ExitSignalKind } from '../../../domain/score.js';
import { score } from '../../../domain/score.js';
import {
  type CartCounts,
  cartFeatures,
  exitColumns,
  isProductUrl,
  noCounts,
} from '../../ingest/projection.js';

/*
 * A cart's abandonment risk over time, for its timeline. Only the latest score is stored
 * (`carts.score`), so the history is recomputed from the cart's stored events the way the ingest
 * computed it: the ingest scores a cart once per stored frame, from the cart's row merged with
 * every event received so far (counters summed; snapshot, checkout and first-touch context by
 * browser time). Replaying the events frame by frame (a frame's events share `received_at`) with
 * the same merge rules and the same `cartFeatures` and `score` gives the score after each frame.
 *
 * Where it can differ from what was stored at the time: frames the ingest wrote in one
 * transaction were scored once, after all of them (the replay shows each); whether the shopper
 * counts as returning is taken as it stands now. Pure: rows in, points out.
 */

/** One stored event, reduced to what the score's features need (see `riskEventsQuery`). */
export interface RiskEvent {
  id: string;
  type: string;
  ts: Date;
  receivedAt: Date;
  /** `cart_updated`: the snapshot's subtotal and line count, and its changes by kind. */
  subtotal: unknown;
  lineCount: number | null;
  edits: number | null;
  removals: number | null;
  /** `exit_intent`: its signal. */
  signal: string | null;
  /** `page_view`: the page's URL, the device type and the UTM fields. */
  url: string | null;
  device: string | null;
  utm: unknown;
}

/** The risk as it stood after one frame: when the server received it, and what it carried. */
export interface RiskPoint {
  at: string;
  score: number;
  /** The event types of that frame, each once. */
  types: string[];
}

const count = (value: number | null) =>
  typeof value === 'number' && Number.isFinite(value) ? value : 0;

/** Later in browser time, ties broken by event id: the order the ingest's merges use. */
const later = (a: { ts: number; id: string }, b: { ts: number; id: string }) =>
  a.ts > b.ts || (a.ts === b.ts && a.id > b.id);

/**
 * The score after each frame, in the order the frames were received. `events` must be sorted by
 * `receivedAt` (then time and id); `returningShopper` and `timeZone` are the cart's as they stand.
 */
export function replayRisk(
  events: readonly RiskEvent[],
  options: { timeZone: string; returningShopper: boolean },
): RiskPoint[] {
  const counts: CartCounts = noCounts();

  let snapshot: { ts: number; id: string; valueMinor: number; lineCount: number } | undefined;
  let checkoutAt: number | undefined;
  let context:
    | { ts: number; id: string; device: string | null; utm: Record<string, string> | null }
    | undefined;
  let lastActivity = Number.NEGATIVE_INFINITY;
  const points: RiskPoint[] = [];
  let frameTypes = new Set<string>();

  const scoreNow = () =>
    score(
      cartFeatures(
        {
          id: '',
          idle_due_at: null,
          // Only `checkoutReached` reads the status, and it is also true whenever `checkout_at`
          // is set, which is exactly when the cart's status could have been `checkout`.
          status: 'active',
          value_minor: snapshot?.valueMinor ?? 0,
          line_count: snapshot?.lineCount ?? 0,
          checkout_at: checkoutAt === undefined ? null : new Date(checkoutAt),
          last_activity_at: new Date(lastActivity),
          device: context?.device ?? null,
          utm: context?.utm ?? null,
          returning_shopper: options.returningShopper,
          ...counts,
        },
        options.timeZone,
      ),
    );

  for (const [index, event] of events.entries()) {
    const ts = event.ts.getTime();
    const key = { ts, id: event.id };
    if (ts > lastActivity) lastActivity = ts;
    frameTypes.add(event.type);
    switch (event.type) {
      case 'cart_updated':
        counts.edits += count(event.edits);
        counts.removals += count(event.removals);
        if (!snapshot || later(key, snapshot)) {
          snapshot = {
            ...key,
            valueMinor: typeof event.subtotal === 'number' ? event.subtotal : 0,
            lineCount: count(event.lineCount),
          };
        }
        break;
      case 'checkout_started':
        checkoutAt = Math.max(checkoutAt ?? ts, ts);
        break;
      case 'checkout_step':
        checkoutAt = Math.max(checkoutAt ?? ts, ts);
        counts.checkout_steps += 1;
        break;
      case 'exit_intent': {
        if (event.signal !== null && Object.hasOwn(exitColumns, event.signal)) {
          counts[exitColumns[event.signal as ExitSignalKind]] += 1;
        }
        break;
      }
      case 'page_view': {
        counts.page_views += 1;
        if (event.url && isProductUrl(event.url)) counts.product_views += 1;
        const utm =
          event.utm && typeof event.utm === 'object' && Object.keys(event.utm).length > 0
            ? (event.utm as Record<string, string>)
            : null;
        // First touch: the earliest page view that says anything about device or source.
        if ((event.device !== null || utm !== null) && (!context || later(context, key))) {
          context = { ...key, device: event.device, utm };
        }
        break;
      }
      default:
        break;
    }
    const next = events[index + 1];
    if (!next || next.receivedAt.getTime() !== event.receivedAt.getTime()) {
      points.push({
        at: event.receivedAt.toISOString(),
        score: scoreNow(),
        types: [...frameTypes],
      });
      frameTypes = new Set();
    }
  }
  return points;
}

/**
 * The points where the risk changed (the first, each change, and the last, so a chart runs to the
 * latest frame), then at most `max` of them, evenly spread and keeping the first and the last.
 */
export function riskChanges(
  points: readonly RiskPoint[],
  max: number,
): { points: RiskPoint[]; changes: number } {
  const changed = points.filter(
    (point, index) =>
      index === 0 || index === points.length - 1 || point.score !== points[index - 1]?.score,
  );
  if (changed.length <= max) return { points: changed, changes: changed.length };
  const kept: RiskPoint[] = [];
  for (let k = 0; k < max; k++) {
    kept.push(changed[Math.round((k * (changed.length - 1)) / (max - 1))] as RiskPoint);
  }
  return { points: kept, changes: changed.length };
}
