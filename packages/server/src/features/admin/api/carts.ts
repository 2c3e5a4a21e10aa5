import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../../../db/index.js';
import { AppError } from '../../../errors.js';
import { attachment, CSV_CONTENT_TYPE, csvRow } from '../../analytics/csv.js';
import { readStoreSettings } from '../../stores/settings.js';
import { adminOf } from '../auth.js';
import { type RiskEvent, replayRisk, riskChanges } from './cart-risk.js';
import { errorResponses } from './schemas.js';

/*
 * Carts as the merchant searches them, and one cart's whole story: its events, its risk score
 * over time, the on-site overlays it was shown and what the shopper did with them, the messages
 * of its sequence with their status, its discount codes and their state, the shopper's answer to
 * "why are you leaving?" and the order that ended it. Every query is scoped by the session's
 * store, and every list in the answer has a cap that the answer says it reached.
 */

const cartStatuses = [
  'active',
  'checkout',
  'abandoned',
  'converted',
  'recovered',
  'emptied',
] as const;
const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Searched by POST so an email address never sits in a URL, a log line or a proxy's cache. */
const cartSearch = z.strictObject({
  statuses: z.array(z.enum(cartStatuses)).min(1).max(cartStatuses.length).optional(),
  minValueMinor: amount.optional(),
  maxValueMinor: amount.optional(),
  /** Last activity at or after. */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Last activity before. */
  to: z.iso.datetime({ offset: true }).optional(),
  /** The shopper's email, exactly (case does not matter). */
  email: z.email().max(320).optional(),
  /** The storefront's own cart id. */
  externalId: z.string().min(1).max(128).optional(),
  limit: z.number().int().min(1).max(200).default(50),
  /** `nextCursor` of the page before. */
  cursor: z.string().max(200).optional(),
  /** `csv`: every matching cart (up to 50,000, from `cursor` on), as a CSV download. */
  format: z.enum(['json', 'csv']).default('json'),
});

const cartSummary = z.object({
  id: z.uuid(),
  externalId: z.string(),
  status: z.enum(cartStatuses),
  valueMinor: z.number().int(),
  currency: z.string().nullable(),
  lineCount: z.number().int(),
  score: z.number().nullable(),
  device: z.string().nullable(),
  email: z.string().nullable(),
  lastActivityAt: z.iso.datetime(),
  abandonedAt: z.iso.datetime().nullable(),
  convertedAt: z.iso.datetime().nullable(),
  enrolment: z.string().nullable(),
  exitReason: z.string().nullable(),
});

const timelineEntry = z.object({
  at: z.iso.datetime(),
  kind: z.enum(['event', 'message', 'discount', 'order', 'abandoned']),
  type: z.string(),
  detail: z.record(z.string(), z.unknown()),
});

const riskPoint = z.object({
  /** When the server received the frame after which the cart had this score. */
  at: z.iso.datetime(),
  score: z.number().min(0).max(1),
  /** The event types of that frame. */
  types: z.array(z.string()),
});

const overlayShown = z.object({
  overlayId: z.string(),
  /** From the id's prefix: `ov_exit_…` is the exit modal, `ov_slide_…` the return slide-in. */
  kind: z.enum(['exit_modal', 'return_slide_in', 'other']),
  /** Null when its `overlay_shown` event is not among those read (only actions were). */
  shownAt: z.iso.datetime().nullable(),
  variant: z.string().nullable(),
  /** The shopper's actions on it, oldest first. */
  actions: z.array(
    z.object({
      at: z.iso.datetime(),
      /** `copy_code`, `checkout`, `dismiss`, `capture_submitted` or `reason`. */
      action: z.string(),
      /** With `reason`: the answer chosen. */
      reason: z.string().nullable(),
    }),
  ),
});

const discountState = z.object({
  code: z.string(),
  kind: z.string(),
  value: z.number().int(),
  currency: z.string().nullable(),
  minSubtotalMinor: z.number().int().nullable(),
  /** `message` (a recovery step issued it) or `onsite` (an overlay did). */
  origin: z.string(),
  /** `used` once redeemed; `expired` when unused past its expiry; `issued` otherwise. */
  state: z.enum(['issued', 'used', 'expired']),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  usedAt: z.iso.datetime().nullable(),
});

