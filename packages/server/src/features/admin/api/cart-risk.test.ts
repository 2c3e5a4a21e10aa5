import type { TrackedEvent } from '@winback/shared';
import { ulid } from '@winback/shared/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { score } from '../../../domain/score.js';
import { cartFeatures, foldCarts, initialStatus } from '../../ingest/projection.js';
import { type RiskEvent, type RiskPoint, replayRisk, riskChanges } from './cart-risk.js';

// The replay against real Postgres and the ingest's stored scores is in
// test/admin.cart-timeline.test.ts; these pin the in-memory part against the ingest's own fold.

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/** What the timeline's query reads of a stored event (see `riskEventsOf` in carts.ts). */
function asRiskEvent(event: TrackedEvent, receivedAt: number): RiskEvent {
  const changes = event.type === 'cart_updated' ? event.changes : undefined;
  return {
    id: event.id,
    type: event.type,
    ts: new Date(event.ts),
    receivedAt: new Date(receivedAt),
    subtotal: event.type === 'cart_updated' ? event.cart.subtotal : null,
    lineCount: event.type === 'cart_updated' ? event.cart.lines.length : null,
    edits: changes ? changes.filter((change) => change.kind !== 'remove').length : null,
    removals: changes ? changes.filter((change) => change.kind === 'remove').length : null,
    signal: event.type === 'exit_intent' ? event.signal : null,
    url: event.type === 'page_view' ? event.page.url : null,
    device: event.type === 'page_view' ? (event.device?.type ?? null) : null,
    utm: event.type === 'page_view' ? (event.page.utm ?? null) : null,
  };
}

/** The score the ingest gives a cart whose events all come in one frame. */
function ingestScore(events: readonly TrackedEvent[], timeZone: string): number {
  const [fold] = foldCarts(events);
  if (!fold) throw new Error('no cart');
  return score(
    cartFeatures(
      {
        id: 'cart',
        idle_due_at: null,
        status: initialStatus(fold),
        value_minor: fold.snapshot?.cart.subtotal ?? 0,
        line_count: fold.snapshot?.cart.lines.length ?? 0,
        checkout_at: fold.checkoutTs === undefined ? null : new Date(fold.checkoutTs),
        last_activity_at: new Date(fold.lastActivityTs),
        device: fold.context?.device ?? null,
        utm: fold.context?.utm ?? null,
        returning_shopper: false,
        ...fold.counts,
      },
      timeZone,
    ),
  );
}

const cartEvent = (): fc.Arbitrary<TrackedEvent> => {
  const base = fc.record({
    id: ulid(),
    ts: fc.integer({ min: T0, max: T0 + 6 * 3_600_000 }),
    sessionId: fc.constant('session_0001'),
    anonymousId: fc.constant('anon_000001'),
    cartId: fc.constant('cart-1'),
  });
  const change = fc.record({
    kind: fc.constantFrom('add', 'remove', 'quantity' as const),
    lineId: fc.constantFrom('a', 'b'),
  });
  return fc.oneof(
    fc.tuple(base, fc.integer({ min: 0, max: 4 }), fc.array(change, { maxLength: 4 })).map(
      ([envelope, lines, changes]): TrackedEvent => ({
        ...envelope,
        type: 'cart_updated',
        cart: {
          currency: 'EUR',
          subtotal: lines * 2_500,
          lines: Array.from({ length: lines }, (_, index) => ({
            id: `l${index}`,
            title: 'Mug',
            quantity: 1,
            unitPrice: 2_500,
          })),
        },
        ...(changes.length > 0 ? { changes } : {}),
      }),
    ),
    fc
      .tuple(
        base,
        fc.constantFrom('https://shop.example/', 'https://shop.example/products/mug'),
        fc.option(fc.constantFrom('desktop', 'mobile', 'tablet' as const), { nil: undefined }),
        fc.option(fc.constantFrom('google', 'facebook', 'newsletter'), { nil: undefined }),
      )
      .map(
        ([envelope, url, device, source]): TrackedEvent => ({
          ...envelope,
          type: 'page_view',
          page: { url, ...(source ? { utm: { source } } : {}) },
          ...(device ? { device: { type: device, viewport: { width: 1, height: 1 } } } : {}),
        }),
      ),
    fc
      .tuple(base, fc.constantFrom('mouse_top', 'scroll_up', 'tab_hidden', 'idle', 'back' as const))
      .map(([envelope, signal]): TrackedEvent => ({ ...envelope, type: 'exit_intent', signal })),
    base.map((envelope): TrackedEvent => ({ ...envelope, type: 'checkout_started' })),
    base.map((envelope): TrackedEvent => ({ ...envelope, type: 'checkout_step', step: 'pay' })),
    base.map(
      (envelope): TrackedEvent => ({ ...envelope, type: 'overlay_shown', overlayId: 'ov_exit_1' }),
    ),
  );
};

