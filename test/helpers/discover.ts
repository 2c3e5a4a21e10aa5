import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';

/** Where a service is, or why it could not be had. */
export type Found = { url: string; how: string } | { url: null; why: string };

export interface Discovered {
  found: Found;
  /** Stops what discovery started itself (nothing for a service that was already running). */
  stop(): Promise<void>;
}

const nothingToStop = async () => {};

async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Whether a Redis answers PING at `url`, without retrying. */
export async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * A Postgres server the suites may create databases on: DATABASE_URL, else 127.0.0.1:5432 if it
 * answers, else an embedded one started for this run.
 */
export async function findPostgres(
  env: NodeJS.ProcessEnv = process.env,
  local = 'postgres://postgres@127.0.0.1:5432/postgres',
): Promise<Discovered> {
  if (env.DATABASE_URL) {
    return (await postgresAnswers(env.DATABASE_URL))
      ? { found: { url: env.DATABASE_URL, how: 'DATABASE_URL' }, stop: nothingToStop }
      : {
          found: { url: null, why: 'DATABASE_URL is set but does not answer' },
          stop: nothingToStop,
        };
  }
  if (await postgresAnswers(local)) {
    return { found: { url: local, how: new URL(local).host }, stop: nothingToStop };
  }
  try {
    const { startEmbeddedPostgres } = await import('@winback/server/embedded');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = await mkdtemp(join(tmpdir(), 'winback-test-pg-'));
    const embedded = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      persistent: false,
    });
    return { found: { url: embedded.url, how: 'embedded Postgres' }, stop: () => embedded.stop() };
  } catch (error) {
    return {
      found: {
        url: null,
        why: `no Postgres at 127.0.0.1:5432 and embedded Postgres failed: ${String(error)}`,
      },
      stop: nothingToStop,
    };
  }
}

/**
 * A Redis the suites may use (each with its own key prefix): REDIS_URL, else 127.0.0.1:6379 if
 * it answers, else a `redis-server` from PATH on a free port, keeping nothing on disk.
 */
export async function findRedis(
  env: NodeJS.ProcessEnv = process.env,
  local = 'redis://127.0.0.1:6379',
): Promise<Discovered> {
  if (env.REDIS_URL) {
    return (await redisAnswers(env.REDIS_URL))
      ? { found: { url: env.REDIS_URL, how: 'REDIS_URL' }, stop: nothingToStop }
      : { found: { url: null, why: 'REDIS_URL is set but does not answer' }, stop: nothingToStop };
  }
  if (await redisAnswers(local))
    return { found: { url: local, how: new URL(local).host }, stop: nothingToStop };
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  const started = await Promise.race([
    once(child, 'error').then(() => false),
    (async () => {
      const url = `redis://127.0.0.1:${port}`;
      for (let tries = 0; tries < 50; tries += 1) {
        if (await redisAnswers(url)) return true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return false;
    })(),
  ]);
  if (!started) {
    child.kill('SIGKILL');
    return {
      found: {
        url: null,
        why: 'no Redis at 127.0.0.1:6379 and no redis-server on PATH could start',
      },
      stop: nothingToStop,
    };
  }
  return {
    found: { url: `redis://127.0.0.1:${port}`, how: `redis-server on port ${port}` },
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