const cartDetail = z.object({
  cart: cartSummary.extend({
    lines: z.array(z.record(z.string(), z.unknown())),
    utm: z.record(z.string(), z.string()).nullable(),
    orderId: z.string().nullable(),
    orderValueMinor: z.number().int().nullable(),
    campaignId: z.string().nullable(),
    exitReasonAt: z.iso.datetime().nullable(),
  }),
  timeline: z.array(timelineEntry),
  /** Whether the event list was cut at its limit (the newest are kept). */
  eventsTruncated: z.boolean(),
  /** How many events the cart has (counted up to 1,000,000). */
  eventCount: z.number().int(),
  risk: z
    .object({
      /** At most 200 points: where the score changed, evenly thinned when there are more. */
      points: z.array(riskPoint),
      /** How many changes there were before thinning. */
      changes: z.number().int(),
      /** Events replayed (the first 20,000 received at most). */
      eventsReplayed: z.number().int(),
      /** False when the cart has more events than are replayed: the points stop early. */
      complete: z.boolean(),
    })
    .describe(
      'The risk score over time. Only the latest score is stored, so this is recomputed from ' +
        'the stored events with the ingest’s merge rules and scoring, frame by frame; the ' +
        'shopper counts as returning or not as they stand now.',
    ),
  /** The overlays shown on this cart, oldest first, from its newest 200 overlay events. */
  overlays: z.array(overlayShown),
  overlaysTruncated: z.boolean(),
  /** The cart's discount codes, oldest first, 50 at most. */
  discounts: z.array(discountState),
  discountsTruncated: z.boolean(),
});

/** Carts in one CSV export at most, and per query while streaming it. */
const CSV_MAX_ROWS = 50_000;
const CSV_PAGE = 1_000;
const csvColumns = [
  'id',
  'externalId',
  'status',
  'valueMinor',
  'currency',
  'lineCount',
  'score',
  'device',
  'email',
  'lastActivityAt',
  'abandonedAt',
  'convertedAt',
  'enrolment',
  'exitReason',
];

/** Events shown in one cart's timeline at most. */
const TIMELINE_EVENTS = 500;
/** Events counted for `eventCount` at most. */
const EVENT_COUNT_MAX = 1_000_000;
/** Events replayed for the risk history at most, and points it answers with. */
const RISK_EVENTS = 20_000;
const RISK_POINTS = 200;
/** Overlay events read at most (the newest), and discount codes listed. */
const OVERLAY_EVENTS = 200;
const DISCOUNTS = 50;

/**
 * A page's end: the last row's activity time as Postgres writes it (microseconds, which a JS Date
 * would round away and so skip rows between pages) and its id.
 */
const cursorOf = (at: string, id: string) =>
  Buffer.from(JSON.stringify([at, id])).toString('base64url');

/** `timestamptz` text as Postgres gives it, e.g. `2026-11-20 12:00:00.123456+00`. */
const timestampText = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)$/;

function readCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      timestampText.test(value[0]) &&
      typeof value[1] === 'string' &&
      z.uuid().safeParse(value[1]).success
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // Falls through to the refusal.
  }
  throw new AppError('WB_ERR_VALIDATION', 'cursor: not a cursor this API gave out');
}

const iso = (value: Date | null) => (value ? value.toISOString() : null);

