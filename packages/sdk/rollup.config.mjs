// Builds of @winback/sdk:
//   dist/winback.js               script-tag build: IIFE, minified (the size budget applies here)
//   dist/index.mjs, dist/index.cjs npm builds, readable (the user's bundler minifies)
//   dist/index.d.ts, .d.cts        bundled types, standing alone (no @winback/shared, no zod)
//   dist/test/internals.min.mjs    every module, minified exactly like winback.js, for the
//                                  unit suite's second run against minified code (not published)
import { readFile } from 'node:fs/promises';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { transform } from 'esbuild';
import { dts } from 'rollup-plugin-dts';
import esbuild from 'rollup-plugin-esbuild';

const target = 'es2020';

// The protocol limits come from @winback/shared (the single source of truth) and are written
// into the code as numbers: a frozen object cannot be folded by the minifier.
const limitsSource = await readFile(new URL('../shared/src/limits.ts', import.meta.url), 'utf8');
const { limits } = await import(
  `data:text/javascript,${encodeURIComponent((await transform(limitsSource, { loader: 'ts' })).code)}`
);
const inlineLimits = {
  name: 'inline-limits',
  transform(code, id) {
    if (!/[\\/]sdk[\\/]src[\\/]/.test(id)) return null;
    const inlined = code.replace(/\blimits\.(\w+)\b/g, (_, name) => {
      if (!(name in limits)) throw new Error(`unknown limit ${name} in ${id}`);
      return String(limits[name]);
    });
    // Same length per line is not kept, but no source maps are published.
    return { code: inlined, map: null };
  },
};
// @winback/shared is a workspace package of TypeScript sources: resolve and inline what the
// sdk imports from it (the zod-free `limits`; everything else is `import type`).
const resolve = () => nodeResolve({ extensions: ['.ts', '.js'], exportConditions: ['default'] });
const transpile = () => [esbuild({ target, tsconfig: 'tsconfig.json' }), inlineLimits];

/**
 * Aggressive, and proven safe for this code: the unit suite runs again against a build made with
 * the same options (dist/test/internals.min.mjs). Properties starting with `_` are mangled too.
 */
export const minify = (module) =>
  terser({
    ecma: 2020,
    module,
    toplevel: true,
    compress: { passes: 3, unsafe_arrows: true, unsafe_methods: true, pure_getters: true },
    mangle: { toplevel: true, properties: { regex: /^_/ } },
    format: { comments: false },
  });

// Only the sdk's own sources and @winback/shared's zod-free limits may be bundled.
const noZod = {
  name: 'no-zod',
  resolveId(source, importer) {
    if (source === 'zod' || source.startsWith('zod/')) {
      throw new Error(`zod must not reach a browser bundle (imported by ${importer})`);
    }
    return null;
  },
};

export default [
  {
    input: 'src/entrypoints/script.ts',
    // No "use strict" prologue: nothing in the sdk behaves differently without it (no `this` in
    // plain calls, no `arguments`, no writes that strict mode would turn into errors), and the
    // minified test build, an ES module, runs the same code strict.
    output: { file: 'dist/winback.js', format: 'iife', strict: false },
    plugins: [noZod, resolve(), transpile(), minify(false)],
  },
  {
    input: 'src/entrypoints/npm.ts',
    output: [
      { file: 'dist/index.mjs', format: 'es' },
      { file: 'dist/index.cjs', format: 'cjs' },
    ],
    plugins: [noZod, resolve(), transpile()],
  },
  {
    input: 'src/entrypoints/npm.ts',
    output: [
      { file: 'dist/index.d.ts', format: 'es' },
      { file: 'dist/index.d.cts', format: 'es' },
    ],
    plugins: [dts()],
  },
  {
    input: 'src/entrypoints/internals.ts',
    output: { file: 'dist/test/internals.min.mjs', format: 'es' },
    plugins: [noZod, resolve(), transpile(), minify(true)],
  },
];
