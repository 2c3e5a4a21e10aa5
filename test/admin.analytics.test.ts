import { buildApp, createStore, loadConfig } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ORIGIN, signIn } from './helpers/admin.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';

// The analytics API through the real app and Postgres: rows written straight into carts,
// messages and events, then every figure of the API compared with the same figure computed
// here from the rows read back — after the seeding and again after random changes — plus the
// CSV downloads, bad periods, and that one store's session sees nothing of another's.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

type App = Awaited<ReturnType<typeof buildApp>>;

const statuses = ['active', 'checkout', 'abandoned', 'converted', 'recovered', 'emptied'] as const;
const messageStatuses = [
  'scheduled',
  'sending',
  'sent',
  'suppressed',
  'cancelled',
  'failed',
] as const;
const devices = ['desktop', 'mobile', 'tablet', null] as const;
const reasons = ['price', 'shipping_cost', 'just_browsing', null, null, null] as const;
const currencies = ['EUR', 'USD', 'GBP'] as const;
const actions = ['copy_code', 'checkout', 'dismiss', 'capture_submitted', 'reason'] as const;
const dimensions = ['campaign', 'step', 'channel', 'overlay', 'device', 'exit_reason'] as const;

/** A small deterministic generator, so a failure can be replayed. */
function randomFrom(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  };
}

const localDay = (at: Date, timeZone: string) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);

const dayList = (from: string, to: string) => {
  const days: string[] = [];
  for (let at = Date.parse(`${from}T00:00:00Z`); at <= Date.parse(`${to}T00:00:00Z`); ) {
    days.push(new Date(at).toISOString().slice(0, 10));
    at += 86_400_000;
  }
  return days;
};

interface Raw {
  carts: {
    id: string;
    external_id: string;
    status: string;
    cohort: Date;
    checkout: boolean;
    abandoned: boolean;
    enrolment: string | null;
    device: string | null;
    campaign_id: string | null;
    exit_reason: string | null;
    order_value_minor: number | null;
    order_currency: string | null;
    attributed_message_id: string | null;
  }[];
  messages: {
    id: string;
    cart_id: string;
    step: number;
    channel: string;
    status: string;
    opened: boolean;
    clicked: boolean;
  }[];
  events: { cart_id: string; type: string; overlay_id: string; action: string | null }[];
}

/** Every row of the store that the figures come from, read back from Postgres. */
async function readRaw(db: Db, storeId: string): Promise<Raw> {
  const carts = await sql<Raw['carts'][number]>`
    select id, external_id, status, coalesce(first_seen_at, created_at) as cohort,
      checkout_at is not null as checkout, abandoned_at is not null as abandoned, enrolment,
      device, campaign_id, exit_reason, order_value_minor, order_currency, attributed_message_id
    from carts where store_id = ${storeId}`.execute(db);
  const messages = await sql<Raw['messages'][number]>`
    select id, cart_id, step, channel, status, opened_at is not null as opened,
      clicked_at is not null as clicked
    from messages where store_id = ${storeId}`.execute(db);
  const events = await sql<Raw['events'][number]>`
    select cart_id, type, payload->>'overlayId' as overlay_id, payload->>'action' as action
    from events
    where store_id = ${storeId} and type in ('overlay_shown', 'overlay_action')
      and cart_id is not null`.execute(db);
  return { carts: carts.rows, messages: messages.rows, events: events.rows };
}

type Values = Record<string, number>;

