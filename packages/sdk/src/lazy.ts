import * as bundled from './entrypoints/lazy.js';

// How the core gets its lazy part (exit intent, consent and identify, the HTTP fallback). Here it
// is bundled with the core: the npm build (a store's bundler splits code as it sees fit) and the
// unit tests. The script-tag build swaps this module for `lazy.script.ts`, which loads the part
// from its own file.

/** The lazy part's exports. */
export type LazyPart = typeof bundled;

/** The lazy part, one microtask later, as if it had been loaded. */
export const loadLazy = (): Promise<LazyPart> => Promise.resolve(bundled);

/**
 * Where winback.js came from: the script-tag build loads its lazy part from there; a bundled part
 * needs nothing.
 */
export const loadedFrom = (_url: string | undefined): void => {};
