import type { TrackedEvent } from '@winback/shared';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { Db } from '../../db/index.js';
import {
  type CampaignCandidate,
  type CampaignOnsite,
  onsiteCampaign,
  readCampaignOnsite,
} from '../../domain/campaign.js';
import {
  decideOverlay,
  type OnsiteOfferRule,
  type OverlayDecision,
  type OverlayKind,
  offerDiscount,
  offerRuleFor,
} from '../../domain/onsite.js';
import { restoreUrl } from '../../domain/restore-url.js';
import { readSteps } from '../campaigns/repository.js';
import { issueBuiltinDiscount } from '../discounts/builtin.js';
import type { CommandChannel, EventsStoredListener, StoredBatch } from '../ingest/index.js';
import { readStoreSettings, type StoreSettings, storefrontOrigin } from '../stores/settings.js';
import { buildOverlay, type IssuedCode, type SnapshotLine } from './overlay.js';
import {
  activeCampaigns,
  browserState,
  cartByExternalId,
  cartFacts,
  claimSessionOverlay,
  latestCartOfBrowser,
  type OnsiteCart,
  onsiteCodesLastDay,
  openOnsiteCode,
  recordDismissal,
  recordExitReason,
} from './repository.js';

/*
 * On-site recovery, the server's side: after each committed batch from a browser's socket, it
 * decides whether that page should show an overlay now and answers on the same socket with
 * `cmd: show_overlay` (everything the widget needs), or earlier, once the cart could qualify,
 * `cmd: prefetch_widget`. It also keeps what the overlays report back: dismissals (which keep
 * overlays away for the store's cooldown) and the answer to "why are you leaving?" (on the cart).
 *
 * A socket is one page: what this module remembers per connection (the page's path, its cart,
 * the language) lives as long as the socket, in memory. What must hold across pages and nodes
 * (one overlay a session, the last dismissal) is in `onsite_state`.
 */

interface PageMemory {
  path: string | null;
  cartId: string | null;
  language: string | null;
  /** Whether this page was checked for a return to an abandoned cart. */
  returnChecked: boolean;
  /** Carts this page was told to prefetch the widget for. */
  prefetched: Set<string>;
}

export interface OnsiteOptions {
  db: Db;
  log: FastifyBaseLogger;
  /** Counts decisions as `winback_onsite_decisions_total{overlay, outcome}`. */
  metrics?: Registry;
  now?: () => Date;
}

/** What became of one chance to show an overlay: `shown`, or why not. */
export type DecisionOutcome =
  | 'shown'
  | Extract<OverlayDecision, { show: false }>['reason']
  /** Another page of the session claimed its overlay first. */
  | 'claimed_elsewhere'
  /** The store has no storefront origin to send the shopper back to. */
  | 'no_storefront'
  | 'failed';

/**
 * The ingest listener. Batches without a channel (HTTP) only have their overlay reports kept.
 * Never throws: a failed decision is logged and the page simply shows nothing.
 */
export function onsiteDecisions(options: OnsiteOptions): EventsStoredListener {
  const pages = new WeakMap<CommandChannel, PageMemory>();
  const now = options.now ?? (() => new Date());
  const decisions = options.metrics
    ? new Counter({
        name: 'winback_onsite_decisions_total',
        help: 'On-site overlay decisions by overlay and outcome (shown, or the rule that said no)',
        labelNames: ['overlay', 'outcome'] as const,
        registers: [options.metrics],
      })
    : undefined;
  const count = (overlay: OverlayKind, outcome: DecisionOutcome) =>
    decisions?.inc({ overlay, outcome });
  const stores = storeViews(options.db);
  return async (batch) => {
    try {
      await keepReports(options.db, batch);
      const channel = batch.channel;
      if (!channel) return;
      let page = pages.get(channel);
      if (!page) {
        page = {
          path: null,
          cartId: null,
          language: null,
          returnChecked: false,
          prefetched: new Set(),
        };
        pages.set(channel, page);
      }
      await decide(options.db, batch, channel, page, now(), count, stores);
    } catch (error) {
      count(
        batch.events.some((event) => event.type === 'exit_intent')
          ? 'exit_modal'
          : 'return_slide_in',
        'failed',
      );
      options.log.warn(
        { storeId: batch.storeId, error: error instanceof Error ? error.message : typeof error },
        'on-site decision failed',
      );
    }
  };
}

