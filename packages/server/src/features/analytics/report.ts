import { sql } from 'kysely';
import type { Db } from '../../db/index.js';

/*
 * What the merchant reads: KPIs, a daily series and the funnel for a period of days in the
 * store's time zone, and breakdowns by one dimension. Everything is summed from
 * `analytics_rollup` (see rollup.ts); the caller refreshes it first.
 */

export const breakdownDimensions = [
  'campaign',
  'step',
  'channel',
  'overlay',
  'device',
  'exit_reason',
] as const;
export type BreakdownDimension = (typeof breakdownDimensions)[number];

export interface Money {
  currency: string;
  amountMinor: number;
}

export interface Kpis {
  carts: number;
  checkout: number;
  abandoned: number;
  enrolled: number;
  messaged: number;
  opened: number;
  clicked: number;
  recovered: number;
  convertedUnassisted: number;
  /** recovered / abandoned; null without abandoned carts. */
  recoveryRate: number | null;
  revenueRecovered: Money[];
}

export interface DayFigures extends Omit<Kpis, 'recoveryRate'> {
  date: string;
}

export interface Period {
  from: string;
  to: string;
}

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Epoch day of a `YYYY-MM-DD` that names a real calendar day, else null. */
export function epochDay(text: string): number | null {
  const match = DATE.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const at = Date.UTC(year, month - 1, day);
  const back = new Date(at);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1) return null;
  if (back.getUTCDate() !== day) return null;
  return at / DAY_MS;
}

export const dayText = (epoch: number): string =>
  new Date(epoch * DAY_MS).toISOString().slice(0, 10);

/** Today's date in `timeZone`. */
export function today(timeZone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}

/** The same number of days just before `period`. */
export function previousPeriod(period: Period): Period {
  const from = epochDay(period.from) as number;
  const to = epochDay(period.to) as number;
  return { from: dayText(from - (to - from + 1)), to: dayText(from - 1) };
}

/** Every day of a period, in order. */
export function daysOf(period: Period): string[] {
  const from = epochDay(period.from) as number;
  const to = epochDay(period.to) as number;
  const days: string[] = [];
  for (let day = from; day <= to; day += 1) days.push(dayText(day));
  return days;
}

type Counts = Omit<Kpis, 'recoveryRate' | 'revenueRecovered'>;

const countKeys = [
  'carts',
  'checkout',
  'abandoned',
  'enrolled',
  'messaged',
  'opened',
  'clicked',
  'recovered',
  'convertedUnassisted',
] as const satisfies readonly (keyof Counts)[];

const zeroCounts = (): Counts => ({
  carts: 0,
  checkout: 0,
  abandoned: 0,
  enrolled: 0,
  messaged: 0,
  opened: 0,
  clicked: 0,
  recovered: 0,
  convertedUnassisted: 0,
});

/** The start of `day` and of the day after `lastDay` in `timeZone`, as SQL timestamptz. */
const rangeOf = (firstDay: string, lastDay: string, timeZone: string) => ({
  start: sql`(${firstDay}::date::timestamp at time zone ${timeZone})`,
  end: sql`((${lastDay}::date + 1)::timestamp at time zone ${timeZone})`,
});

const sums = sql`
  sum(carts)::int as carts, sum(checkout)::int as checkout, sum(abandoned)::int as abandoned,
  sum(enrolled)::int as enrolled, sum(messaged)::int as messaged, sum(opened)::int as opened,
  sum(clicked)::int as clicked, sum(recovered)::int as recovered,
  sum(converted)::int as converted, sum(revenue_minor)::bigint as revenue_minor,
  sum(shown)::int as shown, sum(copy_code)::int as copy_code,
  sum(checkout_action)::int as checkout_action, sum(dismiss)::int as dismiss,
  sum(capture_submitted)::int as capture_submitted, sum(reason)::int as reason`;

interface SumRow {
  currency: string;
  carts: number;
  checkout: number;
  abandoned: number;
  enrolled: number;
  messaged: number;
  opened: number;
  clicked: number;
  recovered: number;
  converted: number;
  revenue_minor: number;
  shown: number;
  copy_code: number;
  checkout_action: number;
  dismiss: number;
  capture_submitted: number;
  reason: number;
}

function addCounts(into: Counts, row: SumRow): void {
  into.carts += row.carts;
  into.checkout += row.checkout;
  into.abandoned += row.abandoned;
  into.enrolled += row.enrolled;
  into.messaged += row.messaged;
  into.opened += row.opened;
  into.clicked += row.clicked;
  into.recovered += row.recovered;
  into.convertedUnassisted += row.converted;
}

