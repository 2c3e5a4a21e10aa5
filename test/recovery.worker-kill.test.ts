import { buildApp, createLogger, createQueue, loadConfig } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCli, startCli } from './helpers/cli.js';
import { type MailSink, mailsPerRow, startMailSink } from './helpers/mail-sink.js';
import {
  collect,
  deleteQueueKeys,
  LINK_SECRET,
  leftCart,
  PUBLIC_URL,
  purchaseOf,
  type RecoveryStore,
  recoveryStore,
  until,
} from './helpers/recovery.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';

// At most once, with a real `winback worker` killed mid-send: its SMTP server holds the mail at
// the end of DATA (the mail is complete, the reply not given), the worker gets SIGKILL there,
// and whether the mail left is unknown. The row must never be sent again, by a second worker,
// a re-delivered job or the reconciler, which closes it as failed (`interrupted`) once its claim
// is old enough; and the dead send's locks must not hold up a purchase.

const pgUrl = needs('postgres');
const redisUrl = needs('redis');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop-worker-kill.example';

type App = Awaited<ReturnType<typeof buildApp>>;

describe.skipIf(!pgUrl || !redisUrl)('a worker killed while its mail is in DATA', () => {
  const prefix = uniqueName('wbkill');
  let db: Db;
  let app: App;
  let sink: MailSink;
  let shop: RecoveryStore;
  const workers: RunningCli[] = [];

  const env = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl!,
    QUEUE_PREFIX: prefix,
    SMTP_URL: sink.url,
    LINK_SECRET,
    PUBLIC_URL,
    LOG_LEVEL: 'info',
    ...extra,
  });

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    sink = await startMailSink();
    app = await buildApp(loadConfig({ ...env(), LOG_LEVEL: 'silent' }));
    shop = await recoveryStore(db, { origin: SHOP });
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
    await app?.close();
    await sink?.close();
    await db?.destroy();
    if (redisUrl) await deleteQueueKeys(redisUrl, prefix);
  });

  async function ledger(externalId: string) {
    return db
      .selectFrom('messages as m')
      .innerJoin('carts as c', 'c.id', 'm.cart_id')
      .select([
        'm.id',
        'm.store_id',
        'm.status',
        'm.attempt',
        'm.error',
        'm.sent_at',
        'm.suppress_reason',
      ])
      .where('c.store_id', '=', shop.store.id)
      .where('c.external_id', '=', externalId)
      .orderBy('m.step')
      .execute();
  }

  it('leaves the row unsent for good, then fails it as interrupted', async () => {
    const victim = leftCart(SHOP);
    let inData!: () => void;
    const reachedData = new Promise<void>((resolve) => {
      inData = resolve;
    });
    let giveUp!: (error: Error) => void;
    const held = new Promise<void>((_, reject) => {
      giveUp = reject;
    });
    held.catch(() => {});
    sink.behaviour.beforeAccept = async (mail) => {
      if (mail.to !== victim.email) return;
      inData();
      await held;
    };

    try {
      await collect(app, shop.store, SHOP, victim.events);
      const first = await startCli(['worker'], env(), /worker ready/);
      workers.push(first);
      await reachedData;
      const [claimed] = await ledger(victim.cartId);
      expect(claimed).toMatchObject({ status: 'sending', attempt: 1, sent_at: null });
      expect((await first.stop('SIGKILL')).signal).toBe('SIGKILL');

      // A second worker: its start-up reconcile pass does not touch a recent claim.
      const second = await startCli(
        ['worker'],
        env({ LOG_LEVEL: 'debug', RECONCILE_INTERVAL_MS: '1000' }),
        /worker ready/,
      );
      workers.push(second);
      expect((await ledger(victim.cartId))[0]).toMatchObject({ status: 'sending', attempt: 1 });

      // The job delivered again (as BullMQ does with a job whose worker died): a no-op.
      const logger = createLogger({ logLevel: 'silent', logPretty: false });
      const queue = createQueue({ redisUrl, prefix, logger });
      try {
        await queue.schedule('message.send', claimed!.id, new Date(), {
          storeId: claimed!.store_id,
        });
      } finally {
        await queue.close();
      }
      await until(() =>
        second
          .stdout()
          .split('\n')
          .some(
            (line) =>
              line.includes('"msg":"recovery step handled"') &&
              line.includes(`"messageId":"${claimed!.id}"`) &&
              line.includes('"outcome":"skipped"'),
          ),
      );
      expect((await ledger(victim.cartId))[0]).toMatchObject({ status: 'sending', attempt: 1 });

      // Fifteen minutes later (aged here rather than waited for), a periodic reconcile pass
      // closes the claim: failed, outcome unknown, never retried.
      await sql`
        update messages set claimed_at = claimed_at - interval '16 minutes' where id = ${claimed!.id}
      `.execute(db);
      await until(async () => (await ledger(victim.cartId))[0]?.status === 'failed');
      expect((await ledger(victim.cartId))[0]).toMatchObject({
        status: 'failed',
        error: 'interrupted',
        attempt: 1,
        sent_at: null,
      });

      // The second worker carries on with other carts.
      const next = leftCart(SHOP);
      await collect(app, shop.store, SHOP, next.events);
      await until(() => sink.mails.some((mail) => mail.to === next.email));

      // The killed send's locks went with its connection: the victim's purchase commits.
      await collect(app, shop.store, SHOP, [purchaseOf(victim.anonymousId, victim.cartId)]);
      expect((await ledger(victim.cartId)).map((step) => step.status)).toEqual([
        'failed',
        'cancelled',
      ]);
    } finally {
      giveUp(new Error('the sender is gone'));
    }

    const [victimRow] = await ledger(victim.cartId);
    // The one mail reached the end of DATA once and was never accepted, then or later.
    expect(mailsPerRow(sink.received).get(victimRow!.id)).toBe(1);
    expect(mailsPerRow(sink.mails).get(victimRow!.id)).toBeUndefined();
  });
});
