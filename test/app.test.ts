import { buildApp, loadConfig } from '@winback/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/discover.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';

const postgres = needs('postgres');
const redis = needs('redis');

describe.skipIf(!postgres)('the app on real Postgres', () => {
  const database = useFreshDatabase(postgres);

  describe.each([
    ['local', undefined],
    ['bullmq', redis],
  ] as const)('with the %s queue', (driver, redisUrl) => {
    let app: Awaited<ReturnType<typeof buildApp>>;
    beforeAll(async () => {
      const config = loadConfig({
        DATABASE_URL: database.url,
        ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
        LOG_LEVEL: 'silent',
        QUEUE_PREFIX: uniqueName('wbapp'),
      });
      app = await buildApp(config);
    });
    afterAll(() => app?.close());

    it.skipIf(driver === 'bullmq' && !redis)('is live and ready', async () => {
      expect((await app.inject('/health/live')).json()).toEqual({ status: 'ok' });
      const ready = await app.inject('/health/ready');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({
        status: 'ok',
        checks: { postgres: 'ok', queue: 'ok' },
        queue: driver,
      });
    });

    it.skipIf(driver === 'bullmq' && !redis)('counts requests in Prometheus metrics', async () => {
      await app.inject('/health/live');
      const metrics = await app.inject('/metrics');
      expect(metrics.statusCode).toBe(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      expect(metrics.body).toMatch(
        /winback_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status_code="200"\} [1-9]/,
      );
      expect(metrics.body).toContain('winback_process_cpu_seconds_total');
    });
  });
});

describe('readiness when a dependency is down', () => {
  it('answers 503 naming Postgres when it cannot be reached', async () => {
    const port = await freePort();
    const app = await buildApp(
      loadConfig({
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/none`,
        LOG_LEVEL: 'silent',
      }),
    );
    try {
      const ready = await app.inject('/health/ready');
      expect(ready.statusCode).toBe(503);
      expect(ready.json().checks).toEqual({ postgres: 'down', queue: 'ok' });
      expect((await app.inject('/health/live')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it.skipIf(!postgres)('answers 503 naming the queue when Redis cannot be reached', async () => {
    const port = await freePort();
    const app = await buildApp(
      loadConfig({
        DATABASE_URL: postgres!,
        REDIS_URL: `redis://127.0.0.1:${port}`,
        LOG_LEVEL: 'silent',
      }),
    );
    try {
      const ready = await app.inject('/health/ready');
      expect(ready.statusCode).toBe(503);
      expect(ready.json().checks).toEqual({ postgres: 'ok', queue: 'down' });
    } finally {
      await app.close();
    }
  });
});