export const cartRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app;

  app.post(
    '/admin/api/carts/search',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'Carts, most recently active first, filtered',
        tags: ['carts'],
        body: cartSearch,
        response: {
          200: z.object({ carts: z.array(cartSummary), nextCursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const storeId = adminOf(request).storeId;
      const search = request.body;
      /** `cursor`: the last row's activity time (a Date, or Postgres's exact text) and id. */
      const filtered = (cursor: [Date | string, string] | undefined) => {
        let query = db
          .selectFrom('carts as c')
          .leftJoin('shoppers as s', 's.id', 'c.shopper_id')
          .select([
            'c.id',
            'c.external_id',
            'c.status',
            'c.value_minor',
            'c.currency',
            'c.line_count',
            'c.score',
            'c.device',
            's.email',
            'c.last_activity_at',
            'c.abandoned_at',
            'c.converted_at',
            'c.enrolment',
            'c.exit_reason',
            // Exact to the microsecond, for the CSV's keyset (a Date keeps milliseconds only).
            sql<string>`c.last_activity_at::text`.as('activity_key'),
          ])
          .where('c.store_id', '=', storeId);
        if (search.statuses) query = query.where('c.status', 'in', search.statuses);
        if (search.minValueMinor !== undefined) {
          query = query.where('c.value_minor', '>=', search.minValueMinor);
        }
        if (search.maxValueMinor !== undefined) {
          query = query.where('c.value_minor', '<=', search.maxValueMinor);
        }
        if (search.from) query = query.where('c.last_activity_at', '>=', new Date(search.from));
        if (search.to) query = query.where('c.last_activity_at', '<', new Date(search.to));
        if (search.email) {
          query = query
            .where('s.store_id', '=', storeId)
            .where(sql`lower(s.email)`, '=', search.email.toLowerCase());
        }
        if (search.externalId) query = query.where('c.external_id', '=', search.externalId);
        if (cursor) {
          const [at, id] = cursor;
          query = query.where(
            sql<boolean>`(c.last_activity_at, c.id) < (${at}::timestamptz, ${id}::uuid)`,
          );
        }
        return query.orderBy('c.last_activity_at', 'desc').orderBy('c.id', 'desc');
      };
      const given = search.cursor ? readCursor(search.cursor) : undefined;
      const startCursor: [string, string] | undefined = given;

      if (search.format === 'csv') {
        // Streamed a page at a time (keyset), so memory stays flat whatever the count.
        async function* lines() {
          yield csvRow(csvColumns);
          let cursor: [Date | string, string] | undefined = startCursor;
          let left = CSV_MAX_ROWS;
          while (left > 0) {
            const page = await filtered(cursor).limit(Math.min(CSV_PAGE, left)).execute();
            for (const row of page) {
              yield csvRow([
                row.id,
                row.external_id,
                row.status,
                row.value_minor,
                row.currency,
                row.line_count,
                row.score,
                row.device,
                row.email,
                row.last_activity_at.toISOString(),
                iso(row.abandoned_at),
                iso(row.converted_at),
                row.enrolment,
                row.exit_reason,
              ]);
            }
            const last = page.at(-1);
            if (!last || page.length < CSV_PAGE) return;
            left -= page.length;
            cursor = [last.activity_key, last.id];
          }
        }
        return reply
          .type(CSV_CONTENT_TYPE)
          .header('content-disposition', attachment('winback-carts.csv'))
          .send(Readable.from(lines()) as never);
      }

      const query = filtered(startCursor);
      const rows = await query.limit(search.limit + 1).execute();
      const page = rows.slice(0, search.limit);
      const last = page.at(-1);
      return {
        carts: page.map((row) => ({
          id: row.id,
          externalId: row.external_id,
          status: row.status,
          valueMinor: row.value_minor,
          currency: row.currency,
          lineCount: row.line_count,
          score: row.score,
          device: row.device,
          email: row.email,
          lastActivityAt: row.last_activity_at.toISOString(),
          abandonedAt: iso(row.abandoned_at),
          convertedAt: iso(row.converted_at),
          enrolment: row.enrolment,
          exitReason: row.exit_reason,
        })),
        nextCursor:
          rows.length > search.limit && last ? cursorOf(last.activity_key, last.id) : null,
      };
    },
  );

  app.get(
    '/admin/api/carts/:id',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary:
          'One cart and its timeline: events, risk over time, overlays, messages, discount codes, order',
        tags: ['carts'],
        params: z.object({ id: z.uuid() }),
        response: { 200: cartDetail, ...errorResponses },
      },
    },
    async (request) => {
      const storeId = adminOf(request).storeId;
      const cart = await db
        .selectFrom('carts as c')
        .leftJoin('shoppers as s', 's.id', 'c.shopper_id')
        .innerJoin('stores as st', 'st.id', 'c.store_id')
        .selectAll('c')
        .select(['s.email', 'st.settings as store_settings'])
        // As the ingest decides it when it scores the cart (`upsertCarts`), from today's rows.
        .select(
          sql<boolean>`exists (
            select 1 from carts earlier
            where earlier.store_id = c.store_id and earlier.shopper_id = c.shopper_id
              and earlier.id <> c.id and earlier.session_id is distinct from c.session_id
              and earlier.first_seen_at < c.first_seen_at)`.as('returning_shopper'),
        )
        .where('c.store_id', '=', storeId)
        .where('c.id', '=', request.params.id)
        .executeTakeFirst();
      if (!cart) throw new AppError('WB_ERR_NOT_FOUND', 'no such cart in this store');

      const [events, messages, discounts, eventCount, riskEvents, overlayEvents] =
        await Promise.all([
          db
            .selectFrom('events')
            .select(['id', 'type', 'ts', 'payload'])
            .where('store_id', '=', storeId)
            .where('cart_id', '=', cart.external_id)
            .orderBy('ts', 'desc')
            .limit(TIMELINE_EVENTS + 1)
            .execute(),
          db
            .selectFrom('messages')
            .select([
              'id',
              'step',
              'channel',
              'status',
              'scheduled_at',
              'sent_at',
              'opened_at',
              'clicked_at',
              'suppress_reason',
              'error',
              'campaign_id',
            ])
            .where('store_id', '=', storeId)
            .where('cart_id', '=', cart.id)
            .orderBy('step')
            .execute(),
          db
            .selectFrom('discounts')
            .select([
              'code',
              'kind',
              'value',
              'currency',
              'expires_at',
              'used_at',
              'created_at',
              'origin',
              'min_subtotal_minor',
            ])
            .where('store_id', '=', storeId)
            .where('cart_id', '=', cart.id)
            .orderBy('created_at')
            .orderBy('id')
            .limit(DISCOUNTS + 1)
            .execute(),
          sql<{ count: number }>`
            select count(*)::int as count from (
              select 1 from events
              where store_id = ${storeId} and cart_id = ${cart.external_id}
              limit ${EVENT_COUNT_MAX}) as counted`.execute(db),
          riskEventsOf(db, storeId, cart.external_id),
          db
            .selectFrom('events')
            .select([
              'type',
              'ts',
              sql<string | null>`payload->>'overlayId'`.as('overlay_id'),
              sql<string | null>`payload->>'variant'`.as('variant'),
              sql<string | null>`payload->>'action'`.as('action'),
              sql<string | null>`payload->>'reason'`.as('reason'),
            ])
            .where('store_id', '=', storeId)
            .where('cart_id', '=', cart.external_id)
            .where('type', 'in', ['overlay_shown', 'overlay_action'])
            .orderBy('ts', 'desc')
            .orderBy('id', 'desc')
            .limit(OVERLAY_EVENTS + 1)
            .execute(),
        ]);

      const timeline: z.infer<typeof timelineEntry>[] = [];
      for (const event of events.slice(0, TIMELINE_EVENTS)) {
        timeline.push({
          at: event.ts.toISOString(),
          kind: 'event',
          type: event.type,
          detail: eventDetail(event.payload),
        });
      }
      for (const message of messages) {
        timeline.push({
          at: (message.sent_at ?? message.scheduled_at).toISOString(),
          kind: 'message',
          type: message.status,
          detail: {
            id: message.id,
            step: message.step,
            channel: message.channel,
            campaignId: message.campaign_id,
            scheduledAt: message.scheduled_at.toISOString(),
            sentAt: iso(message.sent_at),
            openedAt: iso(message.opened_at),
            clickedAt: iso(message.clicked_at),
            suppressReason: message.suppress_reason,
            error: message.error,
          },
        });
      }
      const listedDiscounts = discounts.slice(0, DISCOUNTS);
      for (const discount of listedDiscounts) {
        timeline.push({
          at: discount.created_at.toISOString(),
          kind: 'discount',
          type: discount.origin,
          detail: {
            code: discount.code,
            kind: discount.kind,
            value: discount.value,
            currency: discount.currency,
            expiresAt: iso(discount.expires_at),
            usedAt: iso(discount.used_at),
          },
        });
      }
      if (cart.abandoned_at) {
        timeline.push({
          at: cart.abandoned_at.toISOString(),
          kind: 'abandoned',
          type: cart.enrolment ?? 'abandoned',
          detail: {},
        });
      }
      if (cart.converted_at && cart.order_id) {
        timeline.push({
          at: cart.converted_at.toISOString(),
          kind: 'order',
          type: cart.status,
          detail: {
            orderId: cart.order_id,
            valueMinor: cart.order_value_minor,
            currency: cart.order_currency,
            attributedMessageId: cart.attributed_message_id,
          },
        });
      }
      timeline.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

      const replayed = riskEvents.slice(0, RISK_EVENTS);
      const risk = riskChanges(
        replayRisk(replayed, {
          timeZone: readStoreSettings(cart.store_settings).timezone,
          returningShopper: cart.returning_shopper,
        }),
        RISK_POINTS,
      );
      const now = Date.now();

      const snapshot = cart.snapshot as { lines?: Record<string, unknown>[] };
      return {
        cart: {
          id: cart.id,
          externalId: cart.external_id,
          status: cart.status,
          valueMinor: cart.value_minor,
          currency: cart.currency,
          lineCount: cart.line_count,
          score: cart.score,
          device: cart.device,
          email: cart.email,
          lastActivityAt: cart.last_activity_at.toISOString(),
          abandonedAt: iso(cart.abandoned_at),
          convertedAt: iso(cart.converted_at),
          enrolment: cart.enrolment,
          exitReason: cart.exit_reason,
          lines: Array.isArray(snapshot.lines) ? snapshot.lines : [],
          utm: cart.utm,
          orderId: cart.order_id,
          orderValueMinor: cart.order_value_minor,
          campaignId: cart.campaign_id,
          exitReasonAt: iso(cart.exit_reason_at),
        },
        timeline,
        eventsTruncated: events.length > TIMELINE_EVENTS,
        eventCount: eventCount.rows[0]?.count ?? 0,
        risk: {
          points: risk.points,
          changes: risk.changes,
          eventsReplayed: replayed.length,
          complete: riskEvents.length <= RISK_EVENTS,
        },
        overlays: overlaysOf(overlayEvents.slice(0, OVERLAY_EVENTS)),
        overlaysTruncated: overlayEvents.length > OVERLAY_EVENTS,
        discounts: listedDiscounts.map((discount) => ({
          code: discount.code,
          kind: discount.kind,
          value: discount.value,
          currency: discount.currency,
          minSubtotalMinor: discount.min_subtotal_minor,
          origin: discount.origin,
          state: discount.used_at
            ? ('used' as const)
            : discount.expires_at && discount.expires_at.getTime() <= now
              ? ('expired' as const)
              : ('issued' as const),
          createdAt: discount.created_at.toISOString(),
          expiresAt: iso(discount.expires_at),
          usedAt: iso(discount.used_at),
        })),
        discountsTruncated: discounts.length > DISCOUNTS,
      };
    },
  );
};

