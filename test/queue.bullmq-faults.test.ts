import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createLogger, createQueue, type Job, type JobQueue } from '@winback/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freePort, redisAnswers } from './helpers/discover.js';

// Redis going away under the BullMQ queue: producers fail fast instead of hanging a request,
// workers wait it out, and both carry on when Redis is back. Needs a redis-server of its own to
// kill, so it does not disturb the shared one.

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedisServer) {
  const line = '\n!!! redis-server is not on PATH: the BullMQ fault suite is SKIPPED\n';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${line.trim()}`);
  process.stderr.write(line);
}

const logger = createLogger({
  logLevel: (process.env.LOG_LEVEL as 'silent' | undefined) ?? 'silent',
  logPretty: false,
});
const WAIT = { timeout: 20_000, interval: 50 };

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await vi.waitFor(
    async () => expect(await redisAnswers(`redis://127.0.0.1:${port}`)).toBe(true),
    WAIT,
  );
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe.skipIf(!hasRedisServer)('the bullmq queue when Redis fails', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('rejects schedule, cancel and ping, and still closes, when Redis never answered', async () => {
    const queue = createQueue({
      redisUrl: `redis://127.0.0.1:${await freePort()}`,
      prefix: 'nowhere',
      logger,
    });
    queue.process('cart.idle', async () => {});
    await Promise.all([
      expect(queue.schedule('cart.idle', 'c1', new Date(), {})).rejects.toThrow(),
      expect(queue.cancel('cart.idle', 'c1')).rejects.toThrow(),
      expect(queue.ping()).rejects.toThrow(),
    ]);
    await expect(queue.close()).resolves.toBeUndefined();
  });

  it('fails fast while Redis is down, then schedules and runs jobs again once it is back', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    cleanup.push(() => kill(redis));
    const queue: JobQueue = createQueue({ redisUrl: `redis://127.0.0.1:${port}`, logger });
    cleanup.push(() => queue.close());
    const seen: Job[] = [];
    queue.process('cart.idle', async (job) => {
      seen.push(job);
    });

    await queue.schedule('cart.idle', 'before', new Date(), {});
    await vi.waitFor(() => expect(seen.map((job) => job.id)).toEqual(['before']), WAIT);

    await kill(redis);
    await vi.waitFor(() => expect(queue.ping()).rejects.toThrow(), WAIT);
    await expect(queue.schedule('cart.idle', 'during', new Date(), {})).rejects.toThrow();

    redis = await startRedis(port);
    await vi.waitFor(() => expect(queue.ping()).resolves.toBeUndefined(), WAIT);
    await queue.schedule('cart.idle', 'after', new Date(), {});
    await vi.waitFor(() => expect(seen.map((job) => job.id)).toEqual(['before', 'after']), WAIT);
  });

  it('close waits for a running handler even when Redis dies meanwhile', async () => {
    const port = await freePort();
    const redis = await startRedis(port);
    cleanup.push(() => kill(redis));
    const queue = createQueue({ redisUrl: `redis://127.0.0.1:${port}`, logger });
    const events: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    queue.process('message.send', async (job) => {
      events.push(`start ${job.id}`);
      await released;
      events.push(`finish ${job.id}`);
    });
    await queue.schedule('message.send', 'm1', new Date(), {});
    await vi.waitFor(() => expect(events).toEqual(['start m1']), WAIT);

    await kill(redis);
    const closing = queue.close().then(() => events.push('closed'));
    release();
    await closing;
    expect(events).toEqual(['start m1', 'finish m1', 'closed']);
  });
});
