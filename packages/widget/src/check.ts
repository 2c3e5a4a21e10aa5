import type { OverlayPayload } from '@winback/shared/overlay';

// The browser's own check of a payload. The server validates it with the zod schema
// `overlayPayload` before sending it, but zod has no place in a storefront bundle, and what the
// widget writes into CSS (colours, fonts), loads (images) or navigates to (URLs) must never be
// taken on trust. It accepts every payload the schema accepts (its tests hold it to that) and
// refuses anything it could not show safely. Lengths the schema bounds are left to the server:
// long text is only text. Unknown fields are ignored.

/** A rule returns the path of the first value that fails it, or nothing. */
// biome-ignore lint/suspicious/noExplicitAny: rules look into values of unknown shape
type Rule = (value: any, path: string) => string | undefined;

const is =
  // biome-ignore lint/suspicious/noExplicitAny: as above
    (passes: (value: any) => unknown): Rule =>
    (value, path) =>
      passes(value) ? undefined : path;

const optional =
  (rule: Rule): Rule =>
  (value, path) =>
    value === undefined ? undefined : rule(value, path);

const object =
  (fields: Record<string, Rule>, whole?: Rule): Rule =>
  (value, path) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return path;
    for (const key in fields) {
      const failed = fields[key]!(value[key], `${path}.${key}`);
      if (failed) return failed;
    }
    return whole?.(value, path);
  };

const string = is((value) => typeof value === 'string' && value);
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  is((value) => Number.isSafeInteger(value) && value >= min && value <= max);
const boolean = is((value) => typeof value === 'boolean');

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/**
 * An https URL, a path on the page's own origin (not `//host` nor `/\host`), or http on a
 * loopback host: the schema's `isOverlayUrl`.
 */
export function isOverlayUrl(value: unknown): boolean {
  if (typeof value !== 'string' || !value || value.length > 2048) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\s\\\u0000-\u001f]/.test(value)) return false;
  if (value[0] === '/') return value[1] !== '/';
  try {
    const { protocol, hostname } = new URL(value);
    return protocol === 'https:' || (protocol === 'http:' && LOOPBACK.includes(hostname));
  } catch {
    return false;
  }
}

const url = is(isOverlayUrl);
const colour = optional(is((value) => /^#(?:[\da-f]{3}){1,2}$/i.test(value)));

const payloadRule = object({
  overlayId: string,
  variant: optional(is((value) => typeof value === 'string')),
  kind: is((value) => value === 'exit_modal' || value === 'return_slide_in'),
  locale: is((value) => ['en', 'de', 'fr', 'es'].includes(value)),
  // Complete for the locale (the server's zod check); the widget only needs strings.
  texts: is(
    (value) =>
      value &&
      typeof value === 'object' &&
      Object.values(value).every((text) => typeof text === 'string'),
  ),
  theme: object({
    primary: colour,
    background: colour,
    text: colour,
    fontFamily: optional(
      is((value) =>
        /^[a-z][\w-]*(?: [a-z][\w-]*)*(?:, ?[a-z][\w-]*(?: [a-z][\w-]*)*)*$/i.test(value),
      ),
    ),
    radius: optional(integer(0, 32)),
    logoUrl: optional(url),
  }),
  cart: object({
    currency: is((value) => {
      try {
        return (
          /^[A-Z]{3}$/.test(value) &&
          new Intl.NumberFormat('en', { style: 'currency', currency: value })
        );
      } catch {}
    }),
    lines: (lines, path) => {
      if (!Array.isArray(lines) || !lines.length || lines.length > 100) return path;
      for (const [index, line] of lines.entries()) {
        const failed = lineRule(line, `${path}.${index}`);
        if (failed) return failed;
      }
    },
    subtotal: integer(0),
  }),
  discount: optional(
    object({
      code: string,
      expiresAt: is((value) => typeof value === 'string' && !Number.isNaN(Date.parse(value))),
      label: string,
    }),
  ),
  checkoutUrl: url,
  capture: optional(
    object(
      { email: boolean, phone: boolean, consentText: string, consentVersion: string },
      is((capture) => capture.email || capture.phone),
    ),
  ),
  askReason: optional(boolean),
});

const lineRule = object({
  title: string,
  variant: optional(is((value) => typeof value === 'string')),
  quantity: integer(1),
  unitPrice: integer(0),
  imageUrl: optional(url),
});

/**
 * Where a payload is wrong (`"overlay.cart.lines.3.imageUrl"`), or `undefined` when the widget
 * can show it.
 */
export const problemOf = (payload: unknown): string | undefined => payloadRule(payload, 'overlay');

export const isOverlayPayload = (payload: unknown): payload is OverlayPayload =>
  !problemOf(payload);
