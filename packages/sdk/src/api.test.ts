import { parseBatch, type TrackedEvent } from '@winback/shared';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cart, consent, destroy, identify, init, on, track } from './api.js';
import { ARM_DELAY_MS } from './exit-intent.js';
import { flushStorage } from './storage.js';
import { ackOf, FakeSocket, fakeNetwork } from './testing/fake-network.js';
import type { InitOptions } from './types.js';

const options: InitOptions = {
  key: 'pk_test_0123456789abcdef',
  endpoint: 'https://winback.example',
};
const mug = { id: 'mug', title: 'Sunrise mug', quantity: 1, unitPrice: 1800 };

let warnings: ReturnType<typeof vi.spyOn>;
let acked: Set<number>;

/** Acks every frame as the server would, and returns every event sent so far, in order. */
function delivered(): TrackedEvent[] {
  const socket = FakeSocket.last;
  if (socket.readyState === 0) socket.open();
  for (let frame = socket.frames.find((each) => !acked.has(each.seq)); frame; ) {
    acked.add(frame.seq);
    socket.answer(ackOf(frame));
    frame = socket.frames.find((each) => !acked.has(each.seq));
  }
  return FakeSocket.instances.flatMap((each) =>
    each.sent.flatMap((text) => {
      // Every frame must be one the server accepts whole.
      const parsed = parseBatch(text);
      expect(parsed).toMatchObject({ ok: true, rejected: [] });
      return parsed.ok ? parsed.events : [];
    }),
  );
}
const types = () => delivered().map((event) => event.type);
const leaveThroughTop = () =>
  document.dispatchEvent(new MouseEvent('mouseout', { clientY: 0, relatedTarget: null }));

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  flushStorage();
  localStorage.clear();
  fakeNetwork();
  acked = new Set();
  warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  destroy();
  vi.clearAllTimers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('init', () => {
  it('throws on misuse, and only then', () => {
    expect(() => init({ endpoint: 'https://winback.example' } as InitOptions)).toThrow(
      /\[winback\]/,
    );
    expect(() => init({ ...options, endpoint: 'ftp://winback.example' })).toThrow(/\[winback\]/);
    expect(() => init(options)).not.toThrow();
    expect(FakeSocket.last.url).toBe(
      'wss://winback.example/v1/stream?key=pk_test_0123456789abcdef',
    );
  });

  it('sends a page_view with the page and the device, on an envelope the server accepts', () => {
    init(options);
    const [view] = delivered();
    expect(view).toMatchObject({
      type: 'page_view',
      page: { url: `${location.origin}/` },
      device: { viewport: { width: innerWidth, height: innerHeight } },
    });
    expect(view?.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(view?.ts).toBe(Date.now());
  });

  it('can skip the first page_view', () => {
    init({ ...options, pageView: false });
    expect(types()).toEqual([]);
  });

  it('replays calls made before it, in order', () => {
    cart({ currency: 'EUR', lines: [mug] });
    track('checkout_started');
    init(options);
    expect(types()).toEqual(['page_view', 'cart_updated', 'checkout_started']);
  });

  it('warns on a second call and keeps the first', () => {
    init(options);
    init({ ...options, key: 'pk_test_another_key_00' });
    expect(FakeSocket.instances).toHaveLength(1);
    expect(warnings).toHaveBeenCalledWith('[winback] W3', '');
  });
});

describe('events', () => {
  it('reports cart changes, and carries the cart id on every event after', () => {
    init(options);
    cart({ currency: 'EUR', lines: [mug] });
    cart({ currency: 'EUR', lines: [mug] });
    cart({ currency: 'EUR', lines: [{ ...mug, quantity: 2 }] });
    track('checkout_step', { step: 'shipping', index: 1 });
    const [view, added, changed, step] = delivered();
    expect(view?.cartId).toBeUndefined();
    expect(added).toMatchObject({
      type: 'cart_updated',
      changes: [{ kind: 'add', lineId: 'mug', to: 1 }],
    });
    expect(changed).toMatchObject({ changes: [{ kind: 'quantity', from: 1, to: 2 }] });
    expect(step).toMatchObject({ type: 'checkout_step', cartId: added?.cartId });
    expect(added?.cartId).toBeDefined();
    expect(new Set([view, added, changed, step].map((event) => event?.sessionId)).size).toBe(1);
  });

  it('sends the cart as it was reported, whatever the page does to its object later', () => {
    init(options);
    const reported = { currency: 'EUR', lines: [{ ...mug }] };
    cart(reported);
    (reported.lines[0] as typeof mug).quantity = 5;
    reported.lines.push({ ...mug, id: 'beans' });
    cart(reported);
    const [, first, second] = delivered();
    expect(first).toMatchObject({ cart: { lines: [{ id: 'mug', quantity: 1 }] } });
    expect(second).toMatchObject({
      changes: [
        { kind: 'quantity', lineId: 'mug', from: 1, to: 5 },
        { kind: 'add', lineId: 'beans', to: 1 },
      ],
    });
  });

  it('fills checkout_started from the cart, and starts a new cart after the order', () => {
    init(options);
    cart({ currency: 'EUR', lines: [mug] });
    track('checkout_started');
    track('order_completed', { orderId: '1001', value: 1800, currency: 'EUR' });
    cart({ currency: 'EUR', lines: [mug] });
    const [, added, started, order, next] = delivered();
    expect(started).toMatchObject({ type: 'checkout_started', value: 1800, currency: 'EUR' });
    expect(order).toMatchObject({ type: 'order_completed', cartId: added?.cartId });
    expect(next).toMatchObject({ type: 'cart_updated', changes: [{ kind: 'add' }] });
    expect(next?.cartId).not.toBe(added?.cartId);
  });

  it('refuses contact details through track(), and holds identify until consent', () => {
    init(options);
    track('identify' as 'page_view');
    identify({ email: 'jane@example.com' });
    expect(types()).toEqual(['page_view']);
    expect(warnings).toHaveBeenCalledWith('[winback] W6', 'identify');
    consent({ email: true, textVersion: '2026-11-01' });
    expect(delivered().at(-1)).toMatchObject({
      type: 'identify',
      email: 'jane@example.com',
      consent: { email: true, textVersion: '2026-11-01' },
    });
  });

  it('sends a new page_view for a page restored from the back-forward cache', () => {
    init(options);
    // (happy-dom's PageTransitionEvent drops `persisted`; browsers set it.)
    const restored = new Event('pageshow');
    Object.defineProperty(restored, 'persisted', { value: true });
    window.dispatchEvent(restored);
    expect(types()).toEqual(['page_view', 'page_view']);
  });

  it('never throws into the page after init, whatever it is given', () => {
    init(options);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (first, second) => {
        expect(() => cart(first as never)).not.toThrow();
        expect(() => track(first as never, second as never)).not.toThrow();
        expect(() => identify(first as never)).not.toThrow();
        expect(() => consent(first as never)).not.toThrow();
      }),
    );
  });
});