function addMoney(into: Map<string, number>, row: SumRow): void {
  if (row.currency === '' || row.revenue_minor === 0) return;
  into.set(row.currency, (into.get(row.currency) ?? 0) + row.revenue_minor);
}

const moneyList = (amounts: Map<string, number>): Money[] =>
  [...amounts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([currency, amountMinor]) => ({ currency, amountMinor }));

export interface Overview {
  current: Kpis;
  previous: Kpis;
  series: DayFigures[];
  funnel: { stage: FunnelStage; count: number }[];
}

export const funnelStages = [
  'carts',
  'checkout',
  'abandoned',
  'messaged',
  'opened',
  'clicked',
  'recovered',
] as const;
export type FunnelStage = (typeof funnelStages)[number];

/** KPIs of `period` and of the one before it, the daily series and the funnel. */
export async function readOverview(
  db: Db,
  storeId: string,
  period: Period,
  timeZone: string,
): Promise<Overview> {
  const previous = previousPeriod(period);
  const { start, end } = rangeOf(previous.from, period.to, timeZone);
  const { rows } = await sql<SumRow & { day: string }>`
    select to_char((bucket at time zone ${timeZone})::date, 'YYYY-MM-DD') as day, currency, ${sums}
    from analytics_rollup
    where store_id = ${storeId} and dimension = 'total'
      and bucket >= ${start} and bucket < ${end}
    group by 1, 2
  `.execute(db);

  const days = new Map<string, { counts: Counts; money: Map<string, number> }>();
  for (const day of [...daysOf(previous), ...daysOf(period)]) {
    days.set(day, { counts: zeroCounts(), money: new Map() });
  }
  for (const row of rows) {
    const day = days.get(row.day);
    if (!day) continue;
    addCounts(day.counts, row);
    addMoney(day.money, row);
  }

  const total = (of: Period): Kpis => {
    const counts = zeroCounts();
    const money = new Map<string, number>();
    for (const date of daysOf(of)) {
      const day = days.get(date);
      if (!day) continue;
      for (const key of countKeys) counts[key] += day.counts[key];
      for (const [currency, amount] of day.money) {
        money.set(currency, (money.get(currency) ?? 0) + amount);
      }
    }
    return {
      ...counts,
      recoveryRate: counts.abandoned > 0 ? counts.recovered / counts.abandoned : null,
      revenueRecovered: moneyList(money),
    };
  };

  const current = total(period);
  return {
    current,
    previous: total(previous),
    series: daysOf(period).map((date) => {
      const day = days.get(date) as { counts: Counts; money: Map<string, number> };
      return { date, ...day.counts, revenueRecovered: moneyList(day.money) };
    }),
    funnel: funnelStages.map((stage) => ({
      stage,
      count: stage === 'checkout' ? current.checkout : current[stage],
    })),
  };
}

export interface Breakdown {
  by: BreakdownDimension;
  columns: { key: string; label: string }[];
  rows: { key: string; label: string; values: Record<string, number> }[];
}

type Column = { key: string; label: string; from: keyof SumRow };

const cartColumns: Column[] = [
  { key: 'carts', label: 'Carts', from: 'carts' },
  { key: 'checkout', label: 'Reached checkout', from: 'checkout' },
  { key: 'abandoned', label: 'Abandoned', from: 'abandoned' },
  { key: 'enrolled', label: 'Enrolled', from: 'enrolled' },
  { key: 'messaged', label: 'Messaged', from: 'messaged' },
  { key: 'opened', label: 'Opened', from: 'opened' },
  { key: 'clicked', label: 'Clicked', from: 'clicked' },
  { key: 'recovered', label: 'Recovered', from: 'recovered' },
  { key: 'convertedUnassisted', label: 'Converted without help', from: 'converted' },
];

const messageColumns: Column[] = [
  { key: 'sent', label: 'Sent', from: 'messaged' },
  { key: 'opened', label: 'Opened', from: 'opened' },
  { key: 'clicked', label: 'Clicked', from: 'clicked' },
  { key: 'recovered', label: 'Recovered (attributed)', from: 'recovered' },
];