/** The figures of a period as the README defines them, computed from the raw rows alone. */
function expected(raw: Raw, from: string, to: string, timeZone: string) {
  const days = new Set(dayList(from, to));
  const carts = raw.carts.filter((cart) => days.has(localDay(cart.cohort, timeZone)));
  const cartIds = new Set(carts.map((cart) => cart.id));
  const messagesOf = new Map<string, Raw['messages']>();
  for (const message of raw.messages) {
    if (!cartIds.has(message.cart_id)) continue;
    messagesOf.set(message.cart_id, [...(messagesOf.get(message.cart_id) ?? []), message]);
  }
  const revenue = (list: typeof carts) => {
    const money = new Map<string, number>();
    for (const cart of list) {
      if (cart.status !== 'recovered' || !cart.order_currency || cart.order_value_minor === null)
        continue;
      money.set(
        cart.order_currency,
        (money.get(cart.order_currency) ?? 0) + cart.order_value_minor,
      );
    }
    return money;
  };
  const counts = (list: typeof carts) => {
    const has = (cart: (typeof carts)[number], test: (m: Raw['messages'][number]) => boolean) =>
      (messagesOf.get(cart.id) ?? []).some(test);
    return {
      carts: list.length,
      checkout: list.filter((c) => c.checkout).length,
      abandoned: list.filter((c) => c.abandoned).length,
      enrolled: list.filter((c) => c.enrolment === 'enrolled').length,
      messaged: list.filter((c) => has(c, (m) => m.status === 'sent')).length,
      opened: list.filter((c) => has(c, (m) => m.opened)).length,
      clicked: list.filter((c) => has(c, (m) => m.clicked)).length,
      recovered: list.filter((c) => c.status === 'recovered').length,
      convertedUnassisted: list.filter((c) => c.status === 'converted').length,
    };
  };
  const money = (map: Map<string, number>) =>
    [...map]
      .filter(([, amount]) => amount !== 0)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([currency, amountMinor]) => ({ currency, amountMinor }));

  const kpiCounts = counts(carts);
  const kpis = {
    ...kpiCounts,
    recoveryRate: kpiCounts.abandoned > 0 ? kpiCounts.recovered / kpiCounts.abandoned : null,
    revenueRecovered: money(revenue(carts)),
  };
  const series = dayList(from, to).map((date) => {
    const ofDay = carts.filter((cart) => localDay(cart.cohort, timeZone) === date);
    return { date, ...counts(ofDay), revenueRecovered: money(revenue(ofDay)) };
  });

  const withRevenue = (rows: Map<string, Values>, revenueOf: Map<string, Map<string, number>>) => {
    const seen = new Set<string>();
    for (const map of revenueOf.values())
      for (const [cur, amount] of map) if (amount) seen.add(cur);
    const result: Record<string, Values> = {};
    for (const [key, values] of rows) {
      const out: Values = { ...values };
      for (const cur of seen) out[`revenueRecovered_${cur}`] = revenueOf.get(key)?.get(cur) ?? 0;
      result[key] = out;
    }
    return result;
  };

  const byCart = (keyOf: (cart: (typeof carts)[number]) => string) => {
    const groups = new Map<string, typeof carts>();
    for (const cart of carts) groups.set(keyOf(cart), [...(groups.get(keyOf(cart)) ?? []), cart]);
    const rows = new Map<string, Values>();
    const revenues = new Map<string, Map<string, number>>();
    for (const [key, list] of groups) {
      rows.set(key, counts(list));
      revenues.set(key, revenue(list));
    }
    return withRevenue(rows, revenues);
  };

  const bySend = (keyOf: (message: Raw['messages'][number]) => string) => {
    const rows = new Map<string, Values>();
    const revenues = new Map<string, Map<string, number>>();
    const cartById = new Map(carts.map((cart) => [cart.id, cart]));
    for (const message of raw.messages) {
      const cart = cartById.get(message.cart_id);
      if (!cart) continue;
      const key = keyOf(message);
      const row = rows.get(key) ?? { sent: 0, opened: 0, clicked: 0, recovered: 0 };
      const won = cart.status === 'recovered' && cart.attributed_message_id === message.id;
      row.sent = (row.sent ?? 0) + (message.status === 'sent' ? 1 : 0);
      row.opened = (row.opened ?? 0) + (message.opened ? 1 : 0);
      row.clicked = (row.clicked ?? 0) + (message.clicked ? 1 : 0);
      row.recovered = (row.recovered ?? 0) + (won ? 1 : 0);
      rows.set(key, row);
      if (won && cart.order_currency && cart.order_value_minor !== null) {
        const map = revenues.get(key) ?? new Map<string, number>();
        map.set(cart.order_currency, (map.get(cart.order_currency) ?? 0) + cart.order_value_minor);
        revenues.set(key, map);
      }
    }
    for (const [key, row] of rows) {
      if (!row.sent && !row.opened && !row.clicked && !row.recovered) rows.delete(key);
    }
    return withRevenue(rows, revenues);
  };

  const overlay = () => {
    const byExternal = new Map(carts.map((cart) => [cart.external_id, cart]));
    const kindOf = (id: string) =>
      id.startsWith('ov_exit')
        ? 'exit_modal'
        : id.startsWith('ov_slide')
          ? 'return_slide_in'
          : 'other';
    const rows = new Map<string, Values>();
    const shownCarts = new Map<string, Set<(typeof carts)[number]>>();
    for (const event of raw.events) {
      const cart = byExternal.get(event.cart_id);
      if (!cart) continue;
      const kind = kindOf(event.overlay_id);
      const row =
        rows.get(kind) ??
        Object.fromEntries(
          [...actions, 'shown', 'carts', 'recovered', 'convertedUnassisted'].map((k) => [k, 0]),
        );
      if (event.type === 'overlay_shown') {
        row.shown = (row.shown ?? 0) + 1;
        shownCarts.set(kind, (shownCarts.get(kind) ?? new Set()).add(cart));
      } else if (event.action && (actions as readonly string[]).includes(event.action)) {
        row[event.action] = (row[event.action] ?? 0) + 1;
      }
      rows.set(kind, row);
    }
    const revenues = new Map<string, Map<string, number>>();
    for (const [kind, set] of shownCarts) {
      const row = rows.get(kind) as Values;
      row.carts = set.size;
      row.recovered = [...set].filter((c) => c.status === 'recovered').length;
      row.convertedUnassisted = [...set].filter((c) => c.status === 'converted').length;
      revenues.set(kind, revenue([...set]));
    }
    return withRevenue(rows, revenues);
  };

  return {
    kpis,
    series,
    breakdowns: {
      campaign: byCart((cart) => cart.campaign_id ?? ''),
      device: byCart((cart) => cart.device ?? ''),
      exit_reason: byCart((cart) => cart.exit_reason ?? ''),
      step: bySend((message) => String(message.step)),
      channel: bySend((message) => message.channel),
      overlay: overlay(),
    } as Record<(typeof dimensions)[number], Record<string, Values>>,
  };
}

