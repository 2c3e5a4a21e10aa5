// Builds of @winback/widget:
//   dist/widget.js                 ES module with Preact bundled in, minified (the size budget
//                                  applies here); the sdk imports it when an overlay may be needed
//   dist/test/internals.min.mjs    every module, minified exactly like widget.js, for the unit
//                                  suite's second run against minified code (not published)
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import esbuild from 'rollup-plugin-esbuild';

const target = 'es2020';

// @winback/shared is a workspace package of TypeScript sources; the widget takes only types
// from it, so nothing of it should be bundled (the no-zod guard below makes sure).
const resolve = () =>
  nodeResolve({ extensions: ['.ts', '.tsx', '.js', '.mjs'], exportConditions: ['default'] });
const transpile = () => esbuild({ target, tsconfig: 'tsconfig.json' });

/**
 * The sdk's terser options, proven safe for this code too: the unit suite runs again against a
 * build made with them (dist/test/internals.min.mjs). Properties starting with `_` are mangled,
 * which includes Preact's own internals (`__k`, `__e`, ...), consistently, as Preact is bundled
 * whole.
 */
const minify = () =>
  terser({
    ecma: 2020,
    module: true,
    toplevel: true,
    compress: { passes: 3, unsafe_arrows: true, unsafe_methods: true, pure_getters: true },
    mangle: { toplevel: true, properties: { regex: /^_/ } },
    format: { comments: false },
  });

// zod has no place in a storefront: refuse it, and any runtime import of @winback/shared.
const typesOnly = {
  name: 'types-only',
  resolveId(source, importer) {
    if (source === 'zod' || source.startsWith('zod/') || source.startsWith('@winback/shared')) {
      throw new Error(`${source} must not reach the widget bundle (imported by ${importer})`);
    }
    return null;
  },
};

export default [
  {
    input: 'src/index.ts',
    output: { file: 'dist/widget.js', format: 'es' },
    plugins: [typesOnly, resolve(), transpile(), minify()],
  },
  {
    input: 'src/entrypoints/internals.ts',
    output: { file: 'dist/test/internals.min.mjs', format: 'es' },
    plugins: [typesOnly, resolve(), transpile(), minify()],
  },
];
