import type { listen as Listen, warn as Warn } from './safe.js';
import type { persist as Persist, read as Read } from './storage.js';

// The core's functions, as the lazy part of the script-tag build sees them. That part is a file
// of its own (`winback-lazy-<hash>.js`) and must not carry copies of core modules: the warn-once
// codes, the page's listeners and the storage writes due on page hide live in the core. So the
// build resolves the lazy part's imports of `safe.js` and `storage.js` to this module
// (rollup.config.mjs), and the core fills it in with its own functions when it loads the part.
// Where the part is bundled with the core (npm build, unit tests) nothing reads these.

export let warn: typeof Warn;
export let listen: typeof Listen;
export let persist: typeof Persist;
export let read: typeof Read;

/** What the core lends, in this order. */
export type Lent = [typeof warn, typeof listen, typeof persist, typeof read];

/** Takes the core's functions (`link`, in the lazy part's entry, calls it). */
export function lend(core: Lent): void {
  [warn, listen, persist, read] = core;
}