/** An active campaign that could enrol carts, with its on-site step (null: none). */
interface OnsiteCandidate extends CampaignCandidate {
  onsite: CampaignOnsite | null;
}

interface StoreView {
  settings: StoreSettings;
  allowedOrigins: string[];
  /** The store's active campaigns whose steps can enrol a cart. */
  campaigns: OnsiteCandidate[];
  /** Whether any of them has an on-site step; when none has, the store's offer is the rule. */
  campaignOffers: boolean;
}

/**
 * How long a store's settings and campaigns are reused: an edit reaches the overlays within this.
 */
const STORE_VIEW_MS = 5_000;
const MAX_STORE_VIEWS = 10_000;

/**
 * A live (not revoked) store's settings and active campaigns, read at most once per
 * `STORE_VIEW_MS` per store: most batches change a cart and may warrant a prefetch, and exits
 * come in bursts; neither must cost a query each.
 */
function storeViews(db: Db): (storeId: string) => Promise<StoreView | undefined> {
  const views = new Map<string, { at: number; view: Promise<StoreView | undefined> }>();
  return (storeId) => {
    const at = performance.now();
    const known = views.get(storeId);
    if (known && at - known.at < STORE_VIEW_MS) return known.view;
    if (views.size >= MAX_STORE_VIEWS) views.clear();
    const view = Promise.all([
      db
        .selectFrom('stores')
        .select(['settings', 'allowed_origins', 'revoked_at'])
        .where('id', '=', storeId)
        .executeTakeFirst(),
      activeCampaigns(db, storeId),
    ]).then(([row, campaigns]): StoreView | undefined => {
      if (!row || row.revoked_at) return undefined;
      // As abandonment does: a campaign whose steps no longer parse never enrols a cart.
      const candidates = campaigns
        .filter((campaign) => readSteps(campaign) !== null)
        .map((campaign) => ({
          id: campaign.id,
          status: 'active' as const,
          priority: campaign.priority,
          createdAt: campaign.createdAt,
          triggerFilters: campaign.triggerFilters,
          onsite: readCampaignOnsite(campaign.onsite),
        }));
      return {
        settings: readStoreSettings(row.settings),
        allowedOrigins: row.allowed_origins,
        campaigns: candidates,
        campaignOffers: candidates.some((campaign) => campaign.onsite !== null),
      };
    });
    // A failed read is not kept: the next batch asks again.
    view.catch(() => views.delete(storeId));
    views.set(storeId, { at, view });
    return view;
  };
}

/** Dismissals and exit reasons, from any transport. Safe to repeat for resent events. */
async function keepReports(db: Db, batch: StoredBatch): Promise<void> {
  for (const event of batch.events) {
    if (event.type !== 'overlay_action') continue;
    if (event.action === 'dismiss') {
      await recordDismissal(db, {
        storeId: batch.storeId,
        anonymousId: event.anonymousId,
        at: new Date(Math.min(event.ts, batch.receivedAt.getTime())),
      });
    } else if (event.action === 'reason' && event.reason && event.cartId) {
      await recordExitReason(db, {
        storeId: batch.storeId,
        externalCartId: event.cartId,
        reason: event.reason,
        at: new Date(Math.min(event.ts, batch.receivedAt.getTime())),
      });
    }
  }
}

