import type { CartChange, CartLine, CartSnapshot, TrackedEvent } from '@winback/shared';
import { DateTime } from 'luxon';
import { ulidTimePrefix } from '../../db/partitions.js';
import type {
  CartEnrolment,
  CartStatus,
  DiscountKind,
  DiscountOrigin,
  MessageStatus,
  NewCartRow,
  NewConsentLogRow,
  NewEventRow,
  NewMessageRow,
  NewShopperRow,
  NewSuppressionRow,
} from '../../db/schema.js';
import { attributePurchase } from '../../domain/attribution.js';
import { type CampaignCandidate, type CampaignStep, pickCampaign } from '../../domain/campaign.js';
import { generateCode, issueDiscount } from '../../domain/discount.js';
import { frequencyCapAllows } from '../../domain/frequency.js';
import { decideOverlay, onsiteOffer } from '../../domain/onsite.js';
import { isValidTimeZone, quietHoursEnd } from '../../domain/quiet-hours.js';
import { score } from '../../domain/score.js';
import { cartFeatures, noCounts } from '../ingest/projection.js';
import { addressHash } from '../messaging/send.js';
import type { StoreSettings } from '../stores/settings.js';
import { type Random, seededRandom, seedUuid, ulidRandomPart } from './random.js';
import type { SessionProduct, SessionSource, ShopSession } from './sessions.js';

/*
 * A month of a store's life, planned without I/O: which carts the shoppers left, what the store
 * did about them and what came of it, as the rows Winback would have written. Each cart replays
 * one shopping session, moved onto a day and hour of the month (sessions keep their own pace);
 * what the session data cannot say — device, traffic source, consent, exit intent, overlays, the
 * shopper's answers to recovery mail — is drawn from the rates below. What Winback decides is not
 * drawn but decided by its own rules (idle threshold, campaign choice, quiet hours, frequency
 * cap, overlay rules, attribution), with the store's settings.
 */

/** Every seeded cart, shopper and event carries this at the start of its storefront id. */
export const SEED_PREFIX = 'demo-seed-';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** From a claim to the SMTP server's reply. */
const SEND_SECONDS = { min: 0.3, max: 2.5 };
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The shoppers' side, drawn. Rates follow common published e-commerce figures: about 40 % of
 * recovery mails are opened and a third of those clicked (Klaviyo and Omnisend benchmarks); about
 * half of the shoppers are on phones; a minority leave an email with marketing consent.
 */
const rates = {
  /** The share of a session's leavers who reach checkout without buying. */
  checkoutWithoutBuying: 0.25,
  /** Anonymous shoppers who leave an email with consent on the storefront, by where they are. */
  identify: { bought: 0.45, checkout: 0.5, browsing: 0.2 },
  /** Shoppers whose exit shows intent (desktop pointer to the top; phones scroll up fast etc.). */
  exitIntent: { desktop: 0.55, mobile: 0.45, tablet: 0.45 },
  /** What a shopper does with the exit modal. */
  exitModal: { capture: 0.14, reason: 0.26, copyCode: 0.12, checkout: 0.08 },
  /** Of those who copy a code or go to checkout from the modal, how many buy then. */
  buyFromModal: { copyCode: 0.3, checkout: 0.4 },
  /** A copied session (beyond the first use of a real one) that ends with the cart emptied. */
  emptied: 0.06,
  open: 0.42,
  /** Of opened mails. */
  unsubscribe: 0.03,
  click: 0.33,
  /** Of clicks: the shopper buys in the visit the link starts. */
  buyAfterClick: 0.42,
  /** Of opened, unclicked mails: the shopper comes back on their own and buys. */
  buyAfterOpen: 0.05,
  /** Abandoned carts nobody could write to that are bought later anyway. */
  buyLater: 0.06,
  /** Shoppers who leave an address whose mailbox does not exist: every send to it bounces. */
  badAddress: 0.04,
  /**
   * The share of carts bought in their own session. Published studies put cart abandonment near
   * 70 % (Baymard Institute, about 50 studies); the export's first hours hold more buyers than
   * that (sessions still open at its end were cut), so copies are drawn to come close to it.
   */
  boughtInSession: 0.3,
} as const;

const devices = [
  ['desktop', 44],
  ['mobile', 49],
  ['tablet', 7],
] as const;

const viewports = {
  desktop: { width: 1440, height: 900 },
  mobile: { width: 390, height: 844 },
  tablet: { width: 820, height: 1180 },
} as const;

type Utm = Record<string, string> | null;
const trafficSources: readonly (readonly [Utm, number])[] = [
  [null, 38],
  [{ source: 'google', medium: 'organic' }, 18],
  [{ source: 'google', medium: 'cpc', campaign: 'brand' }, 12],
  [{ source: 'instagram', medium: 'social' }, 9],
  [{ source: 'facebook', medium: 'social' }, 7],
  [{ source: 'newsletter', medium: 'email', campaign: 'weekly' }, 8],
  [{ source: 'bing', medium: 'organic' }, 4],
  [{ source: 'blog.example', medium: 'referral' }, 4],
];

const exitReasons = [
  ['shipping_cost', 30],
  ['just_browsing', 30],
  ['price', 20],
  ['payment', 8],
  ['other', 12],
] as const;

/** Carts started per hour of the store's day: quiet nights, a lunch bump, an evening peak. */
const hourlyRhythm = [
  2, 1.2, 0.7, 0.5, 0.5, 0.7, 1.3, 2.2, 3.1, 3.7, 4, 4.2, 4.6, 4.4, 4.1, 4, 4.2, 4.6, 5.3, 6, 6.4,
  5.8, 4.5, 3.1,
];
/** Monday (1) to Sunday (7): Sunday evenings shop most, Saturdays least. */
const weekdayRhythm = [0, 1.06, 1, 0.98, 1, 0.93, 0.86, 1.1];

/** Consent wording versions recorded with a shopper's consent. */
const SITE_CONSENT_VERSION = 'storefront-2025-10';
const WIDGET_CONSENT_VERSION = 'winback-default-1';

