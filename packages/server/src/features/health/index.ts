import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer in time`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `/health/live`: the process is up (for restarts). `/health/ready`: Postgres and the queue
 * answer, so this node may take traffic (for load balancers).
 */
export const healthFeature: FastifyPluginAsync = async (app) => {
  app.get('/health/live', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/health/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const [database, queue] = await Promise.allSettled([
      withTimeout(sql`select 1`.execute(app.db), 'postgres'),
      withTimeout(app.queue.ping(), 'queue'),
    ]);
    const checks = {
      postgres: database.status === 'fulfilled' ? 'ok' : 'down',
      queue: queue.status === 'fulfilled' ? 'ok' : 'down',
    } as const;
    const ready = checks.postgres === 'ok' && checks.queue === 'ok';
    if (!ready) {
      for (const [name, result] of [
        ['postgres', database],
        ['queue', queue],
      ] as const) {
        if (result.status === 'rejected') app.log.warn({ err: result.reason }, `${name} not ready`);
      }
    }
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ok' : 'unavailable', checks, queue: app.queue.driver });
  });
};