describe('replayRisk', () => {
  it('ends, however the events were split into frames and ordered, where the ingest ends', () => {
    fc.assert(
      fc.property(
        fc.array(cartEvent(), { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom('UTC', 'Europe/Berlin', 'Pacific/Auckland'),
        (events, cuts, timeZone) => {
          // Frames in arrival order: the events in the order given, cut where `cuts` says.
          const frames: TrackedEvent[][] = [];
          let rest = [...events];
          for (const cut of cuts) {
            if (rest.length === 0) break;
            const size = 1 + (cut % rest.length);
            frames.push(rest.slice(0, size));
            rest = rest.slice(size);
          }
          if (rest.length > 0) frames.push(rest);
          const riskEvents = frames.flatMap((frame, index) =>
            frame.map((event) => asRiskEvent(event, T0 + index * 1_000)),
          );
          const points = replayRisk(riskEvents, { timeZone, returningShopper: false });
          expect(points).toHaveLength(frames.length);
          expect(points.at(-1)?.score).toBe(ingestScore(events, timeZone));
          // Each point is the ingest's score for everything received up to its frame.
          for (const [index, point] of points.entries()) {
            expect(point.score).toBe(ingestScore(frames.slice(0, index + 1).flat(), timeZone));
            expect(point.at).toBe(new Date(T0 + index * 1_000).toISOString());
            expect(new Set(point.types)).toEqual(new Set(frames[index]?.map((e) => e.type)));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts only the exit signals it knows, and reads odd rows as nothing', () => {
    const event = (signal: string | null, id: string): RiskEvent => ({
      id,
      type: 'exit_intent',
      ts: new Date(T0),
      receivedAt: new Date(T0),
      subtotal: null,
      lineCount: null,
      edits: null,
      removals: null,
      signal,
      url: null,
      device: null,
      utm: null,
    });
    const [known] = replayRisk([event('back', 'a')], { timeZone: 'UTC', returningShopper: false });
    const [odd] = replayRisk([event('toString', 'a'), event(null, 'b')], {
      timeZone: 'UTC',
      returningShopper: false,
    });
    const [none] = replayRisk([{ ...event(null, 'a'), type: 'overlay_action', subtotal: 'x' }], {
      timeZone: 'UTC',
      returningShopper: false,
    });
    expect(known?.score).toBeGreaterThan(none?.score ?? 1);
    expect(odd?.score).toBe(none?.score);
    expect(replayRisk([], { timeZone: 'UTC', returningShopper: false })).toEqual([]);
  });
});

describe('riskChanges', () => {
  const point = (at: number, value: number): RiskPoint => ({
    at: new Date(T0 + at * 1_000).toISOString(),
    score: value,
    types: ['page_view'],
  });

  it('keeps the first point, each change and the last point', () => {
    const points = [point(0, 0.5), point(1, 0.5), point(2, 0.6), point(3, 0.6), point(4, 0.6)];
    expect(riskChanges(points, 200)).toEqual({
      points: [point(0, 0.5), point(2, 0.6), point(4, 0.6)],
      changes: 3,
    });
  });

  it('never answers more than `max` points, in order, from the changes, ending with the last', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 9_999 }), { maxLength: 600 }),
        fc.integer({ min: 2, max: 250 }),
        (scores, max) => {
          const points = scores.map((value, index) => point(index, value / 10_000));
          const { points: kept, changes } = riskChanges(points, max);
          expect(kept.length).toBeLessThanOrEqual(max);
          expect(kept.length).toBe(Math.min(changes, max));
          expect(kept[0]).toEqual(points[0]);
          expect(kept.at(-1)).toEqual(points.at(-1));
          const times = kept.map((p) => p.at);
          expect([...times].sort()).toEqual(times);
          expect(new Set(times).size).toBe(times.length);
          for (const p of kept) expect(points).toContainEqual(p);
        },
      ),
    );
  });
});
