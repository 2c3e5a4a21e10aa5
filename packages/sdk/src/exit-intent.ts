import { listen } from './safe.js';
import type { ExitSignal, InitOptions } from './types.js';

/** Exit intent is ignored in the first second on a page: leaving that early is not leaving a cart. */
export const ARM_DELAY_MS = 1000;
/** How close to the top edge (px, at normal sensitivity) the pointer must leave the page. */
export const TOP_EDGE_PX = 10;
/** Upward scroll (px, at normal sensitivity) within the window that counts as fast. */
export const SCROLL_UP_PX = 200;
export const SCROLL_WINDOW_MS = 400;
/** No touch, key or scroll for this long (at normal sensitivity) counts as idle. */
export const IDLE_MS = 30_000;

/** Exit-intent threshold multiplier for `init`'s `sensitivity`. */
export const sensitivityFactor = (sensitivity: InitOptions['sensitivity']): number =>
  sensitivity === 'low' ? 0.5 : sensitivity === 'high' ? 2 : 1;

/**
 * Watches for a shopper about to leave and reports each signal once per page, until re-armed:
 * on desktop the pointer leaving through the top edge (toward the tabs and the back button); on
 * touch devices (`mobile`, by default when the primary pointer is coarse) a fast scroll up
 * (toward the address bar), coming back to the tab after leaving it, and going idle.
 * `sensitivity` multiplies the thresholds' reach (0.5, 1 or 2); a signal fires only while
 * `allowed()` (by default, while the cart has lines). Returns `rearm`, for a new page in a
 * single-page app or a page restored from the back-forward cache.
 *
 * @example
 *   const rearm = watchExitIntent((signal) => send('exit_intent', { signal }), 1, () => true);
 */
export function watchExitIntent(
  report: (signal: ExitSignal) => void,
  sensitivity: number,
  allowed: () => boolean,
  mobile: boolean = matchMedia('(pointer:coarse)').matches,
): () => void {
  /** The signals reported since the last arming; none while disarmed. */
  let fired: { [kind in ExitSignal]?: boolean } | undefined;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;

  const fire = (kind: ExitSignal) => {
    if (fired && !fired[kind] && allowed()) {
      fired[kind] = true;
      report(kind);
    }
  };
  const arm = () => {
    fired = undefined;
    setTimeout(() => {
      fired = {};
    }, ARM_DELAY_MS);
  };

  if (mobile) {
    let lastY = scrollY;
    let runY = lastY;
    let runAt = 0;
    let left = false;
    const active = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        if (!document.hidden) fire('idle');
      }, IDLE_MS / sensitivity);
    };
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
      active();
    });
    listen(document, 'visibilitychange', () => {
      if (document.hidden) left = true;
      else if (left) fire('tab_hidden');
    });
    for (const type of ['touchstart', 'keydown', 'pointerdown']) listen(window, type, active);
    active();
  } else {
    listen<MouseEvent>(document, 'mouseout', (event) => {
      // Leaving the window (no element to go to) through the top; a sideways leave is not it.
      if (!event.relatedTarget && event.clientY <= TOP_EDGE_PX * sensitivity) fire('mouse_top');
    });
  }
  arm();
  return arm;
}
