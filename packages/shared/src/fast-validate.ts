import { limits } from './limits.js';
import { isCurrencyCode } from './money.js';
import type { TrackedEvent } from './protocol.js';

/*
 * A fast path in front of the zod schemas of protocol.ts, for the server's hot loop. The schemas
 * stay the source of truth: these checks only ever answer "valid" (returning the value as zod
 * would) or "ask zod" (undefined), never "invalid", so a frame the fast path does not know how to
 * judge, and every error message, still comes from zod. `fast-validate.test.ts` checks with
 * fast-check that whatever passes here passes zod with an equal result.
 *
 * Covered: the batch frame's shape and the event types a storefront sends all the time
 * (`page_view`, `cart_updated`, `exit_intent`, `checkout_started`, `checkout_step`,
 * `order_completed`). The rest go to zod every time.
 *
 * Inputs are what JSON.parse returns: plain objects, arrays, strings, finite numbers, booleans,
 * null. The value returned is the input itself (zod returns an equal copy), so the caller must
 * own it.
 */

type Json = Record<string, unknown>;

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const TOKEN = /^[A-Za-z0-9_-]{8,64}$/;
const HTTP = /^https?:\/\//i;
const MIN_TS = Date.UTC(2020, 0, 1);
const MAX_TS = Date.UTC(2100, 0, 1);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every own key of `value` is one of `allowed`. */
function onlyKeys(value: Json, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

function text(value: unknown, min: number, max: number): boolean {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

function optionalText(value: unknown, max: number): boolean {
  return value === undefined || text(value, 0, max);
}

function int(value: unknown, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

function minorUnits(value: unknown): boolean {
  return int(value, 0, Number.MAX_SAFE_INTEGER);
}

function httpUrl(value: unknown): boolean {
  return (
    typeof value === 'string' && value.length <= 2048 && HTTP.test(value) && URL.canParse(value)
  );
}

function currency(value: unknown): boolean {
  return typeof value === 'string' && isCurrencyCode(value);
}

const envelopeKeys = ['id', 'type', 'ts', 'sessionId', 'anonymousId', 'cartId'];
const keysOf = (...names: string[]) => new Set([...envelopeKeys, ...names]);

function envelope(event: Json): boolean {
  return (
    typeof event.id === 'string' &&
    ULID.test(event.id) &&
    int(event.ts, MIN_TS, MAX_TS) &&
    typeof event.sessionId === 'string' &&
    TOKEN.test(event.sessionId) &&
    typeof event.anonymousId === 'string' &&
    TOKEN.test(event.anonymousId) &&
    (event.cartId === undefined || text(event.cartId, 1, 128))
  );
}

const utmKeys = new Set(['source', 'medium', 'campaign', 'term', 'content']);
const pageKeys = new Set(['url', 'title', 'referrer', 'utm']);
const deviceKeys = new Set(['type', 'os', 'browser', 'viewport', 'language', 'timezone']);
const viewportKeys = new Set(['width', 'height']);
const deviceTypes = new Set(['desktop', 'mobile', 'tablet']);

function page(value: unknown): boolean {
  if (!isObject(value) || !onlyKeys(value, pageKeys)) return false;
  if (!httpUrl(value.url) || !optionalText(value.title, 300)) return false;
  const { referrer, utm } = value;
  if (referrer !== undefined && referrer !== '' && !httpUrl(referrer)) return false;
  if (utm === undefined) return true;
  if (!isObject(utm) || !onlyKeys(utm, utmKeys)) return false;
  for (const key in utm) if (!text(utm[key], 0, 200)) return false;
  return true;
}

function device(value: unknown): boolean {
  if (value === undefined) return true;
  if (!isObject(value) || !onlyKeys(value, deviceKeys)) return false;
  const { viewport } = value;
  return (
    (value.type === undefined || deviceTypes.has(value.type as string)) &&
    optionalText(value.os, 64) &&
    optionalText(value.browser, 64) &&
    isObject(viewport) &&
    onlyKeys(viewport, viewportKeys) &&
    int(viewport.width, 0, 100_000) &&
    int(viewport.height, 0, 100_000) &&
    optionalText(value.language, 35) &&
    optionalText(value.timezone, 64)
  );
}

const lineKeys = new Set([
  'id',
  'productId',
  'variantId',
  'sku',
  'title',
  'variant',
  'quantity',
  'unitPrice',
  'imageUrl',
  'url',
]);

function cartLine(line: unknown): boolean {
  return (
    isObject(line) &&
    onlyKeys(line, lineKeys) &&
    text(line.id, 1, 128) &&
    optionalText(line.productId, 128) &&
    optionalText(line.variantId, 128) &&
    optionalText(line.sku, 128) &&
    text(line.title, 1, 300) &&
    optionalText(line.variant, 300) &&
    int(line.quantity, 1, 100_000) &&
    minorUnits(line.unitPrice) &&
    (line.imageUrl === undefined || httpUrl(line.imageUrl)) &&
    (line.url === undefined || httpUrl(line.url))
  );
}

const cartKeys = new Set(['currency', 'subtotal', 'lines', 'discountCodes']);

function cart(value: unknown): boolean {
  if (!isObject(value) || !onlyKeys(value, cartKeys)) return false;
  if (!currency(value.currency) || !minorUnits(value.subtotal)) return false;
  const { lines, discountCodes } = value;
  if (!Array.isArray(lines) || lines.length > limits.cartLines) return false;
  for (const line of lines) if (!cartLine(line)) return false;
  if (discountCodes === undefined) return true;
  if (!Array.isArray(discountCodes) || discountCodes.length > 10) return false;
  for (const code of discountCodes) if (!text(code, 0, 64)) return false;
  return true;
}

const changeKeys = new Set(['kind', 'lineId', 'from', 'to']);
const changeKinds = new Set(['add', 'remove', 'quantity']);

function changes(value: unknown): boolean {
  if (value === undefined) return true;
  if (!Array.isArray(value) || value.length > limits.cartLines * 2) return false;
  for (const change of value) {
    if (
      !isObject(change) ||
      !onlyKeys(change, changeKeys) ||
      !changeKinds.has(change.kind as string) ||
      !text(change.lineId, 1, 128) ||
      (change.from !== undefined && !int(change.from, 0, Number.MAX_SAFE_INTEGER)) ||
      (change.to !== undefined && !int(change.to, 0, Number.MAX_SAFE_INTEGER))
    ) {
      return false;
    }
  }
  return true;
}

const exitSignals = new Set(['mouse_top', 'scroll_up', 'tab_hidden', 'idle', 'back']);

/** Per event type: its allowed keys and the check of its own fields (the envelope aside). */
const eventChecks: Record<string, { keys: ReadonlySet<string>; check(event: Json): boolean }> = {
  page_view: {
    keys: keysOf('page', 'device'),
    check: (event) => page(event.page) && device(event.device),
  },
  cart_updated: {
    keys: keysOf('cart', 'changes'),
    check: (event) => cart(event.cart) && changes(event.changes),
  },
  exit_intent: {
    keys: keysOf('signal'),
    check: (event) => exitSignals.has(event.signal as string),
  },
  checkout_started: {
    keys: keysOf('value', 'currency'),
    check: (event) =>
      (event.value === undefined || minorUnits(event.value)) &&
      (event.currency === undefined || currency(event.currency)),
  },
  checkout_step: {
    keys: keysOf('step', 'index'),
    check: (event) =>
      text(event.step, 1, 64) && (event.index === undefined || int(event.index, 0, 100)),
  },
  order_completed: {
    keys: keysOf('orderId', 'value', 'currency'),
    check: (event) =>
      text(event.orderId, 1, 128) && minorUnits(event.value) && currency(event.currency),
  },
};

/**
 * The event when it is certainly valid per `trackedEvent`, else undefined: then ask zod, which
 * may still accept it (a type this fast path does not cover) or says why not.
 *
 * @example
 *   const event = fastTrackedEvent(candidate) ?? trackedEvent.safeParse(candidate);
 */
export function fastTrackedEvent(candidate: unknown): TrackedEvent | undefined {
  if (!isObject(candidate) || typeof candidate.type !== 'string') return undefined;
  const rules = Object.hasOwn(eventChecks, candidate.type)
    ? eventChecks[candidate.type]
    : undefined;
  if (!rules || !onlyKeys(candidate, rules.keys)) return undefined;
  return envelope(candidate) && rules.check(candidate)
    ? (candidate as unknown as TrackedEvent)
    : undefined;
}

const frameKeys = new Set(['t', 'seq', 'events', 'dropped']);

/**
 * The frame when it is certainly a valid `batchFrame` (its events not yet checked), else
 * undefined: then ask zod.
 */
export function fastBatchFrame(
  json: unknown,
): { seq: number; events: unknown[]; dropped?: number } | undefined {
  if (!isObject(json) || !onlyKeys(json, frameKeys) || json.t !== 'batch') return undefined;
  const { seq, events, dropped } = json;
  if (!int(seq, 0, Number.MAX_SAFE_INTEGER)) return undefined;
  if (!Array.isArray(events) || events.length < 1 || events.length > limits.eventsPerFrame) {
    return undefined;
  }
  if (dropped !== undefined && !int(dropped, 0, 1_000_000)) return undefined;
  return json as { seq: number; events: unknown[]; dropped?: number };
}
