// Builds of @winback/sdk:
//   dist/winback.js                 script-tag build, core: IIFE, minified (the size budget applies)
//   dist/winback-lazy-<hash>.js     script-tag build, lazy part: an ES module, minified, that the
//                                   core imports from its own folder when a page first needs it
//   dist/index.mjs, dist/index.cjs  npm builds, everything in one file, readable (the user's
//                                   bundler minifies and splits)
//   dist/index.d.ts, .d.cts         bundled types, standing alone (no @winback/shared, no zod)
//   dist/test/internals.min.mjs     every module, the lazy part's too, minified exactly like the
//                                   script-tag build, for the unit suite's second run against
//                                   minified code (not published)
import { readdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
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
 * `unsafe_arrows` turns function expressions into arrow functions, which cannot be called with
 * `new`: what is made with `new` must be a class.
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

const source = (file) => fileURLToPath(new URL(`src/${file}`, import.meta.url));
const sdkModule = (id) => /[\\/]sdk[\\/]src[\\/]/.test(id) && !id.startsWith('\0');

// The lazy part is built first; the core is built knowing its file name and its modules.
let lazyBuilt;
const lazyPart = new Promise((resolve) => {
  lazyBuilt = resolve;
});

/**
 * The lazy part's build: its imports of the core's stateful modules resolve to `borrowed.ts`,
 * which the core fills in with its own functions, so it carries no copies of them. It records
 * its content-hashed file name and its modules, and removes parts of earlier builds from dist/.
 */
const lazyPartBuild = {
  name: 'lazy-part',
  async resolveId(target, importer, options) {
    if (!importer) return null;
    const resolved = await this.resolve(target, importer, { ...options, skipSelf: true });
    return resolved && /[\\/]src[\\/](safe|storage)\.ts$/.test(resolved.id)
      ? source('borrowed.ts')
      : null;
  },
  generateBundle(_, bundle) {
    const [chunk, ...more] = Object.values(bundle);
    if (!chunk || more.length || chunk.type !== 'chunk') throw new Error('lazy part: one chunk');
    lazyBuilt({ fileName: chunk.fileName, modules: chunk.moduleIds.filter(sdkModule) });
  },
  async writeBundle({ dir }, bundle) {
    for (const file of await readdir(dir)) {
      if (/^winback-lazy-.*\.js$/.test(file) && !(file in bundle)) await rm(`${dir}/${file}`);
    }
  },
};

/**
 * The core's script-tag build: `lazy.ts` becomes `lazy.script.ts`, which imports the lazy part's
 * file, whose name is written in here; and no module may be in both the core and the part.
 */
const coreBuild = {
  name: 'core',
  async resolveId(target, importer, options) {
    if (!importer || !/\blazy\.js$/.test(target)) return null;
    const resolved = await this.resolve(target, importer, { ...options, skipSelf: true });
    return resolved?.id === source('lazy.ts') ? source('lazy.script.ts') : null;
  },
  async renderChunk(code, chunk) {
    const { fileName, modules } = await lazyPart;
    const shared = chunk.moduleIds.filter((id) => modules.includes(id));
    if (shared.length) throw new Error(`in both the core and the lazy part: ${shared.join(', ')}`);
    if (!code.includes('LAZY_FILE')) throw new Error('the core does not load the lazy part');
    return { code: code.replaceAll('LAZY_FILE', JSON.stringify(`./${fileName}`)), map: null };
  },
};

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
    input: { 'winback-lazy': 'src/entrypoints/lazy.ts' },
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: '[name]-[hash].js',
      hashCharacters: 'hex',
    },
    plugins: [noZod, lazyPartBuild, resolve(), transpile(), minify(true)],
  },
  {
    input: 'src/entrypoints/script.ts',
    // No "use strict" prologue: nothing in the sdk behaves differently without it (no `this` in
    // plain calls, no `arguments`, no writes that strict mode would turn into errors), and the
    // minified test build, an ES module, runs the same code strict.
    output: { file: 'dist/winback.js', format: 'iife', strict: false },
    plugins: [noZod, coreBuild, resolve(), transpile(), minify(false)],
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
