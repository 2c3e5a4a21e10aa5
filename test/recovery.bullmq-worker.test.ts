import { buildApp, loadConfig } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCli, startCli } from './helpers/cli.js';
import { ledgerRowOf, type MailSink, startMailSink } from './helpers/mail-sink.js';
import {
  boughtBeforeDelivery,
  collect,
  countQueueKeys,
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

// The recovery loop's core as production runs it with Redis: a `winback serve` node (here the
// app, which with REDIS_URL only schedules) takes the events and arms the idle timer in BullMQ;
// a separate `winback worker` process decides the abandonment and sends the first step over a
// real SMTP server; the serve node then follows the link signed by the worker and takes the
// purchase that ends the sequence.

const pgUrl = needs('postgres');
const redisUrl = needs('redis');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop-bullmq-worker.example';

type App = Awaited<ReturnType<typeof buildApp>>;

describe.skipIf(!pgUrl || !redisUrl)('the recovery loop on BullMQ with a worker process', () => {
  const prefix = uniqueName('wbrecovery');
  let db: Db;
  let app: App;
  let sink: MailSink;
  let shop: RecoveryStore;
  let worker: RunningCli | undefined;
  const afterPurchase: string[] = [];

  const env = () => ({
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl!,
    QUEUE_PREFIX: prefix,
    SMTP_URL: sink.url,
    LINK_SECRET,
    PUBLIC_URL,
    MAIL_FROM: 'Recovery Shop <shop@recovery.example>',
  });

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    sink = await startMailSink();
    sink.behaviour.beforeAccept = async (mail) => {
      if (await boughtBeforeDelivery(db, ledgerRowOf(mail))) afterPurchase.push(ledgerRowOf(mail));
    };
    app = await buildApp(loadConfig({ ...env(), LOG_LEVEL: 'silent' }));
    shop = await recoveryStore(db, { origin: SHOP });
  });

  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await app?.close();
    await sink?.close();
    await db?.destroy();
    if (redisUrl) await deleteQueueKeys(redisUrl, prefix);
  });

  async function cart(externalId: string) {
    return db
      .selectFrom('carts')
      .selectAll()
      .where('store_id', '=', shop.store.id)
      .where('external_id', '=', externalId)
      .executeTakeFirstOrThrow();
  }

  async function ledger(cartUuid: string) {
    return db
      .selectFrom('messages')
      .select(['id', 'step', 'status', 'suppress_reason', 'provider_id', 'clicked_at'])
      .where('cart_id', '=', cartUuid)
      .orderBy('step')
      .execute();
  }

  it('abandons the cart and sends the first step from the worker, not from serve', async () => {
    const shopper = leftCart(SHOP);
    await collect(app, shop.store, SHOP, shopper.events);
    const left = await cart(shopper.cartId);
    // The serve node armed the idle timer in Redis.
    expect(await countQueueKeys(redisUrl!, prefix, `{cart.idle}:latest:${left.id}`)).toBe(1);

    worker = await startCli(['worker'], { ...env(), LOG_LEVEL: 'debug' }, /worker ready/);
    await until(() => sink.mails.some((mail) => mail.to === shopper.email));
    // The mail is accepted a moment before the worker records the send and logs it.
    const handled = () =>
      worker
        ?.stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string });
    await until(() => handled()?.some((line) => line.msg === 'recovery step handled') ?? false);

    const abandoned = await cart(shopper.cartId);
    expect(abandoned).toMatchObject({ status: 'abandoned', enrolment: 'enrolled' });
    const steps = await ledger(abandoned.id);
    expect(steps.map((step) => step.status)).toEqual(['sent', 'scheduled']);
    expect(steps[0]?.provider_id).toMatch(/^250 /);
    const mails = sink.mails.filter((mail) => mail.to === shopper.email);
    expect(mails.map(ledgerRowOf)).toEqual([steps[0]?.id]);
    // The worker process made both decisions (a handler that finds its work done logs nothing).
    const logged = handled();
    expect(logged).toContainEqual(
      expect.objectContaining({ msg: 'cart abandoned', cartId: left.id, enrolment: 'enrolled' }),
    );
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'recovery step handled',
        messageId: steps[0]?.id,
        outcome: 'sent',
      }),
    );

    // The link the worker signed works on the serve node.
    const recovery = new RegExp(`${PUBLIC_URL}(/r/[A-Za-z0-9_-]+)`).exec(
      String(mails[0]?.parsed.html),
    );
    const click = await app.inject({ method: 'GET', url: recovery?.[1] ?? '/r/missing' });
    expect(click.statusCode).toBe(302);
    expect(click.headers.location).toBe(`${SHOP}/cart/40001:2`);

    await collect(app, shop.store, SHOP, [purchaseOf(shopper.anonymousId, shopper.cartId)]);
    expect(await cart(shopper.cartId)).toMatchObject({
      status: 'recovered',
      attributed_message_id: steps[0]?.id,
    });
    expect((await ledger(abandoned.id)).map((step) => [step.status, step.suppress_reason])).toEqual(
      [
        ['sent', null],
        ['cancelled', 'purchased'],
      ],
    );
    expect(afterPurchase).toEqual([]);
  });

  it('stops gracefully on SIGTERM with the sequence state in Postgres', async () => {
    const result = await worker!.stop('SIGTERM');
    worker = undefined;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"msg":"stopped"');
  });
});