/**
 * What a timeline shows of an event: its payload without contact details. An `identify` keeps
 * only which consents it carried.
 */
function eventDetail(payload: Record<string, unknown>): Record<string, unknown> {
  const { email: _email, phone: _phone, firstName: _firstName, ...rest } = payload;
  return rest;
}

/**
 * A cart's events as the risk replay reads them, in the order the server received them: only the
 * few payload fields the score's features use, so a long cart costs small rows.
 */
async function riskEventsOf(db: Db, storeId: string, externalId: string): Promise<RiskEvent[]> {
  const { rows } = await sql<RiskEvent>`
    select e.id, e.type, e.ts, e.received_at as "receivedAt",
      case when e.type = 'cart_updated' then e.payload->'cart'->'subtotal' end as subtotal,
      case when e.type = 'cart_updated' and jsonb_typeof(e.payload->'cart'->'lines') = 'array'
        then jsonb_array_length(e.payload->'cart'->'lines') end as "lineCount",
      case when e.type = 'cart_updated' and jsonb_typeof(e.payload->'changes') = 'array'
        then (select count(*)::int from jsonb_array_elements(e.payload->'changes') change
              where change->>'kind' is distinct from 'remove') end as edits,
      case when e.type = 'cart_updated' and jsonb_typeof(e.payload->'changes') = 'array'
        then (select count(*)::int from jsonb_array_elements(e.payload->'changes') change
              where change->>'kind' = 'remove') end as removals,
      case when e.type = 'exit_intent' then e.payload->>'signal' end as signal,
      case when e.type = 'page_view' then e.payload->'page'->>'url' end as url,
      case when e.type = 'page_view' then e.payload->'device'->>'type' end as device,
      case when e.type = 'page_view' then e.payload->'page'->'utm' end as utm
    from events e
    where e.store_id = ${storeId} and e.cart_id = ${externalId}
    order by e.received_at, e.ts, e.id
    limit ${RISK_EVENTS + 1}`.execute(db);
  return rows;
}

