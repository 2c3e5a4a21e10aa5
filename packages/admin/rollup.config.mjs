// The admin page's build, into dist/ (served by @winback/server at /admin):
//   index.html   the one document; loads the two files below, nothing inline (strict CSP)
//   admin.js     ES module: the app with Preact and uPlot bundled in, minified
//   admin.css    the page's styles followed by uPlot's
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import esbuild from 'rollup-plugin-esbuild';

const require = createRequire(import.meta.url);
const target = 'es2020';

/** Emits index.html and admin.css beside the bundle. */
const staticFiles = {
  name: 'admin-static-files',
  buildStart() {
    this.addWatchFile('src/index.html');
    this.addWatchFile('src/admin.css');
  },
  generateBundle() {
    const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    this.emitFile({
      type: 'asset',
      fileName: 'index.html',
      source: readFileSync('src/index.html', 'utf8'),
    });
    this.emitFile({
      type: 'asset',
      fileName: 'admin.css',
      source: `${readFileSync('src/admin.css', 'utf8')}\n${uplotCss}\n`,
    });
  },
};

export default {
  input: 'src/main.tsx',
  output: { dir: 'dist', entryFileNames: 'admin.js', format: 'es' },
  plugins: [
    nodeResolve({ extensions: ['.ts', '.tsx', '.js', '.mjs'], browser: true }),
    esbuild({ target, tsconfig: 'tsconfig.json' }),
    terser({ ecma: 2020, module: true, format: { comments: false } }),
    staticFiles,
  ],
};
