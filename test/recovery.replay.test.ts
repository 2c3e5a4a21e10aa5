import { existsSync, readFileSync } from 'node:fs';
import { buildApp, loadConfig } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventId } from './helpers/ingest.js';
import { ledgerRowOf, type MailSink, mailsPerRow, startMailSink } from './helpers/mail-sink.js';
import {
  boughtBeforeDelivery,
  LINK_SECRET,
  PUBLIC_URL,
  type RecoveryStore,
  recoveryStore,
  until,
} from './helpers/recovery.js';
import { needs, useFreshDatabase } from './helpers/services.js';

// Real shopping sessions (the first rows of the REES46 October 2019 export) replayed through
// ingest with the whole recovery loop running: the carts go idle, are abandoned and mailed at
// once (a 0-minute first step) while the rest of the replay, purchases included, keeps coming.
// Whatever the interleaving, no mail may be delivered once its session's purchase (or a later
// purchase by the same shopper) has committed.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop-replay.example';
const REPLAY_CSV = new URL('../../shared/data/sessions/rees46-2019-oct-head.csv', import.meta.url);
/** The export's three hours play in about six seconds, in frames of 50 ms of replay time. */
const REPLAY_MS = 6_000;
const TICK_MS = 50;

type App = Awaited<ReturnType<typeof buildApp>>;

interface ReplayRow {
  time: number;
  type: 'cart' | 'remove_from_cart' | 'purchase';
  product: string;
  priceMinor: number;
  user: string;
  session: string;
}

function readReplay(): ReplayRow[] {
  const [head, ...lines] = readFileSync(REPLAY_CSV, 'utf8').trim().split(/\r?\n/);
  const header = head!.split(',');
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`the replay file has no ${name} column`);
    return index;
  };
  const [time, type, product, price, user, session] = [
    'event_time',
    'event_type',
    'product_id',
    'price',
    'user_id',
    'user_session',
  ].map(column) as [number, number, number, number, number, number];
  return (
    lines
      .map((line) => line.split(','))
      // Cart activity only: views carry no cart.
      .filter((cells) => ['cart', 'remove_from_cart', 'purchase'].includes(cells[type]!))
      .map((cells) => ({
        time: Date.parse(cells[time]!.replace(' UTC', 'Z')),
        type: cells[type] as ReplayRow['type'],
        product: cells[product]!,
        priceMinor: Math.round(Number(cells[price]) * 100),
        user: cells[user]!,
        session: cells[session]!,
      }))
  );
}

