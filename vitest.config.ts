import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';
import { minifiedWidget } from './packages/widget/test/minified.js';

const sdkSource = fileURLToPath(new URL('./packages/sdk/src/', import.meta.url));
const sdkMinified = fileURLToPath(
  new URL('./packages/sdk/dist/test/internals.min.mjs', import.meta.url),
);

/**
 * Runs the sdk's unit tests against its minified build (as preactjs/signals does with its MINIFY
 * alias): an sdk module imported by an sdk test resolves to one bundle of every module, minified
 * with the script-tag build's terser options. Test helpers in `src/testing/` stay as they are.
 */
function minifiedSdk(): Plugin {
  return {
    name: 'winback-sdk-minified',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!importer?.startsWith(sdkSource) || !/\.test\.ts$/.test(importer)) return null;
      if (!source.startsWith('.')) return null;
      const target = resolve(dirname(importer), source);
      if (!target.startsWith(sdkSource) || target.includes('/testing/')) return null;
      return sdkMinified;
    },
  };
}

// Unit tests sit beside the code; `test/` holds cross-package, integration and browser tests
// that talk to real Postgres, Redis, SMTP and Chromium. The browser sdk's unit tests run in
// happy-dom, twice: against its sources, then against its minified build.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: ['packages/sdk/**', 'packages/widget/**', '**/node_modules/**'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'sdk',
          include: ['packages/sdk/src/**/*.test.ts'],
          environment: 'happy-dom',
        },
      },
      {
        plugins: [minifiedSdk()],
        test: {
          name: 'sdk-min',
          include: ['packages/sdk/src/**/*.test.ts', 'packages/sdk/test/**/*.test.ts'],
          environment: 'happy-dom',
          env: { WINBACK_SDK_BUILD: 'minified' },
          // Builds dist/ (all targets) once before the run.
          globalSetup: ['packages/sdk/test/build.ts'],
        },
      },
      // The widget's, the same way: sources, then its minified build.
      {
        test: {
          name: 'widget',
          include: ['packages/widget/src/**/*.test.ts'],
          environment: 'happy-dom',
        },
      },
      {
        plugins: [minifiedWidget()],
        test: {
          name: 'widget-min',
          include: ['packages/widget/src/**/*.test.ts', 'packages/widget/test/**/*.test.ts'],
          environment: 'happy-dom',
          env: { WINBACK_WIDGET_BUILD: 'minified' },
          globalSetup: ['packages/widget/test/build.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/bench/**', '**/node_modules/**'],
          environment: 'node',
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Suites share one Postgres server and one Redis; each gets its own database and key
          // prefix, so files may run in parallel.
          fileParallelism: true,
        },
      },
    ],
  },
});
