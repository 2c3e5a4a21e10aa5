import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import type { CartStatus } from '../../db/schema.js';
import type { CartFacts } from '../../domain/segments.js';
import { returningShopperSql } from '../carts/returning.js';

/** A cart as the overlay decision and the overlay itself need it. */
export interface OnsiteCart {
  id: string;
  externalId: string;
  status: CartStatus;
  score: number;
  valueMinor: number;
  lineCount: number;
  currency: string | null;
  snapshot: Record<string, unknown>;
  /** The campaign the cart is enrolled in, once it was abandoned and enrolled. */
  campaignId: string | null;
}

const cartColumns = [
  'c.id',
  'c.external_id',
  'c.status',
  'c.score',
  'c.value_minor',
  'c.line_count',
  'c.currency',
  'c.snapshot',
  'c.campaign_id',
] as const;

function toCart(row: {
  id: string;
  external_id: string;
  status: CartStatus;
  score: number | null;
  value_minor: number;
  line_count: number;
  currency: string | null;
  snapshot: Record<string, unknown>;
  campaign_id: string | null;
}): OnsiteCart {
  return {
    id: row.id,
    externalId: row.external_id,
    status: row.status,
    score: row.score ?? 0,
    valueMinor: row.value_minor,
    lineCount: row.line_count,
    currency: row.currency,
    snapshot: row.snapshot,
    campaignId: row.campaign_id,
  };
}

/** The store's cart with this storefront id. */
export async function cartByExternalId(
  db: Db,
  storeId: string,
  externalId: string,
): Promise<OnsiteCart | undefined> {
  const row = await db
    .selectFrom('carts as c')
    .select(cartColumns)
    .where('c.store_id', '=', storeId)
    .where('c.external_id', '=', externalId)
    .executeTakeFirst();
  return row && toCart(row);
}

/**
 * The browser's most recent cart that may still be recovered on site, for a shopper whose page
 * named none: `abandoned` ones only when `abandonedOnly`.
 */
