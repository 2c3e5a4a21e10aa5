// Every module's exports in one entry, built minified (`dist/test/internals.min.mjs`) so the
// unit tests can run again against minified code. Not published.
export * from '../api.js';
export * from '../cart.js';
export * from '../config.js';
export * from '../consent.js';
export * from '../context.js';
export * from '../exit-intent.js';
export * from '../ids.js';
export * from '../queue.js';
export * from '../safe.js';
export * from '../snippet.js';
export * from '../storage.js';
export * from '../transport.js';
