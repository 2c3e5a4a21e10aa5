// Source entry for workspace packages; the published package points at the built `dist/`.
export * from './entrypoints/npm.js';