export interface SeedCampaign extends CampaignCandidate {
  version: number;
  steps: CampaignStep[];
}

export interface MonthInput {
  storeId: string;
  /** The month is `from` to `now`. */
  from: Date;
  now: Date;
  /** How many carts to make. */
  carts: number;
  source: SessionSource;
  settings: StoreSettings;
  /** The storefront's origin, for page and product URLs. */
  storefront: string;
  /** Without one no recovery mail leaves (CAN-SPAM), as in the message worker. */
  hasPostalAddress: boolean;
  campaigns: readonly SeedCampaign[];
  seed: string;
}

/** A `discounts` row with the fields the plan reads back filled in. */
export interface SeedDiscountRow {
  id: string;
  store_id: string;
  code: string;
  cart_id: string;
  kind: DiscountKind;
  value: number;
  currency: string | null;
  min_subtotal_minor: number | null;
  expires_at: string;
  used_at: string | null;
  created_at: string;
  origin: DiscountOrigin;
}

export interface SeedMonth {
  shoppers: (NewShopperRow & { id: string })[];
  consentLog: NewConsentLogRow[];
  suppressions: NewSuppressionRow[];
  carts: (NewCartRow & { id: string })[];
  discounts: SeedDiscountRow[];
  messages: (NewMessageRow & { id: string })[];
  /** Written after the messages they name: `carts.attributed_message_id`. */
  attributions: { cartId: string; messageId: string }[];
  events: NewEventRow[];
  /** Distinct source sessions the carts replay. */
  sessionsUsed: number;
}

interface Shopper {
  id: string;
  anonymousId: string;
  email: string;
  createdAt: number | null;
  lastSeenAt: number;
  identifiedAt: number | null;
  consentVersion: string | null;
  /** The address given bounces (no such mailbox). */
  badAddress: boolean;
  optedOutAt: number | null;
  lastDismissedAt: number | null;
  /** Email claims, for the frequency cap across this shopper's carts. */
  emailClaims: { at: number; cart: string }[];
  carts: number;
}

interface Placed {
  session: ShopSession;
  /** 0 for a session's first use; later uses are copies. */
  copy: number;
  start: number;
  live: 'active' | 'checkout' | null;
  person: string;
}

/**
 * The month ending at `input.now`, deterministic for the same input: carts, their shoppers and
 * events, the send ledger, discounts, consent and suppressions.
 */
export function planMonth(input: MonthInput): SeedMonth {
  const random = seededRandom(`${input.seed}:placement`);
  const now = input.now.getTime();
  const threshold = input.settings.idleThresholdMinutes * MINUTE;
  const placed = place(input, random, now, threshold);

  const month: SeedMonth = {
    shoppers: [],
    consentLog: [],
    suppressions: [],
    carts: [],
    discounts: [],
    messages: [],
    attributions: [],
    events: [],
    sessionsUsed: new Set(placed.map((cart) => cart.session.key)).size,
  };
  const shoppers = new Map<string, Shopper>();
  const onsiteCodes: number[] = [];
  placed.forEach((cart, index) => {
    let shopper = shoppers.get(cart.person);
    if (!shopper) {
      const n = shoppers.size + 1;
      shopper = {
        id: seedUuid(input.storeId, 'shopper', n),
        anonymousId: `${SEED_PREFIX}${String(n).padStart(5, '0')}`,
        // Reserved for documentation (RFC 2606): never anyone's address.
        email: `shopper-${n}@example.com`,
        createdAt: null,
        lastSeenAt: 0,
        identifiedAt: null,
        consentVersion: null,
        badAddress: false,
        optedOutAt: null,
        lastDismissedAt: null,
        emailClaims: [],
        carts: 0,
      };
      shoppers.set(cart.person, shopper);
    }
    simulateCart({ input, month, cart, index, shopper, now, threshold, onsiteCodes });
    shopper.carts += 1;
  });

  for (const shopper of shoppers.values()) {
    const identified = shopper.identifiedAt !== null;
    month.shoppers.push({
      id: shopper.id,
      store_id: input.storeId,
      anonymous_id: shopper.anonymousId,
      email: identified ? shopper.email : null,
      email_consent: identified && shopper.optedOutAt === null,
      consent_text_version: shopper.consentVersion,
      consent_updated_at: iso(shopper.optedOutAt ?? shopper.identifiedAt),
      opted_out_at: iso(shopper.optedOutAt),
      locale: 'en',
      created_at: iso(shopper.createdAt ?? now) as string,
      updated_at: iso(shopper.lastSeenAt) as string,
    });
  }
  month.events.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return month;
}

