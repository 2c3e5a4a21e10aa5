import { defineConfig } from 'vitest/config';

// Two projects: unit tests sit beside the code; `test/` holds cross-package, integration and
// browser tests that talk to real Postgres, Redis, SMTP and Chromium.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          environment: 'node',
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
