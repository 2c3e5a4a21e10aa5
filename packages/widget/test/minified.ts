import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

const source = fileURLToPath(new URL('../src/', import.meta.url));
const minified = fileURLToPath(new URL('../dist/test/internals.min.mjs', import.meta.url));

/**
 * Runs the widget's unit tests against its minified build, as the sdk's `sdk-min` project does:
 * a widget module imported by a widget test resolves to one bundle of every module
 * (dist/test/internals.min.mjs), minified with dist/widget.js's terser options. Test helpers in
 * `src/testing/` stay as they are.
 */
export function minifiedWidget(): Plugin {
  return {
    name: 'winback-widget-minified',
    enforce: 'pre',
    resolveId(specifier, importer) {
      if (!importer?.startsWith(source) || !/\.test\.ts$/.test(importer)) return null;
      if (!specifier.startsWith('.')) return null;
      const target = resolve(dirname(importer), specifier);
      if (!target.startsWith(source) || target.includes('/testing/')) return null;
      return minified;
    },
  };
}