/** The carts' sessions, when they start, and which are still going on at `now`. */
function place(input: MonthInput, random: Random, now: number, threshold: number): Placed[] {
  const sessions = input.source.sessions;
  if (sessions.length === 0) throw new Error('no sessions to seed carts from');
  // Every session once, in the source's order, then copies drawn at random up to the count.
  const picks: { session: ShopSession; copy: number }[] = sessions
    .slice(0, input.carts)
    .map((session) => ({ session, copy: 0 }));
  const buys = (session: ShopSession) => session.steps.some((step) => step.kind === 'purchase');
  const buyers = sessions.filter(buys);
  const leavers = sessions.filter((session) => !buys(session));
  const boughtSoFar = picks.filter((pick) => buys(pick.session)).length;
  const buyerShare = Math.min(
    0.95,
    Math.max(
      0.05,
      (rates.boughtInSession * input.carts - boughtSoFar) / Math.max(1, input.carts - picks.length),
    ),
  );
  const copies = new Map<string, number>();
  while (picks.length < input.carts) {
    const pool =
      buyers.length > 0 && (leavers.length === 0 || random.chance(buyerShare)) ? buyers : leavers;
    const session = random.pick(pool);
    const copy = (copies.get(session.key) ?? 0) + 1;
    copies.set(session.key, copy);
    picks.push({ session, copy });
  }

  // A few carts without a purchase are still in progress: less idle than the threshold.
  const liveCount = Math.min(Math.max(2, Math.round(input.carts / 120)), input.carts);
  // Every other one is at the checkout.
  const live = new Map<number, 'active' | 'checkout'>();
  for (let tries = 0; live.size < liveCount && tries < input.carts * 4; tries += 1) {
    const index = random.int(0, picks.length - 1);
    const session = (picks[index] as (typeof picks)[number]).session;
    if (live.has(index) || session.steps.some((step) => step.kind === 'purchase')) continue;
    live.set(index, live.size % 2 === 0 ? 'active' : 'checkout');
  }

  const from = input.from.getTime();
  const slots = rhythmSlots(from, now, input.settings.timezone);
  const placed: Placed[] = picks.map(({ session, copy }, index) => {
    const length = session.steps.at(-1)?.at ?? 0;
    const kind = live.get(index);
    if (kind) {
      // The last thing the shopper did was a moment ago; a checkout adds half a minute.
      const end = now - Math.max(5 * SECOND, random.between(0.1, 0.5) * threshold);
      const start = end - length - (kind === 'checkout' ? 30 * SECOND : 0);
      return { session, copy, start, live: kind, person: `${session.person}#${copy}` };
    }
    // Room after the session for what it may still bring (checkout, an exit, a purchase from
    // the modal) and for the idle threshold, so its fate is settled by `now`.
    const latest = now - length - 20 * MINUTE - threshold - MINUTE;
    const earliest = from + MINUTE;
    let start = sampleSlot(slots, random);
    for (let tries = 0; start > latest && tries < 50; tries += 1) start = sampleSlot(slots, random);
    if (start > latest) start = latest - random.between(0, 6 * HOUR);
    // (A month too short to hold the session starts it before the month rather than after now.)
    start = Math.max(start, Math.min(earliest, latest));
    return { session, copy, start, live: null, person: `${session.person}#${copy}` };
  });
  placed.sort((a, b) => a.start - b.start || a.session.key.localeCompare(b.session.key));

  // One person's carts are kept far enough apart that one cart's sequence and attribution
  // window are over before the next cart starts; a cart too close goes to a new shopper.
  const longestSequence = Math.max(
    0,
    ...input.campaigns.flatMap((campaign) => campaign.steps.map((step) => step.delayMinutes)),
  );
  const gap = longestSequence * MINUTE + input.settings.attributionWindowDays * DAY + DAY;
  const lastEnd = new Map<string, number>();
  placed.forEach((cart, index) => {
    const previous = lastEnd.get(cart.person);
    if (previous !== undefined && cart.start - previous < gap) cart.person += `+${index}`;
    lastEnd.set(cart.person, cart.start + (cart.session.steps.at(-1)?.at ?? 0));
  });
  return placed;
}

interface Slot {
  start: number;
  /** Running total of the weights up to and including this hour. */
  total: number;
}

/** The hours of the month, weighted by the store's daily and weekly rhythm. */
function rhythmSlots(from: number, to: number, timeZone: string): Slot[] {
  const zone = isValidTimeZone(timeZone) ? timeZone : 'UTC';
  const slots: Slot[] = [];
  let total = 0;
  for (let start = Math.floor(from / HOUR) * HOUR; start < to; start += HOUR) {
    const local = DateTime.fromMillis(start, { zone });
    total += (hourlyRhythm[local.hour] ?? 1) * (weekdayRhythm[local.weekday] ?? 1);
    slots.push({ start, total });
  }
  return slots;
}

function sampleSlot(slots: readonly Slot[], random: Random): number {
  const total = slots.at(-1)?.total ?? 0;
  const target = random.next() * total;
  let low = 0;
  let high = slots.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((slots[middle] as Slot).total > target) high = middle;
    else low = middle + 1;
  }
  return (slots[low] as Slot).start + Math.floor(random.next() * HOUR);
}

interface CartContext {
  input: MonthInput;
  month: SeedMonth;
  cart: Placed;
  /** Place in time order, from 0. */
  index: number;
  shopper: Shopper;
  now: number;
  threshold: number;
  /** When on-site codes were issued, for the overlay offer's daily cap. */
  onsiteCodes: number[];
}

interface PendingPurchase {
  at: number;
  /** Where the visit that ends in the purchase starts; a click's visit is already written. */
  visitAt: number | null;
  session: string;
}

