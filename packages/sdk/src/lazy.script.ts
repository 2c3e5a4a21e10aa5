import type { LazyPart } from './lazy.js';

// The script-tag build's `lazy.ts`: the lazy part is a file of its own next to winback.js, named
// by a hash of its content, so a cached core never runs with another build's part. The name is
// written in by the build (rollup.config.mjs). The part is an ES module: `import()` fetches it
// with CORS, and is no Trusted Types sink (a CSP's script-src must allow its origin, as it does
// for winback.js).

declare const LAZY_FILE: string;

/** The URL of winback.js, which the part's is resolved against (the page's URL if unknown). */
let script: string | undefined;

/**
 * Tells where winback.js came from: its tag, as `install` finds it. (A relative `import()` would
 * not do: in a script from another origin it resolves against about:blank.)
 */
export const loadedFrom = (url: string | undefined): void => {
  script = url;
};

/** The lazy part, imported from next to winback.js. */
export const loadLazy = (): Promise<LazyPart> =>
  import(new URL(LAZY_FILE, script || (location as unknown as string)).href);