const overlayColumns: Column[] = [
  { key: 'shown', label: 'Shown', from: 'shown' },
  { key: 'copy_code', label: 'Code copied', from: 'copy_code' },
  { key: 'checkout', label: 'Went to checkout', from: 'checkout_action' },
  { key: 'dismiss', label: 'Dismissed', from: 'dismiss' },
  { key: 'capture_submitted', label: 'Contact left', from: 'capture_submitted' },
  { key: 'reason', label: 'Reason given', from: 'reason' },
  { key: 'carts', label: 'Carts shown', from: 'carts' },
  { key: 'recovered', label: 'Recovered after overlay', from: 'recovered' },
  { key: 'convertedUnassisted', label: 'Converted after overlay', from: 'converted' },
];

const columnsOf: Record<BreakdownDimension, Column[]> = {
  campaign: cartColumns,
  device: cartColumns,
  exit_reason: cartColumns,
  step: messageColumns,
  channel: messageColumns,
  overlay: overlayColumns,
};

const overlayLabels: Record<string, string> = {
  exit_modal: 'Exit modal',
  return_slide_in: 'Return slide-in',
  other: 'Other',
};

const capitalised = (text: string) =>
  text.charAt(0).toUpperCase() + text.slice(1).replaceAll('_', ' ');

/** Revenue columns are named `revenueRecovered_<CUR>`, one per currency seen. */
export const revenueColumn = (currency: string) => `revenueRecovered_${currency}`;

/** One table of `period` by `by`: a row per value, a column per count and per currency. */
export async function readBreakdown(
  db: Db,
  storeId: string,
  by: BreakdownDimension,
  period: Period,
  timeZone: string,
): Promise<Breakdown> {
  const { start, end } = rangeOf(period.from, period.to, timeZone);
  const { rows } = await sql<SumRow & { key: string }>`
    select key, currency, ${sums}
    from analytics_rollup
    where store_id = ${storeId} and dimension = ${by}
      and bucket >= ${start} and bucket < ${end}
    group by key, currency
  `.execute(db);

  const columns = columnsOf[by];
  const currencies = [...new Set(rows.map((row) => row.currency).filter((c) => c !== ''))].sort();
  const byKey = new Map<string, Record<string, number>>();
  for (const row of rows) {
    let values = byKey.get(row.key);
    if (!values) {
      values = Object.fromEntries([
        ...columns.map((column) => [column.key, 0]),
        ...currencies.map((currency) => [revenueColumn(currency), 0]),
      ]) as Record<string, number>;
      byKey.set(row.key, values);
    }
    if (row.currency === '') {
      for (const column of columns) {
        values[column.key] = (values[column.key] ?? 0) + (row[column.from] as number);
      }
    } else {
      const key = revenueColumn(row.currency);
      values[key] = (values[key] ?? 0) + row.revenue_minor;
    }
  }

  const names = new Map<string, string>();
  if (by === 'campaign') {
    const ids = [...byKey.keys()].filter((key) => key !== '');
    if (ids.length > 0) {
      const campaigns = await db
        .selectFrom('campaigns')
        .select(['id', 'name'])
        .where('store_id', '=', storeId)
        .where('id', 'in', ids)
        .execute();
      for (const campaign of campaigns) names.set(campaign.id, campaign.name);
    }
  }
  const labelOf = (key: string): string => {
    switch (by) {
      case 'campaign':
        return key === '' ? 'No campaign' : (names.get(key) ?? 'Deleted campaign');
      case 'step':
        return `Step ${Number(key) + 1}`;
      case 'overlay':
        return overlayLabels[key] ?? key;
      case 'device':
        return key === '' ? 'Unknown' : capitalised(key);
      case 'exit_reason':
        return key === '' ? 'No answer' : capitalised(key);
      case 'channel':
        return key === 'sms' ? 'SMS' : capitalised(key);
    }
  };

  const first = columns[0]?.key ?? '';
  const tableRows = [...byKey].map(([key, values]) => ({ key, label: labelOf(key), values }));
  tableRows.sort((a, b) =>
    by === 'step'
      ? Number(a.key) - Number(b.key)
      : (b.values[first] ?? 0) - (a.values[first] ?? 0) || (a.key < b.key ? -1 : 1),
  );
  return {
    by,
    columns: [
      ...columns.map(({ key, label }) => ({ key, label })),
      ...currencies.map((currency) => ({
        key: revenueColumn(currency),
        label: `Revenue recovered (${currency}, minor units)`,
      })),
    ],
    rows: tableRows,
  };
}
