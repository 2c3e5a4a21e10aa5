import { z } from 'zod';
import { limits } from './limits.js';
import { isCurrencyCode } from './money.js';

/**
 * The wire protocol between the sdk and the server. These zod schemas are the single source of
 * truth: the server validates with them, and the sdk imports only the types inferred from them
 * (`import type`), so no zod reaches a storefront.
 *
 * Every object is strict: an unknown field is an error, not something quietly stored.
 */

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const TOKEN = /^[A-Za-z0-9_-]{8,64}$/;

/** Client-generated ULID, kept across retries so the server can dedupe. */
export const eventId = z.string().regex(ULID, 'must be a ULID (26 Crockford base32 characters)');
/** Milliseconds since the epoch, as the browser's clock says. */
export const timestamp = z
  .number()
  .int()
  .min(Date.UTC(2020, 0, 1), 'is before 2020')
  .max(Date.UTC(2100, 0, 1), 'is after 2100');
export const minorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const currency = z.string().refine(isCurrencyCode, 'must be an ISO 4217 code such as EUR');
const text = (max: number) => z.string().max(max);
const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), 'must be an http(s) URL');

export const cartLine = z.strictObject({
  /** The line's key in the store's cart (Shopify `key`, Woo `key`, BigCommerce line id). */
  id: text(128).min(1),
  productId: text(128).optional(),
  variantId: text(128).optional(),
  sku: text(128).optional(),
  title: text(300).min(1),
  variant: text(300).optional(),
  quantity: z.number().int().min(1).max(100_000),
  unitPrice: minorUnits,
  imageUrl: httpUrl.optional(),
  url: httpUrl.optional(),
});

export const cartSnapshot = z.strictObject({
  currency,
  /** Sum of the lines before discounts, shipping and tax, in minor units. */
  subtotal: minorUnits,
  lines: z.array(cartLine).max(limits.cartLines, `a cart has at most ${limits.cartLines} lines`),
  discountCodes: z.array(text(64)).max(10).optional(),
});

export const cartChange = z.strictObject({
  kind: z.enum(['add', 'remove', 'quantity']),
  lineId: text(128).min(1),
  from: z.number().int().min(0).optional(),
  to: z.number().int().min(0).optional(),
});

export const utm = z.strictObject({
  source: text(200).optional(),
  medium: text(200).optional(),
  campaign: text(200).optional(),
  term: text(200).optional(),
  content: text(200).optional(),
});

export const pageContext = z.strictObject({
  /** The page's URL with query parameters that may carry personal data removed. */
  url: httpUrl,
  title: text(300).optional(),
  referrer: z.union([httpUrl, z.literal('')]).optional(),
  utm: utm.optional(),
});

/**
 * The device as the browser reports it. The sdk sends only what the server cannot read itself
 * (viewport, language, timezone); `type`, `os` and `browser` are optional and meant to be
 * derived on the server from the request's User-Agent header (a later issue: nothing derives
 * them yet).
 */
export const deviceContext = z.strictObject({
  type: z.enum(['desktop', 'mobile', 'tablet']).optional(),
  os: text(64).optional(),
  browser: text(64).optional(),
  viewport: z.strictObject({
    width: z.number().int().min(0).max(100_000),
    height: z.number().int().min(0).max(100_000),
  }),
  language: text(35).optional(),
  timezone: text(64).optional(),
});

export const consentFlags = z.strictObject({
  email: z.boolean().optional(),
  sms: z.boolean().optional(),
  push: z.boolean().optional(),
  /** Which wording of the consent text the shopper saw, e.g. "2026-11-01". */
  textVersion: text(64).min(1),
});

export const exitSignal = z.enum(['mouse_top', 'scroll_up', 'tab_hidden', 'idle', 'back']);

const envelope = {
  id: eventId,
  ts: timestamp,
  sessionId: z.string().regex(TOKEN, 'must be 8 to 64 characters of [A-Za-z0-9_-]'),
  anonymousId: z.string().regex(TOKEN, 'must be 8 to 64 characters of [A-Za-z0-9_-]'),
  cartId: text(128).min(1).optional(),
};

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ ...envelope, type: z.literal(type), ...shape });

