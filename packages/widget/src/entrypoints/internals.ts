// Every module of the widget, for the unit suite's second run against minified code
// (dist/test/internals.min.mjs, built with dist/widget.js's terser options; not published).
export * from '../check.js';
export * from '../components/capture.js';
export * from '../components/reason.js';
export * from '../focus.js';
export * from '../format.js';
export * from '../show.js';
export * from '../styles.js';
export * from '../texts.js';
