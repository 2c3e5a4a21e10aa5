import { describe, expect, it } from 'vitest';
import { startCli } from './helpers/cli.js';
import { freePort } from './helpers/discover.js';
import { needs, useFreshDatabase } from './helpers/services.js';

const postgres = needs('postgres');

describe.skipIf(!postgres)('winback serve', () => {
  const database = useFreshDatabase(postgres);

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'serves until %s, then stops accepting and exits 0',
    async (signal) => {
      const port = await freePort();
      const server = await startCli(
        ['serve'],
        { DATABASE_URL: database.url, PORT: String(port), LOG_LEVEL: 'info' },
        /Server listening/,
      );
      const base = `http://127.0.0.1:${port}`;
      try {
        expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      } finally {
        const result = await server.stop(signal);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('"msg":"stopped"');
      }
      await expect(fetch(`${base}/health/live`)).rejects.toThrow();
    },
  );
});