async function decide(
  db: Db,
  batch: StoredBatch,
  channel: CommandChannel,
  page: PageMemory,
  now: Date,
  count: (overlay: OverlayKind, outcome: DecisionOutcome) => void,
  stores: (storeId: string) => Promise<StoreView | undefined>,
): Promise<void> {
  let exit: TrackedEvent | undefined;
  let arrival: TrackedEvent | undefined;
  for (const event of batch.events) {
    if (event.cartId) page.cartId = event.cartId;
    if (event.type === 'page_view') {
      page.path = pathOf(event.page.url);
      page.language = event.device?.language ?? page.language;
      if (!page.returnChecked) {
        page.returnChecked = true;
        arrival = event;
      }
    } else if (event.type === 'exit_intent') {
      exit = event;
    }
  }
  // Nothing to decide: the common case costs no query.
  const prefetchable = batch.carts.filter((cart) => !page.prefetched.has(cart.id));
  if (!exit && !arrival && prefetchable.length === 0) return;

  const store = await stores(batch.storeId);
  if (!store) return;
  const { settings } = store;
  const rules = settings.onsite;

  // Warm the widget while the shopper is still browsing, once the cart could qualify.
  if (rules.exitModal.enabled) {
    for (const cart of prefetchable) {
      if (cart.externalId !== page.cartId) continue;
      if (cart.lineCount === 0 || cart.status === 'converted' || cart.status === 'recovered') {
        continue;
      }
      if (cart.valueMinor < rules.exitModal.minValueMinor) continue;
      // Half the threshold: the score climbs as the shopper idles, and the load should be done
      // before the exit comes.
      if (cart.score < rules.exitModal.minRisk / 2) continue;
      page.prefetched.add(cart.id);
      channel.send({ t: 'cmd', cmd: 'prefetch_widget' });
    }
  }

  const trigger = exit ?? arrival;
  if (!trigger) return;
  const kind: OverlayKind = exit ? 'exit_modal' : 'return_slide_in';
  if (kind === 'return_slide_in' && !rules.returnSlideIn.enabled) return;
  if (kind === 'exit_modal' && !rules.exitModal.enabled) {
    count(kind, 'disabled');
    return;
  }

  // A return usually reports the cart at once, and that activity makes an abandoned cart live
  // again before this runs: the batch says so, and the cart counts as the abandoned one it was.
  const reopened =
    kind === 'return_slide_in'
      ? batch.carts.find((projected) => projected.reopened && projected.externalId === page.cartId)
      : undefined;
  const found = reopened
    ? await cartByExternalId(db, batch.storeId, reopened.externalId)
    : await cartFor(db, batch.storeId, trigger, page, kind);
  const cart = found && reopened ? { ...found, status: 'abandoned' as const } : found;
  // Most pages are not a return to an abandoned cart: that is no decision, and is not counted.
  if (kind === 'return_slide_in' && !cart) return;
  const state = await browserState(db, batch.storeId, trigger.anonymousId);
  const decision = decideOverlay(
    rules,
    {
      trigger: exit ? 'exit_intent' : 'return_visit',
      cart: cart ?? null,
      pagePath: page.path,
      shownThisSession: state.shownSessionId === trigger.sessionId,
      lastDismissedAt: state.dismissedAt,
    },
    now,
  );
  if (!decision.show || !cart) {
    count(kind, decision.show ? 'no_cart' : decision.reason);
    return;
  }
  const origin = storefrontOrigin(settings, store.allowedOrigins);
  if (!origin) {
    count(kind, 'no_storefront');
    return;
  }
  const claimed = await claimSessionOverlay(db, {
    storeId: batch.storeId,
    anonymousId: trigger.anonymousId,
    sessionId: trigger.sessionId,
    kind: decision.kind,
  });
  if (!claimed) {
    count(kind, 'claimed_elsewhere');
    return;
  }

  const discount =
    decision.kind === 'exit_modal' ? await offerFor(db, batch.storeId, cart, store, now) : null;
  const lines = snapshotLines(cart.snapshot);
  const checkoutUrl = restoreUrl(
    { storeUrl: origin, cartRestore: settings.cartRestore },
    {
      lines: lines.map((line) => ({
        ...(line.variantId ? { variantId: line.variantId } : {}),
        ...(line.productId ? { productId: line.productId } : {}),
        ...(line.sku ? { sku: line.sku } : {}),
        quantity: line.quantity,
      })),
      externalCartId: cart.externalId,
      discountCode: discount?.code ?? null,
    },
  );
  channel.send({
    t: 'cmd',
    cmd: 'show_overlay',
    overlay: buildOverlay({
      kind: decision.kind,
      cart,
      lines,
      settings,
      language: page.language,
      discount,
      checkoutUrl,
      known: await knownContacts(db, batch.storeId, trigger.anonymousId),
    }),
  });
  count(kind, 'shown');
}

