import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { findPostgres, findRedis, freePort } from './helpers/discover.js';

// The harness itself: when nothing answers where services usually are, it starts its own.
describe('service discovery', () => {
  it('starts a redis-server from PATH when none answers, and stops it after', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const discovered = await findRedis({}, nowhere);
    expect(discovered.found.url).not.toBeNull();
    expect(discovered.found.url).not.toBe(nowhere);
    const redis = new Redis(discovered.found.url!, { maxRetriesPerRequest: 0 });
    try {
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
    } finally {
      redis.disconnect();
      await discovered.stop();
    }
    const gone = new Redis(discovered.found.url!, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    gone.on('error', () => {});
    await expect(gone.connect()).rejects.toThrow();
  });

  it('reports a configured service that does not answer instead of guessing another', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const discovered = await findRedis({ REDIS_URL: nowhere });
    expect(discovered.found).toEqual({ url: null, why: 'REDIS_URL is set but does not answer' });
  });

  it('starts an embedded Postgres when none answers, and removes it after', {
    timeout: 180_000,
  }, async () => {
    const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
    const discovered = await findPostgres({}, nowhere);
    expect(
      discovered.found.url,
      'why' in discovered.found ? discovered.found.why : '',
    ).not.toBeNull();
    const client = new pg.Client({ connectionString: discovered.found.url! });
    await client.connect();
    try {
      const { rows } = await client.query<{ ok: number }>('select 1 as ok');
      expect(rows).toEqual([{ ok: 1 }]);
    } finally {
      await client.end();
      await discovered.stop();
    }
  });
});
