import { listen } from './safe.js';
import type { ExitSignal } from './types.js';

export interface ExitIntentOptions {
  /** Touch devices watch scroll-up, tab return and idle; others the pointer leaving at the top. */
  mobile: boolean;
  /** Threshold multiplier: 0.5 (low), 1 (normal), 2 (high). */
  sensitivity: number;
  /** Whether a signal may fire now (by default only while the cart has lines). */
  allowed(): boolean;
}

/** Exit intent is ignored in the first second on a page: leaving that early is not leaving a cart. */
export const ARM_DELAY_MS = 1000;
/** How close to the top edge (px, at normal sensitivity) the pointer must leave the page. */
export const TOP_EDGE_PX = 10;
/** Upward scroll (px, at normal sensitivity) within the window that counts as fast. */
export const SCROLL_UP_PX = 200;
export const SCROLL_WINDOW_MS = 400;
/** No touch, key or scroll for this long (at normal sensitivity) counts as idle. */
export const IDLE_MS = 30_000;

/**
 * Watches for a shopper about to leave and reports each signal once per page, until re-armed:
 * on desktop the pointer leaving through the top edge (toward the tabs and the back button); on
 * touch devices a fast scroll up (toward the address bar), coming back to the tab after leaving
 * it, and going idle. Returns `rearm`, for a new page in a single-page app or a page restored
 * from the back-forward cache.
 *
 * @example
 *   const rearm = watchExitIntent((signal) => send('exit_intent', { signal }), options);
 */
export function watchExitIntent(
  report: (signal: ExitSignal) => void,
  { mobile, sensitivity, allowed }: ExitIntentOptions,
): () => void {
  const fired = new Set<ExitSignal>();
  let armed = false;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;

  const fire = (kind: ExitSignal) => {
    if (!armed || fired.has(kind) || !allowed()) return;
    fired.add(kind);
    report(kind);
  };
  const arm = () => {
    armed = false;
    fired.clear();
    setTimeout(() => {
      armed = true;
    }, ARM_DELAY_MS);
  };

  if (!mobile) {
    listen<MouseEvent>(document, 'mouseout', (event) => {
      // Leaving the window (no element to go to) through the top; a sideways leave is not it.
      if (!event.relatedTarget && event.clientY <= TOP_EDGE_PX * sensitivity) fire('mouse_top');
    });
  } else {
    let lastY = scrollY;
    let runY = lastY;
    let runAt = 0;
    listen(window, 'scroll', () => {
      const y = scrollY;
      const now = Date.now();
      // An upward run is measured from where the page last went down, or from the previous
      // position once the run has lasted longer than the window (a slow scroll is no flick).
      if (y >= lastY || now - runAt > SCROLL_WINDOW_MS) {
        runY = Math.max(y, lastY);
        runAt = now;
      }
      if (runY - y >= SCROLL_UP_PX / sensitivity) fire('scroll_up');
      lastY = y;
    });

    let left = false;
    listen(document, 'visibilitychange', () => {
      if (document.visibilityState === 'hidden') left = true;
      else if (left) fire('tab_hidden');
    });

    const active = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        if (document.visibilityState === 'visible') fire('idle');
      }, IDLE_MS / sensitivity);
    };
    for (const type of ['touchstart', 'scroll', 'keydown', 'pointerdown'])
      listen(window, type, active);
    active();
  }
  arm();
  return arm;
}