export const pageViewEvent = event('page_view', {
  page: pageContext,
  device: deviceContext.optional(),
});
export const cartUpdatedEvent = event('cart_updated', {
  cart: cartSnapshot,
  /** What changed since the previous snapshot this browser sent. */
  changes: z
    .array(cartChange)
    .max(limits.cartLines * 2)
    .optional(),
});
export const checkoutStartedEvent = event('checkout_started', {
  value: minorUnits.optional(),
  currency: currency.optional(),
});
export const checkoutStepEvent = event('checkout_step', {
  step: text(64).min(1),
  index: z.number().int().min(0).max(100).optional(),
});
export const identifyEvent = event('identify', {
  email: z.email().max(254).optional(),
  /** E.164, e.g. +447700900123. */
  phone: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +447700900123')
    .optional(),
  firstName: text(100).optional(),
  consent: consentFlags,
}).refine((value) => value.email !== undefined || value.phone !== undefined, {
  message: 'identify needs an email or a phone',
});
export const exitIntentEvent = event('exit_intent', { signal: exitSignal });
export const overlayShownEvent = event('overlay_shown', {
  overlayId: text(64).min(1),
  variant: text(64).optional(),
});
export const overlayActionEvent = event('overlay_action', {
  overlayId: text(64).min(1),
  action: z.enum(['copy_code', 'checkout', 'dismiss', 'capture_submitted', 'reason']),
  reason: text(64).optional(),
});
export const orderCompletedEvent = event('order_completed', {
  orderId: text(128).min(1),
  value: minorUnits,
  currency,
});
export const consentChangedEvent = event('consent_changed', {
  consent: consentFlags,
  source: z.enum(['site', 'widget', 'gpc']),
});

export const trackedEvent = z.discriminatedUnion('type', [
  pageViewEvent,
  cartUpdatedEvent,
  checkoutStartedEvent,
  checkoutStepEvent,
  identifyEvent,
  exitIntentEvent,
  overlayShownEvent,
  overlayActionEvent,
  orderCompletedEvent,
  consentChangedEvent,
]);

export const eventTypes = [
  'page_view',
  'cart_updated',
  'checkout_started',
  'checkout_step',
  'identify',
  'exit_intent',
  'overlay_shown',
  'overlay_action',
  'order_completed',
  'consent_changed',
] as const;

/** Client → server: a sequence-numbered batch, acked as a whole. */
export const batchFrame = z.strictObject({
  t: z.literal('batch'),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  events: z
    .array(z.unknown())
    .min(1)
    .max(limits.eventsPerFrame, `a frame has at most ${limits.eventsPerFrame} events`),
  /** Events this browser had to drop (storage full) since its last acked frame. */
  dropped: z.number().int().min(0).max(1_000_000).optional(),
});

/** Why a frame was refused; the sdk decides from it whether to retry. */
export const nackReasons = [
  'invalid', // never retry: the frame can never be accepted
  'too_large', // never retry as is
  'unauthorized', // unknown or revoked key, or an origin the store does not allow: stop sending
  'rate_limited', // retry after retryAfterMs
  'unavailable', // retry after retryAfterMs
] as const;

export const ackFrame = z.strictObject({
  t: z.literal('ack'),
  seq: z.number().int().min(0),
  /**
   * Events of the frame that can never be accepted (malformed); the rest were stored. The sdk
   * drops these and warns, instead of retrying them for ever.
   */
  rejected: z
    .array(z.strictObject({ index: z.number().int().min(0), message: z.string() }))
    .optional(),
});
export const nackFrame = z.strictObject({
  t: z.literal('nack'),
  seq: z.number().int().min(-1),
  retryAfterMs: z.number().int().min(0),
  reason: z.enum(nackReasons),
  message: z.string().optional(),
});
export const commandFrame = z.strictObject({
  t: z.literal('cmd'),
  cmd: z.enum(['show_overlay', 'prefetch_widget']),
  overlay: z.record(z.string(), z.unknown()).optional(),
});
export const serverFrame = z.discriminatedUnion('t', [ackFrame, nackFrame, commandFrame]);

export type CartLine = z.infer<typeof cartLine>;
export type CartSnapshot = z.infer<typeof cartSnapshot>;
export type CartChange = z.infer<typeof cartChange>;
export type PageContext = z.infer<typeof pageContext>;
export type DeviceContext = z.infer<typeof deviceContext>;
export type ConsentFlags = z.infer<typeof consentFlags>;
export type ExitSignal = z.infer<typeof exitSignal>;
export type TrackedEvent = z.infer<typeof trackedEvent>;
export type EventType = TrackedEvent['type'];
/** The fields every event carries, filled in by the sdk. */
export type EventEnvelope = Pick<
  TrackedEvent,
  'id' | 'ts' | 'sessionId' | 'anonymousId' | 'cartId'
>;
export type BatchFrame = Omit<z.infer<typeof batchFrame>, 'events'> & { events: TrackedEvent[] };
export type AckFrame = z.infer<typeof ackFrame>;
export type NackFrame = z.infer<typeof nackFrame>;
export type NackReason = NackFrame['reason'];
export type CommandFrame = z.infer<typeof commandFrame>;
export type ServerFrame = z.infer<typeof serverFrame>;