export async function latestCartOfBrowser(
  db: Db,
  storeId: string,
  anonymousId: string,
  abandonedOnly: boolean,
): Promise<OnsiteCart | undefined> {
  const row = await db
    .selectFrom('carts as c')
    .innerJoin('shoppers as s', 's.id', 'c.shopper_id')
    .select(cartColumns)
    .where('s.store_id', '=', storeId)
    .where('s.anonymous_id', '=', anonymousId)
    .where('c.store_id', '=', storeId)
    .where('c.status', 'in', abandonedOnly ? ['abandoned'] : ['active', 'checkout', 'abandoned'])
    .where('c.line_count', '>', 0)
    .orderBy('c.last_activity_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && toCart(row);
}

/** When this browser last dismissed an overlay, and the session one was last shown in. */
export async function browserState(
  db: Db,
  storeId: string,
  anonymousId: string,
): Promise<{ shownSessionId: string | null; dismissedAt: Date | null }> {
  const row = await db
    .selectFrom('onsite_state')
    .select(['shown_session_id', 'dismissed_at'])
    .where('store_id', '=', storeId)
    .where('anonymous_id', '=', anonymousId)
    .executeTakeFirst();
  return { shownSessionId: row?.shown_session_id ?? null, dismissedAt: row?.dismissed_at ?? null };
}

/**
 * Claims this session's one overlay for the browser: true for exactly one caller per session,
 * whichever node or page asks, false when the session had one already.
 */
export async function claimSessionOverlay(
  db: Db,
  request: { storeId: string; anonymousId: string; sessionId: string; kind: string },
): Promise<boolean> {
  const row = await db
    .insertInto('onsite_state')
    .values({
      store_id: request.storeId,
      anonymous_id: request.anonymousId,
      shown_session_id: request.sessionId,
      shown_kind: request.kind,
      shown_at: sql<Date>`now()`,
    })
    .onConflict((oc) =>
      oc
        .columns(['store_id', 'anonymous_id'])
        .doUpdateSet({
          shown_session_id: (eb) => eb.ref('excluded.shown_session_id'),
          shown_kind: (eb) => eb.ref('excluded.shown_kind'),
          shown_at: (eb) => eb.ref('excluded.shown_at'),
        })
        .where('onsite_state.shown_session_id', 'is distinct from', request.sessionId),
    )
    .returning('anonymous_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Notes a dismissal (the latest wins; a resent event changes nothing). */
export async function recordDismissal(
  db: Db,
  request: { storeId: string; anonymousId: string; at: Date },
): Promise<void> {
  await db
    .insertInto('onsite_state')
    .values({
      store_id: request.storeId,
      anonymous_id: request.anonymousId,
      dismissed_at: request.at,
    })
    .onConflict((oc) =>
      oc.columns(['store_id', 'anonymous_id']).doUpdateSet({
        dismissed_at: sql<Date>`greatest(onsite_state.dismissed_at, excluded.dismissed_at)`,
      }),
    )
    .execute();
}

/** Keeps the shopper's latest answer to "why are you leaving?" on the cart. */
export async function recordExitReason(
  db: Db,
  request: { storeId: string; externalCartId: string; reason: string; at: Date },
): Promise<void> {
  await db
    .updateTable('carts')
    .set({ exit_reason: request.reason, exit_reason_at: request.at })
    .where('store_id', '=', request.storeId)
    .where('external_id', '=', request.externalCartId)
    .where((eb) =>
      eb.or([eb('exit_reason_at', 'is', null), eb('exit_reason_at', '<=', request.at)]),
    )
    .execute();
}

/** On-site discount codes the store issued in the last 24 hours (for the daily cap). */
export async function onsiteCodesLastDay(db: Db, storeId: string): Promise<number> {
  const row = await db
    .selectFrom('discounts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('store_id', '=', storeId)
    .where('origin', '=', 'onsite')
    .where('created_at', '>', sql<Date>`now() - interval '1 day'`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** An unexpired, unused on-site code already issued for this cart, to offer it again. */
export async function openOnsiteCode(
  db: Db,
  storeId: string,
  cartId: string,
): Promise<{ code: string; kind: string; value: number; expiresAt: Date } | undefined> {
  const row = await db
    .selectFrom('discounts')
    .select(['code', 'kind', 'value', 'expires_at'])
    .where('store_id', '=', storeId)
    .where('cart_id', '=', cartId)
    .where('origin', '=', 'onsite')
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.expires_at
    ? { code: row.code, kind: row.kind, value: row.value, expiresAt: row.expires_at }
    : undefined;
}

/** An active campaign of the store, as the on-site offer decision reads it. */
export interface OnsiteCampaignRow {
  id: string;
  priority: number;
  createdAt: Date;
  triggerFilters: unknown;
  steps: unknown;
  onsite: unknown;
}

/** The store's active campaigns, the candidates for a cart's on-site step. */
export async function activeCampaigns(db: Db, storeId: string): Promise<OnsiteCampaignRow[]> {
  const rows = await db
    .selectFrom('campaigns')
    .select(['id', 'priority', 'created_at', 'trigger_filters', 'steps', 'onsite'])
    .where('store_id', '=', storeId)
    .where('status', '=', 'active')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    priority: row.priority,
    createdAt: row.created_at,
    triggerFilters: row.trigger_filters,
    steps: row.steps,
    onsite: row.onsite,
  }));
}

/**
 * What a campaign's filters look at in this cart, read as the abandonment decision reads them
 * (`features/abandonment`), so the campaign picked on the site is the one that would enrol it.
 */
export async function cartFacts(
  db: Db,
  storeId: string,
  cartId: string,
): Promise<CartFacts | undefined> {
  const { rows } = await sql<CartFacts>`
    select c.value_minor as "valueMinor", c.currency, c.line_count as "lineCount",
      c.device, s.country, c.utm->>'source' as "utmSource",
      ${sql.raw(returningShopperSql('c'))} as "returningShopper"
    from carts c
    left join shoppers s on s.id = c.shopper_id and s.store_id = c.store_id
    where c.store_id = ${storeId}::uuid and c.id = ${cartId}::uuid
  `.execute(db);
  return rows[0];
}
