import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { createSendLockKeeper } from '../../db/send-locks.js';
import type { JobModule } from '../../jobs.js';
import { createEmailChannel } from './email/channel.js';
import { createMessageLinks, linkSecrets } from './links.js';
import { SEND_JOB, type SendPayload } from './schedule.js';
import { sendMessage } from './send.js';

export { messagingRoutes } from './routes.js';
export { SEND_JOB, scheduleSends } from './schedule.js';
export { type SendDeps, type SendOutcome, sendMessage } from './send.js';

/** What the admins watching live see of each outcome (moves in time are not news). */
const liveStatus = {
  sent: 'sent',
  suppressed: 'suppressed',
  failed: 'failed',
  retry: 'scheduled',
  rescheduled: undefined,
  skipped: undefined,
} as const;

/** A claim older than this whose send never reported back died with its worker. */
const interruptedAfterMinutes = 15;

/**
 * The message worker: `message.send` jobs, one per ledger row, and the reconcile source that
 * re-arms every row still `scheduled` (so a Redis flush loses no step).
 */
export const messagingJobs: JobModule = ({ db, queue, reconciler, config, logger, live }) => {
  if (!config.databaseUrl) {
    throw new Error(
      'messaging jobs: DATABASE_URL is required (send locks keep a connection of their own)',
    );
  }
  const email = config.smtpUrl
    ? createEmailChannel({ smtpUrl: config.smtpUrl, maxConnections: config.smtpMaxConnections })
    : null;
  if (!email) logger.warn('SMTP_URL is not set: recovery emails cannot be sent');
  const locks = createSendLockKeeper({ databaseUrl: config.databaseUrl });
  const deps = {
    db,
    queue,
    locks,
    email,
    links: createMessageLinks(config.publicUrl, linkSecrets(config, logger)),
    mailFrom: config.mailFrom,
    logger,
  };
  const running = new Set<Promise<unknown>>();
  queue.process<SendPayload>(
    SEND_JOB,
    async (job) => {
      const send = sendMessage(deps, job.payload.storeId, job.id);
      running.add(send);
      try {
        const outcome = await send;
        logger.debug({ messageId: job.id, outcome: outcome.kind }, 'recovery step handled');
        const status = liveStatus[outcome.kind];
        if (status && 'cartId' in outcome) {
          live?.publish(job.payload.storeId, {
            t: 'message',
            messageId: job.id,
            cartId: outcome.cartId,
            status,
          });
        }
      } finally {
        running.delete(send);
      }
    },
    // A send holds a pool connection only for its short statements (its locks are on the
    // keeper's connection while the provider answers), so many can be in flight at once.
    { concurrency: config.sendConcurrency },
  );
  reconciler.register<SendPayload>({ kind: SEND_JOB, due: () => dueSends(db) });
  return async () => {
    await Promise.allSettled([...running]);
    email?.close();
    await locks.close();
  };
};

/**
 * Every ledger row still to send, by id. First, rows claimed long ago whose send never reported
 * back are closed as `failed` (`interrupted`): the worker died mid-send, and whether the message
 * left is unknown, so it is never sent again.
 */
async function* dueSends(db: Db) {
  await sql`
    update messages set status = 'failed', error = 'interrupted', updated_at = now()
    where status = 'sending'
      and claimed_at < now() - make_interval(mins => ${interruptedAfterMinutes}::integer)
  `.execute(db);
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await db
      .selectFrom('messages')
      .select(['id', 'store_id', 'scheduled_at'])
      .where('status', '=', 'scheduled')
      .where('id', '>', after)
      .orderBy('id')
      .limit(1000)
      .execute();
    for (const row of page) {
      yield { id: row.id, runAt: row.scheduled_at, payload: { storeId: row.store_id } };
    }
    const last = page.at(-1);
    if (!last || page.length < 1000) return;
    after = last.id;
  }
}
