import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers/cli.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';

const postgres = needs('postgres');
const redis = needs('redis');

describe.skipIf(!postgres || !redis)('winback worker', () => {
  const database = useFreshDatabase(postgres);
  const prefix = uniqueName('wbworker');

  afterAll(async () => {
    if (!redis) return;
    const client = new Redis(redis);
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });

  it('runs until SIGTERM, then drains and exits 0', async () => {
    const worker = await startCli(
      ['worker'],
      { DATABASE_URL: database.url, REDIS_URL: redis!, QUEUE_PREFIX: prefix, LOG_LEVEL: 'info' },
      /worker ready/,
    );
    expect(worker.stdout()).toContain('"msg":"jobs started"');
    const client = new Redis(redis!);
    expect(await client.keys(`${prefix}:*`)).not.toHaveLength(0);
    client.disconnect();
    const result = await worker.stop('SIGTERM');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"msg":"stopped"');
  });

  it('refuses to start without Redis, saying why', async () => {
    const result = await runCli(['worker'], { DATABASE_URL: database.url });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^winback: REDIS_URL is required for `winback worker`/);
  });
});