describe('exit intent', () => {
  it('is reported only while the cart has lines, by default', () => {
    init(options);
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leaveThroughTop();
    expect(types()).toEqual(['page_view']);
    cart({ currency: 'EUR', lines: [mug] });
    leaveThroughTop();
    expect(delivered().at(-1)).toMatchObject({ type: 'exit_intent', signal: 'mouse_top' });
  });

  it("is reported without a cart with exitIntent: 'always', and never with false", () => {
    init({ ...options, exitIntent: 'always' });
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leaveThroughTop();
    expect(types()).toContain('exit_intent');
    destroy();
    init({ ...options, exitIntent: false });
    cart({ currency: 'EUR', lines: [mug] });
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leaveThroughTop();
    expect(FakeSocket.last.sent.join()).not.toContain('exit_intent');
  });
});

describe('on', () => {
  it('hands server commands to listeners, which can stop listening', () => {
    init(options);
    FakeSocket.last.open();
    const overlays: unknown[] = [];
    const all: unknown[] = [];
    on('show_overlay', () => {
      throw new Error('a broken listener');
    });
    const stop = on('show_overlay', (command) => overlays.push(command.overlay));
    on('command', (command) => all.push(command.cmd));
    FakeSocket.last.answer({ t: 'cmd', cmd: 'prefetch_widget' });
    FakeSocket.last.answer({ t: 'cmd', cmd: 'show_overlay', overlay: { id: 'ten-off' } });
    stop();
    FakeSocket.last.answer({ t: 'cmd', cmd: 'show_overlay', overlay: { id: 'again' } });
    expect(overlays).toEqual([{ id: 'ten-off' }]);
    expect(all).toEqual(['prefetch_widget', 'show_overlay', 'show_overlay']);
  });
});
