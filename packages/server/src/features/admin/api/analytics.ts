import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../../errors.js';
import { attachment, CSV_CONTENT_TYPE, type CsvValue, csvRow } from '../../analytics/csv.js';
import {
  breakdownDimensions,
  dayText,
  epochDay,
  funnelStages,
  type Period,
  previousPeriod,
  readBreakdown,
  readOverview,
  today,
} from '../../analytics/report.js';
import { refreshRollup } from '../../analytics/rollup.js';
import { readStoreSettings } from '../../stores/settings.js';
import { adminOf } from '../auth.js';
import { errorResponses } from './schemas.js';

/*
 * The numbers that show whether recovery works, for a period of whole days in the store's time
 * zone: KPIs against the period before, a daily series, the funnel, and breakdowns by campaign,
 * step, channel, overlay, device and exit reason; each also as CSV. Read from the rollup, which
 * is brought up to date with every committed change first (see features/analytics/rollup.ts).
 */

/** Longest period, in days. */
const MAX_DAYS = 366;
/** Days of the default period, ending today. */
const DEFAULT_DAYS = 30;

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
  .refine((text) => {
    const epoch = epochDay(text);
    // From 1971: the period before one still starts after 1970.
    return epoch !== null && epoch >= 365 && epoch < 2_932_897;
  }, 'not a calendar day from 1971 to 9999');

const periodQuery = {
  from: day.optional().describe('First day (inclusive), in the store’s time zone'),
  to: day.optional().describe('Last day (inclusive); default today'),
  format: z.enum(['json', 'csv']).default('json'),
};

const money = z.object({ currency: z.string(), amountMinor: z.number().int() });
const counts = {
  carts: z.number().int(),
  checkout: z.number().int(),
  abandoned: z.number().int(),
  enrolled: z.number().int(),
  messaged: z.number().int(),
  opened: z.number().int(),
  clicked: z.number().int(),
  recovered: z.number().int(),
  convertedUnassisted: z.number().int(),
};
const kpis = z.object({
  ...counts,
  recoveryRate: z.number().nullable().describe('recovered / abandoned'),
  revenueRecovered: z.array(money),
});

const overview = z.object({
  from: z.string(),
  to: z.string(),
  previousFrom: z.string(),
  previousTo: z.string(),
  timezone: z.string(),
  current: kpis,
  previous: kpis,
  series: z.array(z.object({ date: z.string(), ...counts, revenueRecovered: z.array(money) })),
  funnel: z.array(z.object({ stage: z.enum(funnelStages), count: z.number().int() })),
});

const breakdown = z.object({
  by: z.enum(breakdownDimensions),
  from: z.string(),
  to: z.string(),
  timezone: z.string(),
  columns: z.array(z.object({ key: z.string(), label: z.string() })),
  rows: z.array(
    z.object({ key: z.string(), label: z.string(), values: z.record(z.string(), z.number()) }),
  ),
});

/** The asked period, or the last 30 days; refused when reversed or longer than 366 days. */
function periodOf(query: { from?: string; to?: string }, timeZone: string): Period {
  const to = query.to ?? today(timeZone);
  const toDay = epochDay(to) as number;
  const fromDay = query.from ? (epochDay(query.from) as number) : toDay - (DEFAULT_DAYS - 1);
  if (fromDay > toDay) throw new AppError('WB_ERR_VALIDATION', 'from: after to');
  if (toDay - fromDay + 1 > MAX_DAYS) {
    throw new AppError('WB_ERR_VALIDATION', `from: a period is at most ${MAX_DAYS} days`);
  }
  return { from: dayText(fromDay), to };
}

/** A CSV download; strings with a non-JSON type go out as they are, past the JSON serializer. */
function sendCsv(reply: FastifyReply, filename: string, body: string): FastifyReply {
  return reply
    .type(CSV_CONTENT_TYPE)
    .header('content-disposition', attachment(filename))
    .send(body);
}

export const analyticsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app;

  async function storeContext(storeId: string) {
    const [store] = await Promise.all([
      db
        .selectFrom('stores')
        .select(['settings'])
        .where('id', '=', storeId)
        .executeTakeFirstOrThrow(),
      refreshRollup(db, storeId),
    ]);
    return { timeZone: readStoreSettings(store.settings).timezone };
  }

  app.get(
    '/admin/api/analytics/overview',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'KPIs of a period against the one before, a daily series and the funnel',
        description:
          'Carts count on the day of their first activity (their cohort) in the store’s time ' +
          'zone. With format=csv: the daily series as CSV.',
        tags: ['analytics'],
        querystring: z.object(periodQuery),
        response: { 200: overview, ...errorResponses },
      },
    },
    async (request, reply) => {
      const storeId = adminOf(request).storeId;
      const { timeZone } = await storeContext(storeId);
      const period = periodOf(request.query, timeZone);
      const previous = previousPeriod(period);
      const result = await readOverview(db, storeId, period, timeZone);
      if (request.query.format === 'csv') {
        const currencies = [
          ...new Set(result.series.flatMap((d) => d.revenueRecovered.map((m) => m.currency))),
        ].sort();
        const header = [
          'date',
          ...Object.keys(counts),
          ...currencies.map((currency) => `revenueRecovered_${currency}`),
        ];
        let body = csvRow(header);
        for (const entry of result.series) {
          const cells: CsvValue[] = [entry.date];
          for (const key of Object.keys(counts) as (keyof typeof counts)[]) cells.push(entry[key]);
          for (const currency of currencies) {
            cells.push(
              entry.revenueRecovered.find((m) => m.currency === currency)?.amountMinor ?? 0,
            );
          }
          body += csvRow(cells);
        }
        return sendCsv(reply, `winback-overview-${period.from}-${period.to}.csv`, body);
      }
      return {
        from: period.from,
        to: period.to,
        previousFrom: previous.from,
        previousTo: previous.to,
        timezone: timeZone,
        ...result,
      };
    },
  );

  app.get(
    '/admin/api/analytics/breakdown',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'A period’s figures by campaign, step, channel, overlay, device or exit reason',
        description:
          'Rows are the values of `by`; `values` holds a number per column key. Revenue columns ' +
          'are `revenueRecovered_<CUR>` in minor units. With format=csv: the same table as CSV.',
        tags: ['analytics'],
        querystring: z.object({ by: z.enum(breakdownDimensions), ...periodQuery }),
        response: { 200: breakdown, ...errorResponses },
      },
    },
    async (request, reply) => {
      const storeId = adminOf(request).storeId;
      const { timeZone } = await storeContext(storeId);
      const period = periodOf(request.query, timeZone);
      const table = await readBreakdown(db, storeId, request.query.by, period, timeZone);
      if (request.query.format === 'csv') {
        let body = csvRow(['key', 'label', ...table.columns.map((column) => column.key)]);
        for (const row of table.rows) {
          body += csvRow([
            row.key,
            row.label,
            ...table.columns.map((column) => row.values[column.key] ?? 0),
          ]);
        }
        return sendCsv(reply, `winback-${table.by}-${period.from}-${period.to}.csv`, body);
      }
      return { ...table, from: period.from, to: period.to, timezone: timeZone };
    },
  );
};
