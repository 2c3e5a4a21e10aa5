import { createLogger, createQueue, type JobRunner, loadConfig, startJobs } from '@winback/server';
import {
  createDb,
  createSendLockKeeper,
  type Db,
  migrateToLatest,
  type SendLockKeeper,
} from '@winback/server/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSink, mailsPerRow, startMailSink } from './helpers/mail-sink.js';
import { type RecordingQueue, sendDeps, sendMessage } from './helpers/message-worker.js';
import {
  LINK_SECRET,
  PUBLIC_URL,
  recoveryStore,
  seedScheduledStep,
  until,
} from './helpers/recovery.js';
import { needs, useFreshDatabase } from './helpers/services.js';

// The message worker against a real SMTP server that refuses, defers or is told to wait: what
// each answer does to the send ledger row, through the job path (the in-process queue running
// `message.send`) and through single sends with an injected clock (quiet hours across
// daylight-saving changes).

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop-channel-errors.example';
const MINUTE = 60_000;

describe.skipIf(!pgUrl)('the message worker facing its SMTP server', () => {
  let db: Db;
  let sink: MailSink;
  const logger = createLogger({ logLevel: 'silent', logPretty: false });

  let locks: SendLockKeeper;

  beforeAll(async () => {
    db = createDb(database.url, 10);
    locks = createSendLockKeeper({ databaseUrl: database.url });
    await migrateToLatest(db);
    sink = await startMailSink();
  });

  afterAll(async () => {
    await locks?.close();
    await sink?.close();
    await db?.destroy();
  });

  async function row(messageId: string) {
    return db
      .selectFrom('messages')
      .select([
        'status',
        'attempt',
        'error',
        'scheduled_at',
        'claimed_at',
        'sent_at',
        'suppress_reason',
      ])
      .where('id', '=', messageId)
      .executeTakeFirstOrThrow();
  }

  const received = (messageId: string) => mailsPerRow(sink.received).get(messageId) ?? 0;
  const accepted = (messageId: string) => mailsPerRow(sink.mails).get(messageId) ?? 0;

  /** Runs this process's job runner (in-process queue) around `work`, then drains and stops it. */
  async function withWorker(work: (runner: JobRunner) => Promise<void>): Promise<void> {
    const config = loadConfig({
      DATABASE_URL: database.url,
      SMTP_URL: sink.url,
      LINK_SECRET,
      PUBLIC_URL,
      LOG_LEVEL: 'silent',
    });
    const queue = createQueue({ redisUrl: undefined, logger });
    const runner = await startJobs({ db, queue, config, logger });
    try {
      await work(runner);
    } finally {
      await runner.stop();
      await queue.close();
      await runner.release();
    }
  }

  it('fails a step for good when the server refuses it (550), after one attempt', async () => {
    const shop = await recoveryStore(db, { origin: SHOP });
    const step = await seedScheduledStep(db, shop, new Date());
    sink.behaviour.refuseWith = 550;
    try {
      await withWorker(async (runner) => {
        await until(async () => (await row(step.messageId)).status === 'failed');
        // Another reconcile pass re-arms only what is still `scheduled`: not this row.
        await runner.reconciler.run();
      });
    } finally {
      sink.behaviour.refuseWith = undefined;
    }
    expect(await row(step.messageId)).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: 'smtp_550',
      sent_at: null,
    });
    // The server now accepts mail, and a stray run of the job changes nothing.
    const deps = sendDeps(db, sink.url, locks);
    try {
      expect(await sendMessage(deps, shop.store.id, step.messageId)).toMatchObject({
        kind: 'skipped',
      });
    } finally {
      deps.email.close();
    }
    expect(received(step.messageId)).toBe(1);
    expect(accepted(step.messageId)).toBe(0);
  });

  it('puts a step back with a later time when the server defers it (451), then sends it once', async () => {
    const shop = await recoveryStore(db, { origin: SHOP });
    const now = new Date();
    const step = await seedScheduledStep(db, shop, new Date(now.getTime() - MINUTE));
    const deps = sendDeps(db, sink.url, locks, { random: () => 0.5 });
    const queue = deps.queue as RecordingQueue;
    try {
      sink.behaviour.refuseWith = 451;
      const first = await sendMessage({ ...deps, now: () => now }, shop.store.id, step.messageId);
      sink.behaviour.refuseWith = undefined;
      // The first retry waits a minute (jitter at its middle here).
      const retryAt = new Date(now.getTime() + MINUTE);
      expect(first).toMatchObject({ kind: 'retry', at: retryAt, error: 'smtp_451' });
      expect(await row(step.messageId)).toMatchObject({
        status: 'scheduled',
        attempt: 1,
        error: 'smtp_451',
        scheduled_at: retryAt,
        claimed_at: now,
        sent_at: null,
      });
      expect(queue.scheduled).toEqual([
        {
          kind: 'message.send',
          id: step.messageId,
          runAt: retryAt,
          payload: { storeId: shop.store.id },
        },
      ]);

      // A run before the retry is due sends nothing and keeps the time.
      const early = await sendMessage(
        { ...deps, now: () => new Date(retryAt.getTime() - 1) },
        shop.store.id,
        step.messageId,
      );
      expect(early).toMatchObject({ kind: 'rescheduled', at: retryAt, reason: 'not_due' });
      expect(received(step.messageId)).toBe(1);

      const later = await sendMessage(
        { ...deps, now: () => retryAt },
        shop.store.id,
        step.messageId,
      );
      expect(later.kind).toBe('sent');
    } finally {
      sink.behaviour.refuseWith = undefined;
      deps.email.close();
    }
    expect(await row(step.messageId)).toMatchObject({
      status: 'sent',
      attempt: 2,
      error: null,
      sent_at: expect.any(Date),
    });
    expect(received(step.messageId)).toBe(2);
    expect(accepted(step.messageId)).toBe(1);
  });

  it("holds a step due in the store's quiet hours until the window ends, sending nothing", async () => {
    // Asia/Kolkata keeps UTC+05:30 all year, so the window's end is one exact instant: the
    // window runs from an hour before this minute to two hours after it, on Kolkata's clock.
    const now = Date.now();
    const minute = Math.floor(now / MINUTE) * MINUTE;
    const kolkataMinutes = Math.floor((minute + 330 * MINUTE) / MINUTE) % 1440;
    const hhmm = (minutes: number) => {
      const wrapped = (minutes + 1440) % 1440;
      return `${String(Math.floor(wrapped / 60)).padStart(2, '0')}:${String(wrapped % 60).padStart(2, '0')}`;
    };
    const shop = await recoveryStore(db, {
      origin: SHOP,
      settings: {
        timezone: 'Asia/Kolkata',
        quietHours: { start: hhmm(kolkataMinutes - 60), end: hhmm(kolkataMinutes + 120) },
      },
    });
    const due = new Date(now - MINUTE);
    const step = await seedScheduledStep(db, shop, due);
    const windowEnd = new Date(minute + 120 * MINUTE);
    await withWorker(async () => {
      await until(async () => (await row(step.messageId)).scheduled_at.getTime() !== due.getTime());
    });
    expect(await row(step.messageId)).toMatchObject({
      status: 'scheduled',
      scheduled_at: windowEnd,
      attempt: 0,
      claimed_at: null,
      sent_at: null,
    });
    expect(received(step.messageId)).toBe(0);
  });

  // Europe/Berlin: clocks go forward on 2026-03-29 at 02:00 CET (to 03:00 CEST) and back on
  // 2026-10-25 at 03:00 CEST (to 02:00 CET).
  it.each([
    {
      what: 'a night whose clocks go forward ends at 08:00 CEST, not 08:00 CET',
      quietHours: { start: '21:00', end: '08:00' },
      now: '2026-03-28T21:30:00Z', // 22:30 CET
      end: '2026-03-29T06:00:00Z',
    },
    {
      what: 'a night whose clocks go back ends at 08:00 CET, not 08:00 CEST',
      quietHours: { start: '21:00', end: '08:00' },
      now: '2026-10-24T20:00:00Z', // 22:00 CEST
      end: '2026-10-25T07:00:00Z',
    },
    {
      what: 'a window ending inside the skipped hour ends when the clock jumps, at 03:00 CEST',
      quietHours: { start: '22:00', end: '02:30' },
      now: '2026-03-28T22:00:00Z', // 23:00 CET
      end: '2026-03-29T01:00:00Z',
    },
  ])(
    'moves a step held by quiet hours to the window end: $what',
    async ({ quietHours, now, end }) => {
      const shop = await recoveryStore(db, {
        origin: SHOP,
        settings: { timezone: 'Europe/Berlin', quietHours },
      });
      const at = new Date(now);
      const windowEnd = new Date(end);
      const step = await seedScheduledStep(db, shop, new Date(at.getTime() - MINUTE));
      const deps = sendDeps(db, sink.url, locks);
      const queue = deps.queue as RecordingQueue;
      const sendAt = (instant: Date) =>
        sendMessage({ ...deps, now: () => instant }, shop.store.id, step.messageId);
      try {
        expect(await sendAt(at)).toMatchObject({
          kind: 'rescheduled',
          at: windowEnd,
          reason: 'quiet_hours',
        });
        expect(await row(step.messageId)).toMatchObject({
          status: 'scheduled',
          scheduled_at: windowEnd,
          attempt: 0,
        });
        expect(queue.scheduled.map((job) => [job.id, job.runAt])).toEqual([
          [step.messageId, windowEnd],
        ]);
        // A millisecond before the end it is still quiet; at the end the step goes out.
        expect(await sendAt(new Date(windowEnd.getTime() - 1))).toMatchObject({
          kind: 'rescheduled',
          at: windowEnd,
        });
        expect(received(step.messageId)).toBe(0);
        expect((await sendAt(windowEnd)).kind).toBe('sent');
      } finally {
        deps.email.close();
      }
      expect(await row(step.messageId)).toMatchObject({ status: 'sent', sent_at: windowEnd });
      expect(accepted(step.messageId)).toBe(1);
    },
  );

  it('never sends again when recording a sent mail fails', async () => {
    const shop = await recoveryStore(db, { origin: SHOP });
    const step = await seedScheduledStep(db, shop, new Date(Date.now() - MINUTE));
    // Postgres refuses to record this one row as sent, as a lost connection or a full disk would.
    await sql`
      create function refuse_sent() returns trigger language plpgsql as $$
      begin
        if new.status = 'sent' and new.id = ${sql.lit(step.messageId)}::uuid then
          raise exception 'cannot record';
        end if;
        return new;
      end $$
    `.execute(db);
    await sql`
      create trigger refuse_sent before update on messages
      for each row execute function refuse_sent()
    `.execute(db);
    const deps = sendDeps(db, sink.url, locks);
    try {
      await expect(sendMessage(deps, shop.store.id, step.messageId)).rejects.toThrow(
        'cannot record',
      );
      expect(await row(step.messageId)).toMatchObject({ status: 'sending', sent_at: null });
      // The job runs again (the queue retries a failed handler): the row is not claimed twice.
      expect(await sendMessage(deps, shop.store.id, step.messageId)).toEqual({ kind: 'skipped' });
    } finally {
      deps.email.close();
      await sql`drop trigger refuse_sent on messages`.execute(db);
      await sql`drop function refuse_sent()`.execute(db);
    }
    expect(accepted(step.messageId)).toBe(1);
  });

  it('sends a row once when many runs of its job claim it at the same moment', async () => {
    const shop = await recoveryStore(db, { origin: SHOP });
    const step = await seedScheduledStep(db, shop, new Date(Date.now() - MINUTE));
    const deps = sendDeps(db, sink.url, locks);
    try {
      // All in this process: they share the keeper's (re-entrant) locks, so only the row's
      // version keeps them apart.
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () => sendMessage(deps, shop.store.id, step.messageId)),
      );
      expect(outcomes.filter((outcome) => outcome.kind === 'sent')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome.kind !== 'sent')).toEqual(
        Array.from({ length: 7 }, () => ({ kind: 'skipped' })),
      );
    } finally {
      deps.email.close();
    }
    expect(await row(step.messageId)).toMatchObject({ status: 'sent', attempt: 1 });
    expect(accepted(step.messageId)).toBe(1);
  });

  it('sends from MAIL_FROM’s address under the store’s sender name, with replies to the merchant', async () => {
    const shop = await recoveryStore(db, {
      origin: SHOP,
      settings: { sender: { name: 'Sunrise Ceramics', replyTo: 'owner@sunrise.example' } },
    });
    const step = await seedScheduledStep(db, shop, new Date(Date.now() - MINUTE));
    const deps = sendDeps(db, sink.url, locks);
    try {
      expect((await sendMessage(deps, shop.store.id, step.messageId)).kind).toBe('sent');
    } finally {
      deps.email.close();
    }
    const mail = sink.mails.find(
      (received) => received.parsed.headers.get('x-winback-message') === step.messageId,
    );
    expect(mail?.parsed.from?.value).toEqual([
      { name: 'Sunrise Ceramics', address: 'shop@recovery.example' },
    ]);
    expect(mail?.parsed.replyTo?.value).toEqual([{ name: '', address: 'owner@sunrise.example' }]);
  });
});
