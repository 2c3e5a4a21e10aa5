import { parseBatch, type TrackedEvent } from '@winback/shared';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cart, consent, destroy, identify, init, loadLazyWith, on, track } from './api.js';
import { ARM_DELAY_MS } from './exit-intent.js';
import { type LazyPart, loadLazy } from './lazy.js';
import { flushStorage } from './storage.js';
import { ackOf, FakeSocket, fakeNetwork, settled } from './testing/fake-network.js';
import type { InitOptions } from './types.js';

const options: InitOptions = {
  key: 'pk_test_0123456789abcdef',
  endpoint: 'https://winback.example',
};
const mug = { id: 'mug', title: 'Sunrise mug', quantity: 1, unitPrice: 1800 };

let warnings: ReturnType<typeof vi.spyOn>;
let acked: Set<number>;
/** How often the lazy part was asked for. */
let loads: number;

/**
 * Lets the calls made so far run, acks every frame as the server would, and returns every event
 * sent so far, in order.
 */
async function delivered(): Promise<TrackedEvent[]> {
  await settled();
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
const types = async () => (await delivered()).map((event) => event.type);
const leaveThroughTop = () =>
  document.dispatchEvent(new MouseEvent('mouseout', { clientY: 0, relatedTarget: null }));
const setGpc = (value: boolean | undefined) =>
  Object.defineProperty(navigator, 'globalPrivacyControl', { value, configurable: true });

/** A lazy part that arrives only when the test says so. */
function lateLazyPart(): () => void {
  let arrive = () => {};
  loadLazyWith(() => {
    loads++;
    return new Promise<LazyPart>((resolve) => {
      arrive = () => void loadLazy().then(resolve);
    });
  });
  return () => arrive();
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  flushStorage();
  localStorage.clear();
  fakeNetwork();
  acked = new Set();
  loads = 0;
  loadLazyWith(() => {
    loads++;
    return loadLazy();
  });
  warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(async () => {
  await settled();
  destroy();
  setGpc(undefined);
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

  it('sends a page_view with the page and the device, on an envelope the server accepts', async () => {
    init(options);
    const [view] = await delivered();
    expect(view).toMatchObject({
      type: 'page_view',
      page: { url: `${location.origin}/` },
      device: { viewport: { width: innerWidth, height: innerHeight } },
    });
    expect(view?.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(view?.ts).toBe(Date.now());
  });

  it('can skip the first page_view', async () => {
    init({ ...options, pageView: false });
    expect(await types()).toEqual([]);
  });

  it('replays calls made before it, in order', async () => {
    cart({ currency: 'EUR', lines: [mug] });
    track('checkout_started');
    init(options);
    expect(await types()).toEqual(['page_view', 'cart_updated', 'checkout_started']);
  });

  it('lets at most 100 calls wait for it', async () => {
    for (let index = 0; index < 101; index++) track('checkout_step', { step: 's', index });
    init({ ...options, pageView: false });
    expect(await types()).toHaveLength(100);
  });

  it('warns on a second call and keeps the first', () => {
    init(options);
    init({ ...options, key: 'pk_test_another_key_00' });
    expect(FakeSocket.instances).toHaveLength(1);
    expect(warnings).toHaveBeenCalledWith('[winback] W3', '');
  });
});

describe('events', () => {
  it('reports cart changes, and carries the cart id on every event after', async () => {
    init(options);
    cart({ currency: 'EUR', lines: [mug] });
    cart({ currency: 'EUR', lines: [mug] });
    cart({ currency: 'EUR', lines: [{ ...mug, quantity: 2 }] });
    track('checkout_step', { step: 'shipping', index: 1 });
    const [view, added, changed, step] = await delivered();
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

  it('does not send the first, empty, cart a browser sees', async () => {
    init(options);
    cart({ currency: 'EUR', lines: [] });
    track('checkout_started');
    expect(await types()).toEqual(['page_view', 'checkout_started']);
  });

  it('sends the cart as it was reported, whatever the page does to its object later', async () => {
    init(options);
    const reported = { currency: 'EUR', lines: [{ ...mug }] };
    cart(reported);
    (reported.lines[0] as typeof mug).quantity = 5;
    reported.lines.push({ ...mug, id: 'beans' });
    cart(reported);
    const [, first, second] = await delivered();
    expect(first).toMatchObject({ cart: { lines: [{ id: 'mug', quantity: 1 }] } });
    expect(second).toMatchObject({
      changes: [
        { kind: 'quantity', lineId: 'mug', from: 1, to: 5 },
        { kind: 'add', lineId: 'beans', to: 1 },
      ],
    });
  });

  it('fills checkout_started from the cart, and starts a new cart after the order', async () => {
    init(options);
    cart({ currency: 'EUR', lines: [mug] });
    track('checkout_started');
    track('order_completed', { orderId: '1001', value: 1800, currency: 'EUR' });
    cart({ currency: 'EUR', lines: [mug] });
    const [, added, started, order, next] = await delivered();
    expect(started).toMatchObject({ type: 'checkout_started', value: 1800, currency: 'EUR' });
    expect(order).toMatchObject({ type: 'order_completed', cartId: added?.cartId });
    expect(next).toMatchObject({ type: 'cart_updated', changes: [{ kind: 'add' }] });
    expect(next?.cartId).not.toBe(added?.cartId);
  });

  it('refuses contact details through track(), and holds identify until consent', async () => {
    init(options);
    track('identify' as 'page_view');
    identify({ email: 'jane@example.com' });
    expect(await types()).toEqual(['page_view']);
    expect(warnings).toHaveBeenCalledWith('[winback] W6', 'identify');
    consent({ email: true, textVersion: '2026-11-01' });
    expect((await delivered()).at(-1)).toMatchObject({
      type: 'identify',
      email: 'jane@example.com',
      consent: { email: true, textVersion: '2026-11-01' },
    });
  });

  it('sends a new page_view for a page restored from the back-forward cache', async () => {
    init(options);
    // (happy-dom's PageTransitionEvent drops `persisted`; browsers set it.)
    const restored = new Event('pageshow');
    Object.defineProperty(restored, 'persisted', { value: true });
    window.dispatchEvent(restored);
    expect(await types()).toEqual(['page_view', 'page_view']);
  });

  it('never throws into the page after init, whatever it is given', async () => {
    init(options);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (first, second) => {
        expect(() => cart(first as never)).not.toThrow();
        expect(() => track(first as never, second as never)).not.toThrow();
        expect(() => identify(first as never)).not.toThrow();
        expect(() => consent(first as never)).not.toThrow();
      }),
    );
    // Nor later: a rejection nobody handles would fail this run.
    await settled();
  });
});

describe('the lazy part', () => {
  it('is not loaded for a page without a cart, consent or identify', async () => {
    init(options);
    track('checkout_step', { step: 'shipping' });
    cart({ currency: 'EUR', lines: [] });
    expect(await types()).toEqual(['page_view', 'checkout_step']);
    expect(loads).toBe(0);
  });

  it('is loaded once, when the cart first has lines', async () => {
    init(options);
    cart({ currency: 'EUR', lines: [mug] });
    cart({ currency: 'EUR', lines: [{ ...mug, quantity: 2 }] });
    await settled();
    expect(loads).toBe(1);
  });

  it('is loaded at init when a cart with lines is stored, or for Global Privacy Control', async () => {
    init(options);
    cart({ currency: 'EUR', lines: [mug] });
    await settled();
    flushStorage();
    destroy();
    loads = 0;
    init(options);
    expect(loads).toBe(1);

    destroy();
    localStorage.clear();
    loads = 0;
    setGpc(true);
    init(options);
    expect(loads).toBe(1);
    expect(await delivered()).toContainEqual(
      expect.objectContaining({ type: 'consent_changed', source: 'gpc' }),
    );
  });

  it('keeps the calls made while it loads waiting, and runs them in order once it is here', async () => {
    const arrive = lateLazyPart();
    init(options);
    consent({ email: true, textVersion: 'v1' });
    cart({ currency: 'EUR', lines: [mug] });
    identify({ email: 'jane@example.com' });
    track('checkout_started');
    // Nothing behind the waiting consent() has run yet; nothing personal has left.
    expect(await types()).toEqual(['page_view']);
    arrive();
    expect(await types()).toEqual([
      'page_view',
      'consent_changed',
      'cart_updated',
      'identify',
      'checkout_started',
    ]);
    expect(loads).toBe(1);
  });

  it('warns (W14) when it cannot load, drops consent and identify, and carries on', async () => {
    loadLazyWith(() => {
      loads++;
      return Promise.reject(new TypeError('Failed to fetch dynamically imported module'));
    });
    init(options);
    identify({ email: 'jane@example.com' });
    consent({ email: true, textVersion: 'v1' });
    track('checkout_started');
    expect(await types()).toEqual(['page_view', 'checkout_started']);
    expect(warnings).toHaveBeenCalledWith('[winback] W14', expect.any(TypeError));
    // Each later need tries again.
    expect(loads).toBe(2);
    loadLazyWith(loadLazy);
    consent({ email: true, textVersion: 'v1' });
    expect((await types()).at(-1)).toBe('consent_changed');
  });
});

describe('exit intent', () => {
  it('is reported only while the cart has lines, by default', async () => {
    init(options);
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leaveThroughTop();
    expect(await types()).toEqual(['page_view']);
    cart({ currency: 'EUR', lines: [mug] });
    await settled();
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leaveThroughTop();
    expect((await delivered()).at(-1)).toMatchObject({ type: 'exit_intent', signal: 'mouse_top' });
  });

  it("is reported without a cart with exitIntent: 'always', and never with false", async () => {
    init({ ...options, exitIntent: 'always' });
    await settled();
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leaveThroughTop();
    expect(await types()).toContain('exit_intent');
    destroy();
    init({ ...options, exitIntent: false });
    cart({ currency: 'EUR', lines: [mug] });
    await settled();
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leaveThroughTop();
    await settled();
    expect(FakeSocket.last.sent.join()).not.toContain('exit_intent');
  });

  it('is re-armed by a page_view (single-page-app navigation)', async () => {
    init({ ...options, exitIntent: 'always' });
    await settled();
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leaveThroughTop();
    track('page_view');
    await settled();
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leaveThroughTop();
    expect((await types()).filter((type) => type === 'exit_intent')).toHaveLength(2);
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