describe.skipIf(!pgUrl)('replayed sessions through the recovery loop', () => {
  if (!existsSync(REPLAY_CSV)) {
    it.skip('needs shared/data/sessions/rees46-2019-oct-head.csv next to the repository', () => {});
    return;
  }

  let db: Db;
  let app: App;
  let sink: MailSink;
  let shop: RecoveryStore;
  /** Each delivered mail: its ledger row, when it was accepted, whether its shopper had bought. */
  const deliveries: { row: string; acceptedAt: number; bought: boolean }[] = [];

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    sink = await startMailSink();
    sink.behaviour.beforeAccept = async (mail) => {
      // A short, varying hold keeps some sends in flight while purchases arrive.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
      const row = ledgerRowOf(mail);
      const bought = await boughtBeforeDelivery(db, row);
      deliveries.push({ row, acceptedAt: Date.now(), bought });
    };
    // The in-process queue: this app runs the idle timers and the sends itself.
    app = await buildApp(
      loadConfig({
        DATABASE_URL: database.url,
        SMTP_URL: sink.url,
        LINK_SECRET,
        PUBLIC_URL,
        // Warnings only, and none in a good run: a refused batch says why in the test's output.
        LOG_LEVEL: 'warn',
        RATE_LIMIT_FRAMES_PER_IP_PER_SECOND: '100000',
      }),
    );
    shop = await recoveryStore(db, { origin: SHOP });
  });

  afterAll(async () => {
    await app?.close();
    await sink?.close();
    await db?.destroy();
  });

  it('never mails a session after its purchase has committed', async () => {
    const rows = readReplay();
    expect(rows.length).toBeGreaterThan(100);
    const first = rows[0]!.time;
    const span = rows.at(-1)!.time - first || 1;
    const start = Date.now();
    // Browser times two minutes back, so every cart is idle (threshold: one minute) at once.
    const base = start - 2 * 60_000;

    const lines = new Map<string, Map<string, { quantity: number; unitPrice: number }>>();
    const identified = new Set<string>();
    const frames = new Map<number, TrackedEvent[]>();
    /** The replay offset (ms) of each event. */
    for (const [index, row] of rows.entries()) {
      const offset = Math.round(((row.time - first) / span) * REPLAY_MS);
      const ts = base + offset + index;
      const anonymousId = `user_${row.user}`;
      const envelope = { ts, sessionId: row.session, anonymousId };
      const events: TrackedEvent[] = [];
      // Every shopper gives an email with consent before their first cart activity.
      if (!identified.has(anonymousId)) {
        identified.add(anonymousId);
        events.push({
          ...envelope,
          id: eventId(),
          ts: ts - 1,
          type: 'identify',
          email: `${anonymousId}@replay.example`,
          consent: { email: true, textVersion: 'v1' },
        });
      }
      if (row.type === 'purchase') {
        events.push({
          ...envelope,
          id: eventId(),
          cartId: row.session,
          type: 'order_completed',
          orderId: `order-${index}`,
          value: row.priceMinor,
          currency: 'USD',
        });
      } else {
        const cart = lines.get(row.session) ?? new Map();
        lines.set(row.session, cart);
        const quantity = (cart.get(row.product)?.quantity ?? 0) + (row.type === 'cart' ? 1 : -1);
        if (quantity > 0) cart.set(row.product, { quantity, unitPrice: row.priceMinor });
        else cart.delete(row.product);
        const current = [...cart].map(([id, line]) => ({
          id,
          title: `Product ${id}`,
          quantity: line.quantity,
          unitPrice: line.unitPrice,
        }));
        events.push({
          ...envelope,
          id: eventId(),
          cartId: row.session,
          type: 'cart_updated',
          cart: {
            currency: 'USD',
            subtotal: current.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0),
            lines: current,
          },
        });
      }
      const tick = Math.floor(offset / TICK_MS);
      frames.set(tick, [...(frames.get(tick) ?? []), ...events]);
    }

    /**
     * Sends a frame as the sdk would: a 503 (the database too busy right now, e.g. a purchase
     * waiting for a send in progress on a loaded machine) is retried after its Retry-After.
     */
    const deliver = async (batchEvents: readonly TrackedEvent[]): Promise<void> => {
      for (let attempt = 1; ; attempt += 1) {
        const response = await app.inject({
          method: 'POST',
          url: `/v1/collect?key=${shop.store.public_key}`,
          headers: { origin: SHOP, 'content-type': 'application/json' },
          payload: JSON.stringify({ t: 'batch', seq: 1, events: batchEvents }),
        });
        if (response.statusCode === 503 && attempt < 5) {
          const wait = Number(response.headers['retry-after'] ?? 1);
          await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 5) * 1000));
          continue;
        }
        const answer = response.statusCode === 200 ? response.json() : undefined;
        if (answer?.t !== 'ack' || answer.rejected !== undefined) {
          throw new Error(`frame not acked: ${response.statusCode} ${response.body}`);
        }
        return;
      }
    };

    /** When each session's first purchase frame was acked: its commit happened before that. */
    const purchaseAcked = new Map<string, number>();
    for (const [tick, events] of [...frames].sort(([a], [b]) => a - b)) {
      // Paced like the real sessions (a load shape, not a wait for an outcome).
      const due = start + tick * TICK_MS - Date.now();
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
      for (let i = 0; i < events.length; i += 100) {
        await deliver(events.slice(i, i + 100));
      }
      const acked = Date.now();
      for (const event of events) {
        if (event.type === 'order_completed' && event.cartId && !purchaseAcked.has(event.cartId)) {
          purchaseAcked.set(event.cartId, acked);
        }
      }
    }

    // Every cart has been decided and every due step handled.
    await until(async () => {
      const { rows: pending } = await sql<{ n: number }>`
        select (
          select count(*) from carts
          where store_id = ${shop.store.id}::uuid and status in ('active', 'checkout')
            and line_count > 0
        ) + (
          select count(*) from messages
          where store_id = ${shop.store.id}::uuid
            and (status = 'sending' or (status = 'scheduled' and scheduled_at <= now()))
        ) as n
      `.execute(db);
      return Number(pending[0]?.n) === 0;
    });

    // At the moment each mail counted as delivered, its shopper had not bought.
    expect(deliveries.filter((delivery) => delivery.bought)).toEqual([]);
    expect(sink.mails).toHaveLength(deliveries.length);

    const ledger = await db
      .selectFrom('messages as m')
      .innerJoin('carts as c', 'c.id', 'm.cart_id')
      .innerJoin('shoppers as s', 's.id', 'c.shopper_id')
      .select([
        'm.id',
        'm.step',
        'm.status',
        'm.suppress_reason',
        'c.external_id',
        's.anonymous_id',
      ])
      .where('m.store_id', '=', shop.store.id)
      .execute();
    const sessionOf = new Map(ledger.map((row) => [row.id, row.external_id]));

    // And by the clock: no mail of a session accepted after its purchase was acknowledged.
    const late = deliveries.filter((delivery) => {
      const acked = purchaseAcked.get(sessionOf.get(delivery.row) ?? '');
      return acked !== undefined && delivery.acceptedAt > acked;
    });
    expect(late).toEqual([]);

    // Each ledger row was mailed at most once; each session's cart only by its own rows.
    const perRow = mailsPerRow(sink.received);
    expect([...perRow.values()].filter((count) => count > 1)).toEqual([]);
    expect([...perRow.keys()].filter((row) => !sessionOf.has(row))).toEqual([]);

    // Sessions whose shopper never bought after their cart got exactly their first step.
    const firstActivity = new Map<string, number>();
    for (const row of rows) {
      if (row.type !== 'purchase' && !firstActivity.has(row.session)) {
        firstActivity.set(row.session, row.time);
      }
    }
    const boughtAfter = (session: string, user: string) =>
      rows.some(
        (row) =>
          row.type === 'purchase' &&
          row.user === user &&
          row.time >= (firstActivity.get(session) ?? Number.POSITIVE_INFINITY),
      );
    const sessionsWithLines = [...lines].filter(([, cart]) => cart.size > 0);
    const neverBought = sessionsWithLines.filter(([session]) => {
      const user = rows.find((row) => row.session === session)!.user;
      return !boughtAfter(session, user);
    });
    expect(neverBought.length).toBeGreaterThan(10);
    const stepZero = new Map(
      ledger.filter((row) => row.step === 0).map((row) => [row.external_id, row]),
    );
    const unmailed = neverBought
      .map(([session]) => session)
      .filter((session) => {
        const row = stepZero.get(session);
        return row?.status !== 'sent' || perRow.get(row.id) !== 1;
      });
    expect(unmailed).toEqual([]);

    // The purchases that came after a session's cart did reach the loop.
    const purchasedAfterCart = [...purchaseAcked.keys()].filter((session) =>
      firstActivity.has(session),
    );
    expect(purchasedAfterCart.length).toBeGreaterThan(10);
    for (const session of purchasedAfterCart) {
      const steps = ledger.filter((row) => row.external_id === session);
      // Whatever was sent went out before the purchase; nothing is left to send.
      expect(steps.filter((row) => row.status === 'scheduled')).toEqual([]);
    }
  });
});
