// Every module's exports in one entry, built minified (`dist/test/internals.min.mjs`) so the
// unit tests can run again against minified code. The lazy part's modules are in it too (through
// `lazy.ts`, which bundles them); its entry is reached with `loadLazy()`. Not published.
export * from '../api.js';
export * from '../cart.js';
export * from '../config.js';
export * from '../consent.js';
export * from '../context.js';
export * from '../exit-intent.js';
export * from '../http.js';
export * from '../ids.js';
export * from '../lazy.js';
export * from '../queue.js';
export * from '../safe.js';
export * from '../snippet.js';
export * from '../storage.js';
export * from '../transport.js';