async function cartFor(
  db: Db,
  storeId: string,
  trigger: TrackedEvent,
  page: PageMemory,
  kind: OverlayKind,
): Promise<OnsiteCart | undefined> {
  const externalId = trigger.cartId ?? page.cartId;
  if (externalId) {
    const cart = await cartByExternalId(db, storeId, externalId);
    if (cart && (kind === 'exit_modal' || cart.status === 'abandoned')) return cart;
  }
  return latestCartOfBrowser(db, storeId, trigger.anonymousId, kind === 'return_slide_in');
}

/**
 * The code the exit modal offers, under the offer rule of the cart's campaign (or the store's):
 * one already issued for this cart, else a new one if the rule allows it now.
 */
async function offerFor(
  db: Db,
  storeId: string,
  cart: OnsiteCart,
  store: StoreView,
  now: Date,
): Promise<IssuedCode | null> {
  const rule = await offerRule(db, storeId, cart, store);
  if (rule === null) return null;
  const open = await openOnsiteCode(db, storeId, cart.id);
  if (open) return open;
  const policy = offerDiscount(rule, cart, await onsiteCodesLastDay(db, storeId));
  if (!policy) return null;
  const issued = await issueBuiltinDiscount(db, {
    storeId,
    cartId: cart.id,
    policy,
    cart: { subtotalMinor: cart.valueMinor, currency: cart.currency },
    now,
    origin: 'onsite',
  });
  return issued;
}

/**
 * The offer rule for this cart: its campaign's on-site step (the campaign it is enrolled in, else
 * the one that would enrol it now), else the store's offer. A store none of whose campaigns has
 * an on-site step costs no query here.
 */
async function offerRule(
  db: Db,
  storeId: string,
  cart: OnsiteCart,
  store: StoreView,
): Promise<OnsiteOfferRule | null> {
  const storeOffer = store.settings.onsite.offer;
  if (!store.campaignOffers) return storeOffer;
  if (cart.campaignId !== null) {
    return offerRuleFor(
      storeOffer,
      onsiteCampaign(store.campaigns, { enrolledIn: cart.campaignId }),
    );
  }
  const facts = await cartFacts(db, storeId, cart.id);
  if (!facts) return storeOffer;
  return offerRuleFor(storeOffer, onsiteCampaign(store.campaigns, { enrolledIn: null, facts }));
}

/** The cart's lines as the snapshot stored them (validated by ingest when they arrived). */
function snapshotLines(snapshot: Record<string, unknown>): SnapshotLine[] {
  const lines = Array.isArray(snapshot.lines) ? (snapshot.lines as SnapshotLine[]) : [];
  return lines.filter(
    (line) =>
      typeof line?.title === 'string' &&
      Number.isInteger(line.quantity) &&
      Number.isInteger(line.unitPrice),
  );
}

/** Which contact details the browser's shopper already gave with consent. */
async function knownContacts(
  db: Db,
  storeId: string,
  anonymousId: string,
): Promise<{ email: boolean; phone: boolean }> {
  const row = await db
    .selectFrom('shoppers')
    .select(['email', 'phone', 'email_consent', 'sms_consent'])
    .where('store_id', '=', storeId)
    .where('anonymous_id', '=', anonymousId)
    .executeTakeFirst();
  return {
    email: Boolean(row?.email && row.email_consent),
    phone: Boolean(row?.phone && row.sms_consent),
  };
}

function pathOf(url: string): string | null {
  try {
    return new URL(url).pathname;
  } catch {
    return null;
  }
}