/** One cart's story, appended to the month as rows. */
function simulateCart(context: CartContext): void {
  const { input, month, cart, index, shopper, now, threshold } = context;
  const { settings, storeId, storefront } = input;
  const random = seededRandom(`${input.seed}:cart:${index}`);
  const rules = settings.onsite;
  const cartId = seedUuid(storeId, 'cart', index + 1);
  const externalId = `${SEED_PREFIX}${String(index + 1).padStart(5, '0')}`;
  const sessionId = `${SEED_PREFIX}s${index + 1}`;
  const currency = cart.session.currency;
  const device = random.weighted(devices);
  const utm = random.weighted(trafficSources);
  const timeZone =
    isValidTimeZone(settings.timezone) && settings.timezone ? settings.timezone : 'UTC';

  const events: TrackedEvent[] = [];
  let lines: CartLine[] = [];
  let codes: string[] = [];
  const counts = noCounts();
  let contextTs = null as number | null;
  let snapshot = null as { ts: number; id: string; cart: CartSnapshot } | null;
  /** Line count after each `cart_updated`, for "has the cart lines at this moment". */
  const lineHistory: { ts: number; count: number }[] = [];
  let checkoutAt = null as number | null;
  let order = null as { ts: number; valueMinor: number } | null;
  let exitReason = null as { reason: string; ts: number } | null;
  let usedCode = null as string | null;

  // Browsers send whole milliseconds.
  const envelope = (at: number, session = sessionId) => {
    const ts = Math.round(at);
    return {
      id: `${ulidTimePrefix(ts)}${ulidRandomPart(random)}`,
      ts,
      sessionId: session,
      anonymousId: shopper.anonymousId,
      cartId: externalId,
    };
  };
  const emit = (event: TrackedEvent) => {
    events.push(event);
    shopper.createdAt = Math.min(shopper.createdAt ?? event.ts, event.ts);
    shopper.lastSeenAt = Math.max(shopper.lastSeenAt, event.ts);
  };
  const lastTs = () => Math.max(...events.map((event) => event.ts));

  const pageView = (ts: number, path: string, title: string, session = sessionId) => {
    const first = contextTs === null;
    emit({
      ...envelope(ts, session),
      type: 'page_view',
      page: { url: `${storefront}${path}`, title, ...(first && utm ? { utm } : {}) },
      device: {
        type: device,
        viewport: viewports[device],
        language: 'en-US',
        timezone: timeZone,
      },
    });
    counts.page_views += 1;
    if (/^\/(products?|p)\//.test(path)) counts.product_views += 1;
    if (first) contextTs = Math.round(ts);
  };

  const lineOf = (product: SessionProduct, quantity: number): CartLine => ({
    id: `line-${product.id}`,
    productId: product.id,
    sku: product.id,
    title: product.title,
    ...(product.variant ? { variant: product.variant } : {}),
    quantity,
    unitPrice: product.unitPrice,
    url: `${storefront}/products/${product.id}`,
    ...(product.imagePath ? { imageUrl: `${storefront}${product.imagePath}` } : {}),
  });
  const subtotal = () => lines.reduce((sum, line) => sum + line.unitPrice * line.quantity, 0);

  const cartUpdated = (ts: number, changes: CartChange[], session = sessionId) => {
    const event = envelope(ts, session);
    const cartSnapshot: CartSnapshot = {
      currency,
      subtotal: subtotal(),
      lines: lines.map((line) => ({ ...line })),
      ...(codes.length > 0 ? { discountCodes: [...codes] } : {}),
    };
    emit({
      ...event,
      type: 'cart_updated',
      cart: cartSnapshot,
      ...(changes.length > 0 ? { changes } : {}),
    });
    for (const change of changes) {
      if (change.kind === 'remove') counts.removals += 1;
      else counts.edits += 1;
    }
    snapshot = { ts: event.ts, id: event.id, cart: cartSnapshot };
    lineHistory.push({ ts: event.ts, count: lines.length });
  };
  const add = (ts: number, product: SessionProduct) => {
    const lineId = `line-${product.id}`;
    const existing = lines.find((line) => line.id === lineId);
    if (existing) {
      existing.quantity += 1;
      cartUpdated(ts, [
        { kind: 'quantity', lineId, from: existing.quantity - 1, to: existing.quantity },
      ]);
    } else {
      lines.push(lineOf(product, 1));
      cartUpdated(ts, [{ kind: 'add', lineId, to: 1 }]);
    }
  };
  const remove = (ts: number, lineId: string) => {
    const existing = lines.find((line) => line.id === lineId);
    if (!existing) return;
    if (existing.quantity > 1) {
      existing.quantity -= 1;
      cartUpdated(ts, [
        { kind: 'quantity', lineId, from: existing.quantity + 1, to: existing.quantity },
      ]);
    } else {
      lines = lines.filter((line) => line !== existing);
      cartUpdated(ts, [{ kind: 'remove', lineId, from: 1, to: 0 }]);
    }
  };
  const checkout = (ts: number, session = sessionId) => {
    pageView(ts, '/checkout', 'Checkout', session);
    emit({
      ...envelope(ts + 600, session),
      type: 'checkout_started',
      value: subtotal(),
      currency,
    });
    checkoutAt = Math.round(ts + 600);
  };
  const orderCompleted = (ts: number, valueMinor: number, session = sessionId) => {
    emit({
      ...envelope(ts, session),
      type: 'order_completed',
      orderId: String(1001 + index),
      value: valueMinor,
      currency,
    });
    order = { ts: Math.round(ts), valueMinor };
  };
  const identify = (ts: number, via: 'site' | 'widget') => {
    const version =
      via === 'widget' ? (rules.consent?.version ?? WIDGET_CONSENT_VERSION) : SITE_CONSENT_VERSION;
    if (via === 'widget') {
      emit({
        ...envelope(ts - 400),
        type: 'consent_changed',
        consent: { email: true, textVersion: version },
        source: 'widget',
      });
      consentRow(ts - 400, true, 'widget', version);
    }
    emit({
      ...envelope(ts),
      type: 'identify',
      email: shopper.email,
      consent: { email: true, textVersion: version },
    });
    consentRow(ts, true, 'identify', version);
    shopper.identifiedAt = Math.round(ts);
    shopper.consentVersion = version;
    shopper.badAddress = random.chance(rates.badAddress);
  };
  const consentRow = (ts: number, granted: boolean, source: string, version: string | null) => {
    month.consentLog.push({
      store_id: storeId,
      shopper_id: shopper.id,
      channel: 'email',
      granted,
      source,
      text_version: version,
      created_at: iso(ts) as string,
    });
  };
  const statusAt = (): CartStatus =>
    lines.length === 0
      ? 'emptied'
      : checkoutAt !== null && snapshot && checkoutAt >= snapshot.ts
        ? 'checkout'
        : 'active';
  const riskAt = (ts: number, status: CartStatus) =>
    score(
      cartFeatures(
        {
          id: cartId,
          idle_due_at: null,
          status,
          value_minor: subtotal(),
          line_count: lines.length,
          checkout_at: checkoutAt === null ? null : new Date(checkoutAt),
          last_activity_at: new Date(ts),
          device,
          utm,
          returning_shopper: shopper.carts > 0,
          ...counts,
        },
        timeZone,
      ),
    );
  const discountRow = (
    ts: number,
    terms: NonNullable<ReturnType<typeof issueDiscount>>,
    origin: 'message' | 'onsite',
  ) => {
    const row: SeedDiscountRow = {
      id: seedUuid(storeId, 'discount', month.discounts.length + 1),
      store_id: storeId,
      code: generateCode((n) => random.bytes(n)),
      cart_id: cartId,
      kind: terms.kind,
      value: terms.value,
      currency: terms.currency,
      min_subtotal_minor: terms.minSubtotalMinor,
      expires_at: iso(terms.expiresAt.getTime()) as string,
      used_at: null,
      created_at: iso(ts) as string,
      origin,
    };
    month.discounts.push(row);
    return row;
  };
  const priceWith = (code: string | null) => {
    const value = subtotal();
    const discount = month.discounts.find((row) => row.cart_id === cartId && row.code === code);
    if (!discount) return value;
    if (discount.kind === 'percent') return value - Math.round((value * discount.value) / 100);
    if (discount.kind === 'fixed') return Math.max(0, value - discount.value);
    return value;
  };

  // --- The session itself, moved to its place in the month.
  const steps = cart.session.steps;
  let at = cart.start;
  if (steps[0]?.kind !== 'view') {
    const first = steps[0]?.product;
    pageView(at - 12 * SECOND, `/products/${first?.id ?? ''}`, first?.title ?? 'Shop');
  }
  const bought: SessionProduct[] = [];
  let boughtAt: number | null = null;
  steps.forEach((step, position) => {
    // Several steps in one second keep their order.
    at = cart.start + step.at + position;
    if (step.kind === 'view') pageView(at, `/products/${step.product.id}`, step.product.title);
    else if (step.kind === 'add') add(at, step.product);
    else if (step.kind === 'remove') remove(at, `line-${step.product.id}`);
    else {
      bought.push(step.product);
      boughtAt ??= at;
    }
  });

  const copied = cart.copy > 0 || cart.session.key.startsWith('generated:');
  if (boughtAt !== null) {
    // What was bought is in the cart by then (the export's cart events may predate its start).
    let purchaseAt: number = Math.max(boughtAt, lastTs() + 3 * SECOND);
    for (const product of bought) {
      if (!lines.some((line) => line.id === `line-${product.id}`)) {
        add(lastTs() + Math.max(SECOND, (purchaseAt - lastTs()) / 4), product);
      }
    }
    purchaseAt = Math.max(purchaseAt, lastTs() + 3 * SECOND);
    const before = lastTs();
    const checkoutTs =
      before + Math.min(random.between(20, 120) * SECOND, (purchaseAt - before) / 2);
    if (shopper.identifiedAt === null && random.chance(rates.identify.bought)) {
      identify(checkoutTs + 300, 'site');
    }
    checkout(checkoutTs);
    orderCompleted(
      purchaseAt,
      bought.reduce((sum, product) => sum + product.unitPrice, 0),
    );
  } else if (cart.live === 'checkout') {
    checkout(lastTs() + random.between(10, 25) * SECOND);
  } else if (cart.live === null) {
    if (copied && random.chance(rates.emptied)) {
      let ts = lastTs();
      for (const line of [...lines]) {
        ts += random.between(5, 40) * SECOND;
        lines = lines.filter((item) => item !== line);
        cartUpdated(ts, [{ kind: 'remove', lineId: line.id, from: line.quantity, to: 0 }]);
      }
    } else {
      leaveOrBuy();
    }
  }

  /** The end of a session without a purchase: checkout perhaps, an email perhaps, an exit. */
  function leaveOrBuy() {
    const reachedCheckout = random.chance(rates.checkoutWithoutBuying);
    const lastAdd = Math.max(
      ...events.filter((event) => event.type === 'cart_updated').map((event) => event.ts),
    );
    if (reachedCheckout) {
      const ts = lastTs() + random.between(15, 60) * SECOND;
      checkout(ts);
      if (random.chance(0.5)) {
        emit({
          ...envelope(ts + random.between(20, 50) * SECOND),
          type: 'checkout_step',
          step: 'contact',
          index: 0,
        });
        counts.checkout_steps += 1;
        checkoutAt = lastTs();
      }
    }
    const identifyRate = reachedCheckout ? rates.identify.checkout : rates.identify.browsing;
    if (shopper.identifiedAt === null && random.chance(identifyRate)) {
      // In the cart drawer a moment after adding, or on the checkout's contact step.
      identify(
        reachedCheckout ? lastTs() - 2 * SECOND : lastAdd + random.between(5, 40) * SECOND,
        'site',
      );
    }

    if (!random.chance(rates.exitIntent[device])) return;
    const exitTs = lastTs() + random.between(3, 30) * SECOND;
    const signal =
      device === 'desktop'
        ? random.weighted([
            ['mouse_top', 85],
            ['tab_hidden', 15],
          ] as const)
        : random.weighted([
            ['scroll_up', 50],
            ['tab_hidden', 35],
            ['back', 15],
          ] as const);
    emit({ ...envelope(exitTs), type: 'exit_intent', signal });
    counts[`exit_${signal}`] += 1;

    const status = statusAt();
    const risk = riskAt(exitTs, status);
    const decision = decideOverlay(
      rules,
      {
        trigger: 'exit_intent',
        cart: { status, score: risk, valueMinor: subtotal(), lineCount: lines.length },
        pagePath: status === 'checkout' ? '/checkout' : '/cart',
        shownThisSession: false,
        lastDismissedAt:
          shopper.lastDismissedAt === null ? null : new Date(shopper.lastDismissedAt),
      },
      new Date(exitTs),
    );
    if (!decision.show) return;
    const shownTs = exitTs + 400;
    const overlayId = `ov_exit_${Buffer.from(random.bytes(12)).toString('base64url')}`;
    emit({ ...envelope(shownTs), type: 'overlay_shown', overlayId });
    const issuedLastDay = context.onsiteCodes.filter((ts) => ts > shownTs - DAY).length;
    const policy = onsiteOffer(rules, { score: risk, valueMinor: subtotal() }, issuedLastDay);
    const terms = policy
      ? issueDiscount(policy, { subtotalMinor: subtotal(), currency }, new Date(shownTs))
      : null;
    const offered = terms ? discountRow(shownTs, terms, 'onsite') : null;
    if (offered) context.onsiteCodes.push(shownTs);

    const actionTs = shownTs + random.between(2, 15) * SECOND;
    const choices: [string, number][] = [];
    if (shopper.identifiedAt === null && rules.exitModal.captureEmail) {
      choices.push(['capture_submitted', rates.exitModal.capture]);
    }
    if (rules.exitModal.askReason) choices.push(['reason', rates.exitModal.reason]);
    if (offered) choices.push(['copy_code', rates.exitModal.copyCode]);
    choices.push(['checkout', rates.exitModal.checkout]);
    choices.push(['dismiss', 1 - choices.reduce((sum, [, weight]) => sum + weight, 0)]);
    const action = random.weighted(choices);
    if (action === 'capture_submitted') {
      identify(actionTs - 300, 'widget');
      emit({
        ...envelope(actionTs),
        type: 'overlay_action',
        overlayId,
        action: 'capture_submitted',
      });
    } else if (action === 'reason') {
      const reason = random.weighted(exitReasons);
      emit({ ...envelope(actionTs), type: 'overlay_action', overlayId, action: 'reason', reason });
      exitReason = { reason, ts: Math.round(actionTs) };
    } else if (action === 'copy_code' && offered) {
      emit({ ...envelope(actionTs), type: 'overlay_action', overlayId, action: 'copy_code' });
      if (random.chance(rates.buyFromModal.copyCode)) {
        codes = [offered.code];
        cartUpdated(actionTs + random.between(20, 90) * SECOND, []);
        const ts = lastTs() + random.between(1, 8) * MINUTE;
        checkout(ts - 40 * SECOND);
        usedCode = offered.code;
        orderCompleted(ts, priceWith(offered.code));
      }
    } else if (action === 'checkout') {
      emit({ ...envelope(actionTs), type: 'overlay_action', overlayId, action: 'checkout' });
      checkout(actionTs + 3 * SECOND);
      if (random.chance(rates.buyFromModal.checkout)) {
        orderCompleted(lastTs() + random.between(2, 8) * MINUTE, subtotal());
      }
    } else {
      emit({ ...envelope(actionTs), type: 'overlay_action', overlayId, action: 'dismiss' });
      shopper.lastDismissedAt = actionTs;
    }
  }

  // --- After the session: the idle threshold, the campaign, the shopper's answers.
  const activity = () => events.map((event) => event.ts).sort((a, b) => a - b);
  const linesAt = (ts: number) => {
    let count = 0;
    for (const entry of lineHistory) if (entry.ts <= ts) count = entry.count;
    return count;
  };
  /** When the cart is next idle for the threshold at or after `ts` (now if it already is). */
  const idleFrom = (ts: number) => {
    let moment = ts;
    for (;;) {
      const latest = Math.max(...activity().filter((t) => t <= moment));
      if (!(moment - latest < threshold)) return moment;
      moment = latest + threshold;
    }
  };
  /** The moments the abandonment worker found the cart idle with lines, before `until`. */
  const abandonments = (until: number) => {
    const times = activity();
    const found: number[] = [];
    times.forEach((ts, i) => {
      const next = times[i + 1];
      const idleAt = ts + threshold;
      if (idleAt > until || idleAt > now || linesAt(ts) === 0) return;
      if (next === undefined || next - ts >= threshold) found.push(idleAt);
    });
    return found;
  };

  let purchase = (
    order ? { at: order.ts, visitAt: null, session: sessionId } : null
  ) as PendingPurchase | null;
  /**
   * A purchase after the session, if it comes before any other: its visit is written now (so
   * later steps see the shopper on the site), its checkout and order once it is sure to be the
   * first. One it comes before loses its visit.
   */
  const propose = (candidate: PendingPurchase) => {
    if (order || candidate.at > now - MINUTE) return;
    if (purchase && purchase.at <= candidate.at) return;
    if (purchase && purchase.visitAt !== null) dropSession(purchase.session);
    purchase = candidate;
    if (candidate.visitAt !== null) {
      pageView(candidate.visitAt, '/cart', 'Your cart', candidate.session);
    }
  };
  const dropSession = (session: string) => {
    for (let i = events.length - 1; i >= 0; i -= 1) {
      const event = events[i] as TrackedEvent;
      if (event.sessionId !== session) continue;
      if (event.type === 'page_view') counts.page_views -= 1;
      events.splice(i, 1);
    }
  };
  const firstAbandonment = abandonments(purchase?.at ?? now)[0];
  let enrolment: CartEnrolment | null = null;
  let campaign: SeedCampaign | null = null;
  const ledger: (NewMessageRow & { id: string })[] = [];
  let visits = 0;

  if (firstAbandonment !== undefined) {
    const reachable =
      shopper.identifiedAt !== null &&
      shopper.identifiedAt <= firstAbandonment &&
      (shopper.optedOutAt === null || shopper.optedOutAt > firstAbandonment);
    campaign = pickCampaign(input.campaigns, {
      valueMinor: subtotal(),
      currency,
      lineCount: lines.length,
      returningShopper: shopper.carts > 0,
      device,
      country: null,
      utmSource: utm?.source ?? null,
    });
    if (!campaign) enrolment = 'no_campaign';
    else if (!reachable || !campaign.steps.some((step) => step.channel === 'email')) {
      enrolment = 'no_channel';
      campaign = null;
    } else enrolment = 'enrolled';

    if (campaign && enrolment === 'enrolled') {
      runSequence(campaign, firstAbandonment);
    } else if (purchase === null && linesAt(now) > 0 && random.chance(rates.buyLater)) {
      // Nobody could be written to; some come back and buy anyway.
      const visitAt = lastTs() + threshold + random.between(40 * MINUTE, 4 * DAY);
      const buyAt = visitAt + random.between(4, 25) * MINUTE;
      propose({ at: buyAt, visitAt, session: `${sessionId}-r1` });
    }
  }

  function runSequence(chosen: SeedCampaign, enrolledAt: number) {
    chosen.steps.forEach((step, stepIndex) => {
      const due = enrolledAt + step.delayMinutes * MINUTE;
      const row: NewMessageRow & { id: string } = {
        id: seedUuid(storeId, 'message', month.messages.length + ledger.length + 1),
        store_id: storeId,
        cart_id: cartId,
        campaign_id: chosen.id,
        campaign_version: chosen.version,
        variant: null,
        step: stepIndex,
        channel: step.channel,
        template_id: null,
        status: 'scheduled',
        scheduled_at: iso(due) as string,
        attempt: 0,
        step_def: JSON.stringify(step),
        created_at: iso(enrolledAt) as string,
        updated_at: iso(Math.min(due, now)) as string,
      };
      ledger.push(row);
      const outcome = attempt(step, due);
      if (outcome.status === 'sending') {
        send(step, row, outcome.at);
      } else {
        row.status = outcome.status;
        row.scheduled_at = iso(outcome.at) as string;
        row.suppress_reason = outcome.reason;
        row.updated_at = iso(Math.min(Math.max(outcome.at, enrolledAt), now)) as string;
      }
    });
  }

  /**
   * What the message worker would find at each attempt of a step due at `due` (see
   * messaging/send.ts): a claim, a suppression or cancellation with its reason, or a row still
   * waiting at `now`. Postponements (shopper back on the site, quiet hours) move the attempt on.
   */
  function attempt(
    step: CampaignStep,
    due: number,
  ): { status: MessageStatus; at: number; reason: string | null } {
    const zone =
      isValidTimeZone(settings.timezone) && settings.timezone ? settings.timezone : 'UTC';
    let at = due;
    // Each postponement moves the attempt strictly later, past finitely many events and nights.
    for (let hops = 0; hops < 100; hops += 1) {
      // A purchase that would land while the mail is in flight wins the race for the send locks
      // (the other order is as likely), so a mail never leaves after the order's moment.
      if (purchase && purchase.at <= at + SEND_SECONDS.max * SECOND) {
        return { status: 'cancelled', at, reason: 'purchased' };
      }
      if (shopper.optedOutAt !== null && shopper.optedOutAt <= at) {
        return { status: 'cancelled', at, reason: 'opted_out' };
      }
      if (at > now) return { status: 'scheduled', at, reason: null };
      if (linesAt(at) === 0) return { status: 'suppressed', at, reason: 'cart_emptied' };
      const idle = idleFrom(at);
      if (idle !== at) {
        at = idle;
        continue;
      }
      if (step.channel !== 'email') {
        return { status: 'suppressed', at, reason: 'channel_unavailable' };
      }
      if (!input.hasPostalAddress) {
        return { status: 'suppressed', at, reason: 'no_postal_address' };
      }
      const quietUntil = quietHoursEnd(new Date(at), settings.quietHours, zone);
      if (quietUntil) {
        at = quietUntil.getTime();
        continue;
      }
      const claimed = shopper.emailClaims.filter((c) => c.cart !== cartId && c.at <= at);
      const lastSent = claimed.length > 0 ? Math.max(...claimed.map((c) => c.at)) : null;
      const allowed = frequencyCapAllows({
        channel: 'email',
        now: new Date(at),
        capHours: settings.frequencyCapHours.email,
        lastSentAt: lastSent === null ? null : new Date(lastSent),
      });
      if (!allowed) return { status: 'suppressed', at, reason: 'frequency_cap' };
      return { status: 'sending', at, reason: null };
    }
    throw new Error(`a seeded step due at ${iso(due)} never settled`);
  }

  function send(step: CampaignStep, row: NewMessageRow & { id: string }, claimAt: number) {
    shopper.emailClaims.push({ at: claimAt, cart: cartId });
    row.scheduled_at = iso(claimAt) as string;
    row.claimed_at = iso(claimAt);
    row.attempt = 1;
    const terms = step.discount
      ? issueDiscount(step.discount, { subtotalMinor: subtotal(), currency }, new Date(claimAt))
      : null;
    const discount = terms ? discountRow(claimAt, terms, 'message') : null;
    row.discount_id = discount?.id ?? null;
    if (shopper.badAddress) {
      row.status = 'failed';
      row.error = 'smtp_550';
      row.updated_at = iso(claimAt + 2 * SECOND) as string;
      return;
    }
    const sentAt = claimAt + random.between(SEND_SECONDS.min, SEND_SECONDS.max) * SECOND;
    row.status = 'sent';
    row.sent_at = iso(sentAt);
    const queueId = Buffer.from(random.bytes(5)).toString('hex').toUpperCase();
    row.provider_id = `250 2.0.0 Ok: queued as ${queueId}`;
    row.updated_at = iso(sentAt) as string;
    if (!random.chance(rates.open)) return;
    const openedAt = sentAt + Math.max(20 * SECOND, random.exponential(2.5 * HOUR));
    if (openedAt > now) return;
    row.opened_at = iso(openedAt);
    row.updated_at = iso(openedAt) as string;

    if (random.chance(rates.unsubscribe)) {
      const leftAt = openedAt + random.between(10, 120) * SECOND;
      if (leftAt > now) return;
      // The unsubscribe link: opted out, withdrawn in the consent log, on the suppression list.
      shopper.optedOutAt = leftAt;
      consentRow(leftAt, false, 'unsubscribe', null);
      month.suppressions.push({
        store_id: storeId,
        channel: 'email',
        address_hash: addressHash('email', shopper.email),
        reason: 'unsubscribe',
        created_at: iso(leftAt) as string,
      });
      return;
    }
    if (random.chance(rates.click)) {
      const clickedAt = openedAt + random.between(5 * SECOND, 20 * MINUTE);
      // The visit the click starts must be over by now.
      if (clickedAt > now - MINUTE || (purchase && purchase.at <= clickedAt)) return;
      row.clicked_at = iso(clickedAt);
      row.updated_at = iso(clickedAt) as string;
      returnVisit(clickedAt + random.between(2, 8) * SECOND, discount);
      return;
    }
    if (random.chance(rates.buyAfterOpen)) {
      const visitAt = openedAt + random.between(20 * MINUTE, 20 * HOUR);
      const buyAt = visitAt + random.between(4, 25) * MINUTE;
      visits += 1;
      propose({ at: buyAt, visitAt, session: `${sessionId}-r${visits}` });
    }
  }

  /** The recovery link: the cart restored (with the step's code), the slide-in, maybe a buy. */
  function returnVisit(ts: number, discount: { code: string; expires_at: string | null } | null) {
    visits += 1;
    const session = `${sessionId}-r${visits}`;
    pageView(ts, '/cart', 'Your cart', session);
    if (discount && !codes.includes(discount.code)) {
      codes = [...codes, discount.code];
      cartUpdated(ts + 1500, [], session);
    }
    const decision = decideOverlay(
      rules,
      {
        trigger: 'return_visit',
        cart: {
          status: 'abandoned',
          score: riskAt(ts, 'abandoned'),
          valueMinor: subtotal(),
          lineCount: lines.length,
        },
        pagePath: '/cart',
        shownThisSession: false,
        lastDismissedAt:
          shopper.lastDismissedAt === null ? null : new Date(shopper.lastDismissedAt),
      },
      new Date(ts),
    );
    if (decision.show) {
      const overlayId = `ov_slide_${Buffer.from(random.bytes(12)).toString('base64url')}`;
      emit({ ...envelope(ts + 2 * SECOND, session), type: 'overlay_shown', overlayId });
      const action = random.weighted([
        ['dismiss', 40],
        ['checkout', 25],
        ['none', 35],
      ] as const);
      if (action !== 'none') {
        emit({
          ...envelope(ts + random.between(4, 20) * SECOND, session),
          type: 'overlay_action',
          overlayId,
          action,
        });
        if (action === 'dismiss') shopper.lastDismissedAt = lastTs();
      }
    }
    if (!random.chance(rates.buyAfterClick)) return;
    propose({ at: lastTs() + random.between(3, 35) * MINUTE, visitAt: null, session });
  }

  // A purchase after the session: its visit (unless the link's visit was it), checkout, order.
  const finalPurchase = purchase;
  if (finalPurchase && !order) {
    const { at: buyAt, session } = finalPurchase;
    if (finalPurchase.visitAt !== null) {
      const code = month.discounts.find(
        (row) =>
          row.cart_id === cartId &&
          row.origin === 'message' &&
          Date.parse(row.created_at) < finalPurchase.visitAt! &&
          row.expires_at !== null &&
          Date.parse(row.expires_at) > buyAt,
      )?.code;
      if (code && !codes.includes(code) && random.chance(0.7)) {
        codes = [...codes, code];
        cartUpdated(finalPurchase.visitAt + 2 * SECOND, [], session);
      }
    }
    checkout(buyAt - random.between(40, 150) * SECOND, session);
    const code = codes.find((candidate) => {
      const row = month.discounts.find(
        (item) => item.cart_id === cartId && item.code === candidate,
      );
      return row?.expires_at && Date.parse(row.expires_at) > buyAt;
    });
    usedCode = code ?? null;
    orderCompleted(buyAt, priceWith(usedCode), session);
  }

  // --- The cart row as ingest, the workers and the purchase settlement would have left it.
  events.sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1));
  const first = events[0] as TrackedEvent;
  const last = events.at(-1) as TrackedEvent;
  const settled = order;
  const latestAbandonment = abandonments(settled?.ts ?? now).at(-1) ?? null;
  let status: CartStatus;
  let attributed: string | null = null;
  if (settled) {
    const verdict = attributePurchase({
      purchasedAt: new Date(settled.ts),
      windowDays: settings.attributionWindowDays,
      touches: ledger.map((row) => ({
        messageId: row.id,
        openedAt: row.opened_at ? new Date(row.opened_at as string) : null,
        clickedAt: row.clicked_at ? new Date(row.clicked_at as string) : null,
      })),
    });
    status = verdict.outcome;
    attributed = verdict.messageId;
    if (usedCode) {
      const used = month.discounts.find((row) => row.cart_id === cartId && row.code === usedCode);
      if (used) used.used_at = iso(settled.ts);
    }
  } else if (lines.length === 0) {
    status = 'emptied';
  } else if (last.ts + threshold > now) {
    status = statusAt();
  } else {
    status = 'abandoned';
  }
  const live = status === 'active' || status === 'checkout';
  const cartSnapshot = snapshot;
  const finalScore = riskAt(last.ts, status);

  month.carts.push({
    id: cartId,
    store_id: storeId,
    external_id: externalId,
    shopper_id: shopper.id,
    session_id: last.sessionId,
    status,
    snapshot: JSON.stringify(cartSnapshot?.cart ?? {}),
    currency,
    value_minor: cartSnapshot?.cart.subtotal ?? 0,
    line_count: cartSnapshot?.cart.lines.length ?? 0,
    score: finalScore,
    last_activity_at: iso(last.ts) as string,
    idle_due_at: live ? iso(last.ts + threshold) : null,
    abandoned_at: iso(latestAbandonment),
    converted_at: iso(settled?.ts ?? null),
    device,
    utm: utm ? JSON.stringify(utm) : null,
    campaign_id: campaign?.id ?? null,
    campaign_version: campaign?.version ?? null,
    variant: null,
    enrolled_at: enrolment === 'enrolled' ? iso(firstAbandonment ?? null) : null,
    snapshot_ts: iso(cartSnapshot?.ts ?? null),
    snapshot_event_id: cartSnapshot?.id ?? null,
    checkout_at: iso(checkoutAt),
    context_ts: iso(contextTs),
    ...counts,
    first_seen_at: iso(first.ts) as string,
    order_id: settled ? String(1001 + index) : null,
    order_value_minor: settled?.valueMinor ?? null,
    order_currency: settled ? currency : null,
    enrolment,
    exit_reason: exitReason?.reason ?? null,
    exit_reason_at: iso(exitReason?.ts ?? null),
    created_at: iso(first.ts) as string,
    updated_at: iso(Math.min(now, Math.max(last.ts, latestAbandonment ?? 0))) as string,
  });
  month.messages.push(...ledger);
  if (attributed) month.attributions.push({ cartId, messageId: attributed });
  for (const event of events) {
    const { id, type, ts, sessionId: session, anonymousId, cartId: external, ...payload } = event;
    month.events.push({
      store_id: storeId,
      id,
      type,
      ts: iso(ts) as string,
      received_at: iso(ts + Math.round(random.between(30, 400))) as string,
      session_id: session,
      anonymous_id: anonymousId,
      cart_id: external ?? null,
      payload: JSON.stringify(payload),
    });
  }
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(Math.round(ms)).toISOString();
}