describe.skipIf(!pgUrl)('admin analytics', () => {
  let db: Db;
  let app: App;

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    app = await buildApp(
      loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', PUBLIC_URL: ADMIN_ORIGIN }),
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  async function merchant(timeZone: string) {
    const name = uniqueName('Shop');
    const origin = `https://${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
    const { store, adminSecret } = await createStore(db, { name, allowedOrigins: [origin] });
    const { cookie } = await signIn(app, store.id, adminSecret);
    const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
      app.inject({
        method,
        url,
        headers: { origin: ADMIN_ORIGIN, cookie },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    const patched = await call('PATCH', '/admin/api/store', { settings: { timezone: timeZone } });
    expect(patched.statusCode).toBe(200);
    return { store, call };
  }

  /** Carts, ledger rows and overlay events spread around [start, end), inserted directly. */
  async function seed(storeId: string, seedValue: number, start: Date, end: Date, count: number) {
    const random = randomFrom(seedValue);
    const campaigns = await db
      .insertInto('campaigns')
      .values([
        { store_id: storeId, name: 'Gentle', status: 'active' },
        { store_id: storeId, name: '=HYPERLINK("x")', status: 'paused' },
      ])
      .returning('id')
      .execute();
    const span = end.getTime() - start.getTime();
    for (let index = 0; index < count; index += 1) {
      const status = random.pick(statuses);
      const cohort = new Date(start.getTime() + Math.floor(random.next() * span));
      const abandoned = status === 'abandoned' || status === 'recovered' || random.chance(0.3);
      const enrolment = abandoned
        ? random.pick(['enrolled', 'enrolled', 'no_channel', null])
        : null;
      const campaign = enrolment === 'enrolled' ? random.pick(campaigns).id : null;
      const bought = status === 'converted' || status === 'recovered';
      const currency = random.pick(currencies);
      const [cart] = await sql<{ id: string; external_id: string }>`
        insert into carts (store_id, external_id, status, first_seen_at, created_at, checkout_at,
          abandoned_at, enrolment, device, campaign_id, exit_reason, currency, order_id,
          order_value_minor, order_currency, converted_at)
        values (${storeId}, ${`ext-${seedValue}-${index}`}, ${status},
          ${random.chance(0.05) ? null : cohort}, ${cohort},
          ${random.chance(0.4) ? cohort : null}, ${abandoned ? cohort : null}, ${enrolment},
          ${random.pick(devices)}, ${campaign}, ${random.pick(reasons)}, ${currency},
          ${bought ? `order-${index}` : null},
          ${bought && random.chance(0.95) ? random.int(100, 50_000) : null},
          ${bought ? currency : null}, ${bought ? cohort : null})
        returning id, external_id`
        .execute(db)
        .then((result) => result.rows);
      if (!cart) throw new Error('no cart');
      const messageIds: string[] = [];
      if (campaign) {
        const steps = random.int(0, 3);
        for (let step = 0; step < steps; step += 1) {
          const messageStatus = random.pick(messageStatuses);
          const sent = messageStatus === 'sent';
          const [message] = await sql<{ id: string }>`
            insert into messages (store_id, cart_id, campaign_id, step, channel, status,
              scheduled_at, sent_at, opened_at, clicked_at)
            values (${storeId}, ${cart.id}, ${campaign}, ${step},
              ${random.pick(['email', 'email', 'sms'])}, ${messageStatus}, ${cohort},
              ${sent ? cohort : null}, ${sent && random.chance(0.5) ? cohort : null},
              ${sent && random.chance(0.3) ? cohort : null})
            returning id`
            .execute(db)
            .then((result) => result.rows);
          if (message && sent) messageIds.push(message.id);
        }
      }
      if (status === 'recovered' && messageIds.length > 0) {
        await sql`update carts set attributed_message_id = ${random.pick(messageIds)}
          where id = ${cart.id}`.execute(db);
      }
      if (random.chance(0.3)) {
        const overlayId = `${random.pick(['ov_exit_', 'ov_slide_', 'ov_'])}${index}`;
        const events = [{ type: 'overlay_shown', payload: { overlayId } }];
        for (let n = random.int(0, 3); n > 0; n -= 1) {
          events.push({
            type: 'overlay_action',
            payload: { overlayId, action: random.pick(actions) } as never,
          });
        }
        if (random.chance(0.3)) events.push({ type: 'overlay_shown', payload: { overlayId } });
        await db
          .insertInto('events')
          .values(
            events.map((event, n) => ({
              store_id: storeId,
              id: `01ANALYTICS${seedValue}x${index}x${n}`,
              type: event.type,
              ts: cohort,
              cart_id: cart.external_id,
              payload: JSON.stringify(event.payload),
            })),
          )
          .execute();
      }
    }
  }

  async function expectFigures(
    call: Awaited<ReturnType<typeof merchant>>['call'],
    storeId: string,
    timeZone: string,
    from: string,
    to: string,
    previousFrom: string,
    previousTo: string,
  ) {
    const raw = await readRaw(db, storeId);
    const current = expected(raw, from, to, timeZone);
    const previous = expected(raw, previousFrom, previousTo, timeZone);
    const response = await call('GET', `/admin/api/analytics/overview?from=${from}&to=${to}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ from, to, previousFrom, previousTo, timezone: timeZone });
    expect(body.current).toEqual(current.kpis);
    expect(body.previous).toEqual(previous.kpis);
    expect(body.series).toEqual(current.series);
    expect(body.funnel).toEqual(
      ['carts', 'checkout', 'abandoned', 'messaged', 'opened', 'clicked', 'recovered'].map(
        (stage) => ({ stage, count: current.kpis[stage as keyof typeof current.kpis] }),
      ),
    );
    for (const by of dimensions) {
      const table = await call(
        'GET',
        `/admin/api/analytics/breakdown?by=${by}&from=${from}&to=${to}`,
      );
      expect(table.statusCode).toBe(200);
      const got = Object.fromEntries(
        table.json().rows.map((row: { key: string; values: Values }) => [row.key, row.values]),
      );
      expect({ by, rows: got }).toEqual({ by, rows: current.breakdowns[by] });
    }
    return { body, current };
  }

  it('computes KPIs, series, funnel and breakdowns as defined, across DST and period bounds', async () => {
    const timeZone = 'America/New_York';
    const { store, call } = await merchant(timeZone);
    await seed(
      store.id,
      7,
      new Date('2026-02-01T00:00:00Z'),
      new Date('2026-03-25T00:00:00Z'),
      400,
    );
    // On the bounds: local midnight of the first day (in), a moment before (previous period),
    // local midnight after the last day (out), in EST and EDT.
    for (const [n, at] of [
      '2026-03-01T05:00:00Z',
      '2026-03-01T04:59:59.999Z',
      '2026-03-21T04:00:00Z',
      '2026-03-21T03:59:59.999Z',
    ].entries()) {
      await sql`insert into carts (store_id, external_id, status, first_seen_at, order_value_minor,
          order_currency)
        values (${store.id}, ${`edge-${n}`}, 'recovered', ${at}, 1000, 'JPY')`.execute(db);
    }
    const { body } = await expectFigures(
      call,
      store.id,
      timeZone,
      '2026-03-01',
      '2026-03-20',
      '2026-02-09',
      '2026-02-28',
    );
    expect(body.current.carts).toBeGreaterThan(50);
    expect(body.series).toHaveLength(20);
    expect(body.current.revenueRecovered.length).toBeGreaterThan(1);
  });

  it('counts half-hour time zones and stays exact after random changes to the raw rows', async () => {
    const timeZone = 'Asia/Kolkata';
    const { store, call } = await merchant(timeZone);
    await seed(
      store.id,
      11,
      new Date('2026-04-01T00:00:00Z'),
      new Date('2026-05-01T00:00:00Z'),
      250,
    );
    await expectFigures(
      call,
      store.id,
      timeZone,
      '2026-04-11',
      '2026-04-25',
      '2026-03-27',
      '2026-04-10',
    );

    const random = randomFrom(99);
    const cartIds = (await readRaw(db, store.id)).carts.map((cart) => cart.id);
    for (let round = 0; round < 4; round += 1) {
      for (let change = 0; change < 40; change += 1) {
        const cartId = random.pick(cartIds);
        switch (random.int(0, 6)) {
          case 0:
            await sql`update carts set status = ${random.pick(statuses)} where id = ${cartId}`.execute(
              db,
            );
            break;
          case 1:
            await sql`update carts set first_seen_at = first_seen_at - ${`${random.int(1, 600)} minutes`}::interval
              where id = ${cartId}`.execute(db);
            break;
          case 2:
            await sql`update messages set status = ${random.pick(messageStatuses)},
                opened_at = case when ${random.chance(0.5)} then now() end
              where cart_id = ${cartId}`.execute(db);
            break;
          case 3:
            await sql`update messages set clicked_at = now() where cart_id = ${cartId}`.execute(db);
            break;
          case 4:
            await sql`update carts set device = ${random.pick(devices)}, exit_reason = ${random.pick(reasons)},
              order_value_minor = ${random.int(1, 9999)}, order_currency = ${random.pick(currencies)}
              where id = ${cartId}`.execute(db);
            break;
          case 5:
            await sql`delete from carts where id = ${cartId}`.execute(db);
            break;
          default:
            await sql`insert into events (store_id, id, type, ts, cart_id, payload)
              select store_id, ${`01CHANGE${round}x${change}`}, 'overlay_action', now(), external_id,
                ${JSON.stringify({ overlayId: 'ov_exit_x', action: random.pick(actions) })}::jsonb
              from carts where id = ${cartId}`.execute(db);
        }
      }
      await expectFigures(
        call,
        store.id,
        timeZone,
        '2026-04-11',
        '2026-04-25',
        '2026-03-27',
        '2026-04-10',
      );
    }
    // The rollup after incremental refreshes equals one rebuilt from nothing.
    const before = await sql`select * from analytics_rollup where store_id = ${store.id}
      order by dimension, bucket, key, currency`.execute(db);
    await sql`delete from analytics_rollup where store_id = ${store.id}`.execute(db);
    await sql`insert into analytics_dirty (store_id, bucket)
      select distinct store_id, winback_quarter_hour(coalesce(first_seen_at, created_at))
      from carts where store_id = ${store.id}`.execute(db);
    await call('GET', '/admin/api/analytics/overview');
    const after = await sql`select * from analytics_rollup where store_id = ${store.id}
      order by dimension, bucket, key, currency`.execute(db);
    expect(after.rows).toEqual(before.rows);
  });

  it('exports every table as CSV that parses back to the same numbers, formula-safe', async () => {
    const timeZone = 'Europe/Berlin';
    const { store, call } = await merchant(timeZone);
    await seed(
      store.id,
      23,
      new Date('2026-06-01T00:00:00Z'),
      new Date('2026-06-15T00:00:00Z'),
      120,
    );
    const query = 'from=2026-06-01&to=2026-06-14';
    const json = (await call('GET', `/admin/api/analytics/overview?${query}`)).json();
    const csv = await call('GET', `/admin/api/analytics/overview?${query}&format=csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="[^"]+\.csv"$/);
    const records: Record<string, string>[] = parse(csv.body, { columns: true });
    expect(records.map((r) => r.date)).toEqual(json.series.map((d: { date: string }) => d.date));
    for (const [index, record] of records.entries()) {
      const day = json.series[index];
      for (const key of ['carts', 'abandoned', 'recovered', 'messaged', 'convertedUnassisted']) {
        expect(Number(record[key])).toBe(day[key]);
      }
      for (const money of day.revenueRecovered) {
        expect(Number(record[`revenueRecovered_${money.currency}`])).toBe(money.amountMinor);
      }
    }

    for (const by of dimensions) {
      const table = (await call('GET', `/admin/api/analytics/breakdown?by=${by}&${query}`)).json();
      const download = await call(
        'GET',
        `/admin/api/analytics/breakdown?by=${by}&${query}&format=csv`,
      );
      expect(download.headers['content-type']).toBe('text/csv; charset=utf-8');
      const rows: string[][] = parse(download.body);
      expect(rows[0]).toEqual([
        'key',
        'label',
        ...table.columns.map((c: { key: string }) => c.key),
      ]);
      expect(rows.length - 1).toBe(table.rows.length);
      for (const [index, row] of table.rows.entries()) {
        const cells = rows[index + 1] as string[];
        expect(cells[0]).toBe(row.key);
        // The paused campaign's name starts with "=": it comes back as text, not a formula.
        expect(cells[1]).toBe(row.label.startsWith('=') ? `'${row.label}` : row.label);
        expect(cells.slice(2).map(Number)).toEqual(
          table.columns.map((c: { key: string }) => row.values[c.key]),
        );
      }
    }
    const campaigns = parse(
      (await call('GET', `/admin/api/analytics/breakdown?by=campaign&${query}&format=csv`)).body,
    ) as string[][];
    expect(campaigns.some((row) => row[1] === `'=HYPERLINK("x")`)).toBe(true);

    // The carts search as CSV: every matching cart, the same ones the JSON pages list.
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { carts: { id: string }[]; nextCursor: string | null } = (
        await call('POST', '/admin/api/carts/search', {
          statuses: ['abandoned', 'recovered'],
          limit: 7,
          ...(cursor ? { cursor } : {}),
        })
      ).json();
      ids.push(...page.carts.map((cart: { id: string }) => cart.id));
      cursor = page.nextCursor;
    } while (cursor);
    const cartsCsv = await call('POST', '/admin/api/carts/search', {
      statuses: ['abandoned', 'recovered'],
      format: 'csv',
    });
    expect(cartsCsv.statusCode).toBe(200);
    expect(cartsCsv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(cartsCsv.headers['content-disposition']).toMatch(/^attachment; filename=/);
    const cartRows: Record<string, string>[] = parse(cartsCsv.body, { columns: true });
    expect(cartRows.map((row) => row.id)).toEqual(ids);
    expect(ids.length).toBeGreaterThan(10);
    expect(cartRows.every((row) => ['abandoned', 'recovered'].includes(row.status ?? ''))).toBe(
      true,
    );
  });

  it('defaults to the last 30 days, compares with the 30 before, and refuses bad periods with a 400', async () => {
    const { call } = await merchant('Pacific/Auckland');
    const today = localDay(new Date(), 'Pacific/Auckland');
    const body = (await call('GET', '/admin/api/analytics/overview')).json();
    expect(body.to).toBe(today);
    expect(body.series).toHaveLength(30);
    expect(dayList(body.previousFrom, body.previousTo)).toHaveLength(30);
    expect(dayList(body.previousTo, body.from)).toHaveLength(2);
    expect(body.current).toMatchObject({ carts: 0, recoveryRate: null, revenueRecovered: [] });

    for (const query of [
      'from=2026-03-10&to=2026-03-01',
      'from=2025-01-01&to=2026-01-02',
      'from=2026-02-30&to=2026-03-01',
      'from=26-01-01',
      'to=tomorrow',
      'by=campaign&from=2026-01-01&to=2026-01-02&format=xml',
    ]) {
      const response = await call('GET', `/admin/api/analytics/overview?${query}`);
      expect({ query, status: response.statusCode }).toEqual({ query, status: 400 });
      expect(response.json().error.code).toBe('WB_ERR_VALIDATION');
    }
    expect(
      (await call('GET', '/admin/api/analytics/overview?from=2025-01-01&to=2026-01-01')).statusCode,
    ).toBe(200);
    expect((await call('GET', '/admin/api/analytics/breakdown?by=weather')).statusCode).toBe(400);

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('overview', 'breakdown'),
        fc.array(
          fc.tuple(
            fc.oneof(fc.constantFrom('from', 'to', 'by', 'format'), fc.string()),
            fc.oneof(
              fc.string(),
              fc.constantFrom('campaign', 'csv', 'json', '2026-01-01', '0000-00-00', '9999-12-31'),
              fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
            ),
          ),
          { maxLength: 5 },
        ),
        async (endpoint, pairs) => {
          const query = pairs
            .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
            .join('&');
          const response = await call('GET', `/admin/api/analytics/${endpoint}?${query}`);
          expect(response.statusCode).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('shows another store’s session none of this store’s numbers', async () => {
    const { store } = await merchant('UTC');
    await seed(
      store.id,
      31,
      new Date('2026-07-01T00:00:00Z'),
      new Date('2026-07-10T00:00:00Z'),
      60,
    );
    const other = await merchant('UTC');
    const query = 'from=2026-07-01&to=2026-07-10';
    const body = (await other.call('GET', `/admin/api/analytics/overview?${query}`)).json();
    expect(body.current).toMatchObject({
      carts: 0,
      abandoned: 0,
      recovered: 0,
      revenueRecovered: [],
    });
    expect(body.series.every((day: { carts: number }) => day.carts === 0)).toBe(true);
    for (const by of dimensions) {
      const table = (
        await other.call('GET', `/admin/api/analytics/breakdown?by=${by}&${query}`)
      ).json();
      expect(table.rows).toEqual([]);
    }
    const carts = await other.call('POST', '/admin/api/carts/search', { format: 'csv' });
    expect(parse(carts.body)).toHaveLength(1);
    const anonymous = await app.inject({
      method: 'GET',
      url: `/admin/api/analytics/overview?${query}`,
    });
    expect(anonymous.statusCode).toBe(401);
  });
});
