import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ARM_DELAY_MS,
  IDLE_MS,
  SCROLL_UP_PX,
  sensitivityFactor,
  TOP_EDGE_PX,
  watchExitIntent,
} from './exit-intent.js';
import { unlisten } from './safe.js';
import { setVisibility } from './testing/fake-network.js';
import type { ExitSignal } from './types.js';

let reported: ExitSignal[];
let allowed: boolean;
const watch = ({ mobile = false, sensitivity = 1 } = {}) =>
  watchExitIntent(
    (signal) => reported.push(signal),
    sensitivity,
    () => allowed,
    mobile,
  );

/** The pointer leaves the window at `clientY` (null relatedTarget: nothing to go to). */
const leave = (clientY: number, clientX = 400) =>
  document.dispatchEvent(new MouseEvent('mouseout', { clientX, clientY, relatedTarget: null }));
const scrollTo = (y: number) => {
  Object.defineProperty(window, 'scrollY', { value: y, configurable: true });
  window.dispatchEvent(new Event('scroll'));
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  reported = [];
  allowed = true;
  scrollTo(0);
});
afterEach(() => {
  unlisten();
  vi.clearAllTimers();
  vi.useRealTimers();
  Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
  Object.defineProperty(document, 'hidden', { value: false, configurable: true });
});

describe('desktop: the pointer leaving through the top', () => {
  it('fires once the page has been open a second, and once per page', () => {
    watch();
    leave(0);
    expect(reported).toEqual([]);
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leave(0);
    leave(0);
    expect(reported).toEqual(['mouse_top']);
  });

  it('does not fire on a sideways leave, or when moving between elements', () => {
    watch();
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leave(400, 0);
    document.body.dispatchEvent(
      new MouseEvent('mouseout', {
        clientY: 0,
        bubbles: true,
        relatedTarget: document.documentElement,
      }),
    );
    expect(reported).toEqual([]);
  });

  it('fires again after re-arming (a new page in a single-page app)', () => {
    const rearm = watch();
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leave(0);
    rearm();
    leave(0);
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leave(0);
    expect(reported).toEqual(['mouse_top', 'mouse_top']);
  });

  it('stays quiet while not allowed (no cart)', () => {
    allowed = false;
    watch();
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leave(0);
    expect(reported).toEqual([]);
    allowed = true;
    leave(0);
    expect(reported).toEqual(['mouse_top']);
  });

  it('reaches further down the page at high sensitivity', () => {
    const nearTop = TOP_EDGE_PX * 1.5;
    watch({ sensitivity: 1 });
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leave(nearTop);
    expect(reported).toEqual([]);
    unlisten();
    watch({ sensitivity: 2 });
    vi.advanceTimersByTime(ARM_DELAY_MS);
    leave(nearTop);
    expect(reported).toEqual(['mouse_top']);
  });

  it('does not watch the mobile signals', () => {
    watch();
    vi.advanceTimersByTime(IDLE_MS * 2);
    setVisibility('hidden');
    setVisibility('visible');
    expect(reported).toEqual([]);
  });
});

describe('which signals', () => {
  it('follows the primary pointer: touch signals when it is coarse', () => {
    const matchMedia = window.matchMedia;
    try {
      window.matchMedia = ((query: string) => ({ matches: query === '(pointer:coarse)' })) as never;
      watchExitIntent(
        (signal) => reported.push(signal),
        1,
        () => allowed,
      );
      vi.advanceTimersByTime(ARM_DELAY_MS);
      setVisibility('hidden');
      setVisibility('visible');
      leave(0);
      expect(reported).toEqual(['tab_hidden']);
      unlisten();
      window.matchMedia = (() => ({ matches: false })) as never;
      watchExitIntent(
        (signal) => reported.push(signal),
        1,
        () => allowed,
      );
      vi.advanceTimersByTime(ARM_DELAY_MS);
      setVisibility('hidden');
      setVisibility('visible');
      leave(0);
      expect(reported).toEqual(['tab_hidden', 'mouse_top']);
    } finally {
      window.matchMedia = matchMedia;
    }
  });
});

describe('touch devices', () => {
  it('fires on a fast scroll up, not a slow one', () => {
    watch({ mobile: true });
    vi.advanceTimersByTime(ARM_DELAY_MS);
    scrollTo(3000);
    // Slowly up, a little at a time.
    for (let y = 3000; y > 2000; y -= 50) {
      vi.advanceTimersByTime(500);
      scrollTo(y);
    }
    expect(reported).toEqual([]);
    vi.advanceTimersByTime(100);
    scrollTo(1900);
    vi.advanceTimersByTime(100);
    scrollTo(1900 - SCROLL_UP_PX);
    expect(reported).toEqual(['scroll_up']);
  });

  it('fires when the shopper comes back to the tab', () => {
    watch({ mobile: true });
    vi.advanceTimersByTime(ARM_DELAY_MS);
    setVisibility('hidden');
    expect(reported).toEqual([]);
    setVisibility('visible');
    expect(reported).toEqual(['tab_hidden']);
  });

  it('fires after a while without touch, scroll or keys; activity starts the wait again', () => {
    watch({ mobile: true });
    vi.advanceTimersByTime(IDLE_MS - 1);
    window.dispatchEvent(new Event('touchstart'));
    vi.advanceTimersByTime(IDLE_MS - 1);
    expect(reported).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reported).toEqual(['idle']);
  });
});

describe('sensitivityFactor', () => {
  it('scales exit-intent thresholds', () => {
    expect([
      sensitivityFactor('low'),
      sensitivityFactor('normal'),
      sensitivityFactor('high'),
    ]).toEqual([0.5, 1, 2]);
    expect(sensitivityFactor(undefined)).toBe(1);
  });
});
