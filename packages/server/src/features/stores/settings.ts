import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';
import { onsiteRules } from '../../domain/onsite.js';
import { cartRestore } from '../../domain/restore-url.js';

/*
 * A store's settings (`stores.settings`, one jsonb document). Reads always go through
 * `readStoreSettings`, which fills every key a stored document lacks (it may predate the key) or
 * holds in a shape the code no longer accepts, so a worker never meets a half-filled object.
 * Writes (the admin page) go through `storeSettingsUpdate`, which refuses bad values outright.
 */

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00 to 23:59)');

const timeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Berlin');

/**
 * A display name for the From header: one line, and none of the characters that would end or
 * escape its quoted form (`"`, `\`, `<`, `>`), so it can never add an address or a header.
 */
const senderName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    /^[^"\\<>\u0000-\u001f\u007f]+$/,
    'must be one line without quotes, backslashes or angle brackets',
  );

const fields = {
  /** Minutes without cart activity before a cart counts as abandoned: 1 minute to 7 days. */
  idleThresholdMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60),
  /** IANA zone used when the shopper's own zone is unknown. */
  timezone: timeZone,
  /** Days after a recovery message's open or click within which a purchase is attributed to it. */
  attributionWindowDays: z.number().int().min(1).max(90),
  /** Local `HH:MM` window in which no message is sent; `start` after `end` wraps midnight. */
  quietHours: z.strictObject({ start: hhmm, end: hhmm }),
  /** At most one recovery message per shopper and channel within this many hours, across carts. */
  frequencyCapHours: z.strictObject({
    email: z
      .number()
      .int()
      .min(0)
      .max(24 * 30),
    sms: z
      .number()
      .int()
      .min(0)
      .max(24 * 30),
    push: z
      .number()
      .int()
      .min(0)
      .max(24 * 30),
  }),
  /**
   * The storefront's own origin, where recovery links lead. Null: the first allowed origin.
   */
  storeUrl: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable(),
  cartRestore,
  /** Language of messages when the shopper's is unknown (BCP 47). */
  locale: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 tag like en or de-DE'),
  /** On-site overlays: which show, for which carts, on which pages, and any discount they offer. */
  onsite: onsiteRules,
  /**
   * Who recovery mails come from: `name` replaces the display name of MAIL_FROM (the address
   * stays the server's, which its SPF and DKIM cover); `replyTo` is the merchant's own address,
   * where shoppers' replies and the admin's test sends go. Null: MAIL_FROM's name, no address.
   */
  sender: z.strictObject({
    name: senderName.nullable(),
    replyTo: z.email('must be an email address such as you@shop.example').max(254).nullable(),
  }),
};

export const defaultStoreSettings: Readonly<StoreSettings> = Object.freeze<StoreSettings>({
  idleThresholdMinutes: 30,
  timezone: 'UTC',
  attributionWindowDays: 5,
  quietHours: { start: '21:00', end: '08:00' },
  frequencyCapHours: { email: 16, sms: 24, push: 12 },
  storeUrl: null,
  cartRestore: { kind: 'none' },
  locale: 'en',
  onsite: onsiteRules.parse({}),
  sender: { name: null, replyTo: null },
});

/** A partial settings document as the admin API accepts it: every given key must be valid. */
export const storeSettingsUpdate = z.strictObject(fields).partial();

export type StoreSettings = {
  [K in keyof typeof fields]: z.infer<(typeof fields)[K]>;
};

/**
 * The settings a stored document stands for: each key that is missing or no longer valid takes
 * its default, so one bad key never hides the others.
 */
export function readStoreSettings(stored: unknown): StoreSettings {
  const document =
    stored !== null && typeof stored === 'object' ? (stored as Record<string, unknown>) : {};
  const settings: Record<string, unknown> = {};
  for (const key of Object.keys(fields) as (keyof StoreSettings)[]) {
    const parsed = fields[key].safeParse(document[key]);
    settings[key] = parsed.success ? parsed.data : structuredClone(defaultStoreSettings[key]);
  }
  return settings as StoreSettings;
}

/** Where the storefront lives: the `storeUrl` setting, else the store's first allowed origin. */
export function storefrontOrigin(
  settings: StoreSettings,
  allowedOrigins: readonly string[],
): string | null {
  if (settings.storeUrl) return new URL(settings.storeUrl).origin;
  return allowedOrigins[0] ?? null;
}

/**
 * The From header of the store's mail: MAIL_FROM's address under the store's sender name, or
 * MAIL_FROM as it is when the store has none (or MAIL_FROM holds no single address).
 *
 * @example
 *   senderFrom({ name: 'Sunrise Ceramics', replyTo: null }, 'Winback <recovery@mail.example>');
 *   // '"Sunrise Ceramics" <recovery@mail.example>'
 */
export function senderFrom(sender: StoreSettings['sender'], mailFrom: string): string {
  const [entry, ...more] = addressparser(mailFrom, { flatten: true });
  if (!sender.name || !entry?.address || more.length > 0) return mailFrom;
  return `"${sender.name}" <${entry.address}>`;
}