/** The overlay kind from its id, as the analytics rollup reads it. */
function overlayKind(overlayId: string): 'exit_modal' | 'return_slide_in' | 'other' {
  if (overlayId.startsWith('ov_exit')) return 'exit_modal';
  if (overlayId.startsWith('ov_slide')) return 'return_slide_in';
  return 'other';
}

/** Overlay events (newest first) grouped by overlay, oldest overlay first. */
function overlaysOf(
  rows: readonly {
    type: string;
    ts: Date;
    overlay_id: string | null;
    variant: string | null;
    action: string | null;
    reason: string | null;
  }[],
): z.infer<typeof overlayShown>[] {
  const overlays = new Map<string, z.infer<typeof overlayShown> & { first: number }>();
  for (const row of [...rows].reverse()) {
    if (!row.overlay_id) continue;
    let overlay = overlays.get(row.overlay_id);
    if (!overlay) {
      overlay = {
        overlayId: row.overlay_id,
        kind: overlayKind(row.overlay_id),
        shownAt: null,
        variant: null,
        actions: [],
        first: row.ts.getTime(),
      };
      overlays.set(row.overlay_id, overlay);
    }
    if (row.type === 'overlay_shown') {
      overlay.shownAt ??= row.ts.toISOString();
      overlay.variant ??= row.variant;
    } else if (row.action) {
      overlay.actions.push({ at: row.ts.toISOString(), action: row.action, reason: row.reason });
    }
  }
  return [...overlays.values()]
    .sort((a, b) => a.first - b.first)
    .map(({ first: _first, ...overlay }) => overlay);
}
