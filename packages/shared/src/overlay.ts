import { z } from 'zod';
import { limits } from './limits.js';
import { isCurrencyCode } from './money.js';

/**
 * The contract between the server's on-site decision and `@winback/widget`: the `overlay` object
 * of a `{ t: 'cmd', cmd: 'show_overlay' }` frame. The server builds it and validates it with
 * `overlayPayload` before sending; the widget imports only the types (no zod in a storefront)
 * and re-checks what it must not trust blindly (colours and fonts go into CSS, URLs are
 * navigated to) with its own small checks.
 *
 * Every object is strict, like the wire protocol: an unknown field is an error.
 *
 * @example
 *   const overlay = overlayPayload.parse({
 *     overlayId: 'ov_01JD2ZK3', kind: 'exit_modal', locale: 'de', theme: { primary: '#1a73e8' },
 *     texts: overlayTextsFor('de', store.overlayTexts?.de),
 *     cart: { currency: 'EUR', subtotal: 3600,
 *             lines: [{ title: 'Sunrise mug', quantity: 2, unitPrice: 1800 }] },
 *     checkoutUrl: 'https://winback.example.com/r/abc',
 *   });
 *   socket.send(JSON.stringify({ t: 'cmd', cmd: 'show_overlay', overlay }));
 */

/** The overlays the widget can show. */
export const overlayKinds = ['exit_modal', 'return_slide_in'] as const;
/** The languages of the overlay texts; the server picks one (`overlayLocaleFor`). */
export const overlayLocales = ['en', 'de', 'fr', 'es'] as const;
/** The answers to "why are you leaving?", sent as `overlay_action` `reason`. */
export const overlayReasons = [
  'shipping_cost',
  'just_browsing',
  'price',
  'payment',
  'other',
] as const;

/**
 * Every text the widget shows. `{n}` and `{time}` are filled in by the widget where the default
 * text has them.
 */
export const overlayTextKeys = [
  'exitTitle',
  'slideTitle',
  'slideBody',
  'checkout',
  'close',
  'dismiss',
  'subtotal',
  /** "Qty {n}" */
  'quantity',
  /** "+ {n} more" lines, in the slide-in's summary */
  'more',
  'code',
  'copy',
  'copied',
  'copyFailed',
  /** "Expires in {time}" */
  'expiresIn',
  'expired',
  'captureTitle',
  'email',
  'phone',
  'submit',
  'consentNeeded',
  'contactNeeded',
  'emailInvalid',
  'phoneInvalid',
  'captured',
  'reasonQuestion',
  'reasonThanks',
  'reason_shipping_cost',
  'reason_just_browsing',
  'reason_price',
  'reason_payment',
  'reason_other',
] as const;

const text = (max: number) => z.string().max(max);
const minorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Where the widget may link or load from: an https URL, a path on the page's own origin
 * (`/cart`, not `//host` nor `/\host`, which browsers read as another host), or plain http on
 * a loopback host (a secure context for browsers, and what `pnpm demo` runs on).
 * Never `javascript:`, `data:` or anything else a link could run.
 */
export function isOverlayUrl(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\s\\\u0000-\u001f]/.test(value)) return false;
  if (value.startsWith('/')) return !value.startsWith('//');
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

const overlayUrl = text(2048)
  .min(1)
  .refine(
    isOverlayUrl,
    'must be an https URL, a path on the same origin (/...) or http on localhost',
  );

/** `#rgb` or `#rrggbb`: written into the widget's stylesheet, so nothing else is accepted. */
export const hexColour = z
  .string()
  .regex(/^#(?:[0-9a-fA-F]{3}){1,2}$/, 'must be a hex colour such as #1a73e8');

/**
 * A CSS font-family list of unquoted names, e.g. `Helvetica Neue, Arial, sans-serif`: written
 * into the widget's stylesheet, so quotes, semicolons and braces are refused.
 */
export const fontFamily = z
  .string()
  .max(200)
  .regex(
    /^[A-Za-z][\w-]*(?: [A-Za-z][\w-]*)*(?:, ?[A-Za-z][\w-]*(?: [A-Za-z][\w-]*)*)*$/,
    'must be a list of font names such as "Inter, Arial, sans-serif" (no quotes)',
  );

/** The store's look. Every field is optional: the widget has a neutral default for each. */
export const overlayTheme = z.strictObject({
  /** Buttons and accents. Text on them is black or white, whichever reads better. */
  primary: hexColour.optional(),
  background: hexColour.optional(),
  text: hexColour.optional(),
  fontFamily: fontFamily.optional(),
  /** Corner radius of the panel and buttons, in CSS pixels. */
  radius: z.number().int().min(0).max(32).optional(),
  /** Shown above the title; decorative (the title says what the overlay is). */
  logoUrl: overlayUrl.optional(),
});

export const overlayLine = z.strictObject({
  title: text(300).min(1),
  variant: text(300).optional(),
  quantity: z.number().int().min(1).max(100_000),
  /** Price of one item, in minor units of the cart's currency. */
  unitPrice: minorUnits,
  imageUrl: overlayUrl.optional(),
});

export const overlayCart = z.strictObject({
  currency: z.string().refine(isCurrencyCode, 'must be an ISO 4217 code such as EUR'),
  lines: z
    .array(overlayLine)
    .min(1, 'an overlay is about a cart with something in it')
    .max(limits.cartLines, `a cart has at most ${limits.cartLines} lines`),
  /** In minor units, as the cart reported it (before discounts, shipping and tax). */
  subtotal: minorUnits,
});

export const overlayDiscount = z.strictObject({
  code: text(64).min(1),
  /** When the code stops working; the widget counts down to it. */
  expiresAt: z.iso.datetime({ offset: true }),
  /** What the code gives, in the shopper's language, e.g. "10 % Rabatt auf deine Bestellung". */
  label: text(200).min(1),
});

export const overlayCapture = z
  .strictObject({
    /** Ask for an email address. */
    email: z.boolean(),
    /** Ask for a mobile number (E.164 is asked of the shopper). */
    phone: z.boolean(),
    /** The store's consent wording, shown beside the (unticked) checkbox. */
    consentText: text(1000).min(1),
    /** Which version of that wording this is; recorded with the consent. */
    consentVersion: text(64).min(1),
  })
  .refine((capture) => capture.email || capture.phone, {
    message: 'capture asks for an email, a phone number or both',
  });

/** The store's own wording for some texts of one locale. */
export const overlayTextOverrides = z.partialRecord(z.enum(overlayTextKeys), text(500).min(1));
const overlayTextsSchema = z.record(z.enum(overlayTextKeys), text(500).min(1));

export const overlayPayload = z.strictObject({
  /** Echoed in `overlay_shown` / `overlay_action` events, so results reach the analytics. */
  overlayId: text(64).min(1),
  /** The A/B variant the server picked, echoed in `overlay_shown`. */
  variant: text(64).optional(),
  kind: z.enum(overlayKinds),
  locale: z.enum(overlayLocales),
  /**
   * Every text in `locale`: `overlayTextsFor(locale, storeOverrides)`. The wording travels with
   * the command rather than in the widget, which keeps four languages out of its 10 KB budget.
   */
  texts: overlayTextsSchema,
  theme: overlayTheme,
  cart: overlayCart,
  /** A discount code to offer (exit modal and slide-in). */
  discount: overlayDiscount.optional(),
  /** Where "return to checkout" goes: the cart's restore link. */
  checkoutUrl: overlayUrl,
  /** Ask for contact details with consent (exit modal only). */
  capture: overlayCapture.optional(),
  /** Ask "why are you leaving?" (exit modal only). */
  askReason: z.boolean().optional(),
});

export type OverlayKind = (typeof overlayKinds)[number];
export type OverlayLocale = (typeof overlayLocales)[number];
export type OverlayReason = (typeof overlayReasons)[number];
export type OverlayTextKey = (typeof overlayTextKeys)[number];
export type OverlayTexts = Record<OverlayTextKey, string>;
export type OverlayTextOverrides = z.infer<typeof overlayTextOverrides>;
export type OverlayTheme = z.infer<typeof overlayTheme>;
export type OverlayLine = z.infer<typeof overlayLine>;
export type OverlayCart = z.infer<typeof overlayCart>;
export type OverlayDiscount = z.infer<typeof overlayDiscount>;
export type OverlayCapture = z.infer<typeof overlayCapture>;
export type OverlayPayload = z.infer<typeof overlayPayload>;

/**
 * The default wording of every overlay text, per locale. French puts a no-break space (\u00a0)
 * before `:`, `!` and `?`.
 */
export const overlayTexts: Record<OverlayLocale, OverlayTexts> = {
  en: {
    exitTitle: 'Wait, your cart is still here',
    slideTitle: 'Your cart is saved',
    slideBody: 'Pick up where you left off.',
    checkout: 'Return to checkout',
    close: 'Close',
    dismiss: 'No thanks',
    subtotal: 'Subtotal',
    quantity: 'Qty {n}',
    more: '+ {n} more',
    code: 'Your code',
    copy: 'Copy code',
    copied: 'Code copied',
    copyFailed: "Couldn't copy: select the code and copy it yourself.",
    expiresIn: 'Expires in {time}',
    expired: 'This code has expired',
    captureTitle: 'Save your cart for later',
    email: 'Email',
    phone: 'Mobile number',
    submit: 'Save my cart',
    consentNeeded: 'Please tick the box first.',
    contactNeeded: 'Enter your email or mobile number.',
    emailInvalid: 'Enter a valid email address.',
    phoneInvalid: 'Enter the number with its country code, e.g. +44 7700 900123.',
    captured: "Thanks! We'll keep your cart for you.",
    reasonQuestion: 'Why are you leaving?',
    reasonThanks: 'Thanks for telling us.',
    reason_shipping_cost: 'Shipping cost',
    reason_just_browsing: 'Just browsing',
    reason_price: 'Price',
    reason_payment: 'Payment options',
    reason_other: 'Something else',
  },
  de: {
    exitTitle: 'Warte, dein Warenkorb ist noch da',
    slideTitle: 'Dein Warenkorb ist gespeichert',
    slideBody: 'Mach dort weiter, wo du aufgehört hast.',
    checkout: 'Zurück zur Kasse',
    close: 'Schließen',
    dismiss: 'Nein, danke',
    subtotal: 'Zwischensumme',
    quantity: 'Menge {n}',
    more: '+ {n} weitere',
    code: 'Dein Code',
    copy: 'Code kopieren',
    copied: 'Code kopiert',
    copyFailed: 'Kopieren ging nicht: Markiere den Code und kopiere ihn selbst.',
    expiresIn: 'Gültig noch {time}',
    expired: 'Dieser Code ist abgelaufen',
    captureTitle: 'Warenkorb für später sichern',
    email: 'E-Mail',
    phone: 'Handynummer',
    submit: 'Warenkorb sichern',
    consentNeeded: 'Bitte setze zuerst das Häkchen.',
    contactNeeded: 'Gib deine E-Mail-Adresse oder Handynummer ein.',
    emailInvalid: 'Gib eine gültige E-Mail-Adresse ein.',
    phoneInvalid: 'Gib die Nummer mit Ländervorwahl ein, z. B. +49 151 23456789.',
    captured: 'Danke! Wir heben deinen Warenkorb für dich auf.',
    reasonQuestion: 'Warum gehst du?',
    reasonThanks: 'Danke für deine Antwort.',
    reason_shipping_cost: 'Versandkosten',
    reason_just_browsing: 'Ich schaue nur',
    reason_price: 'Preis',
    reason_payment: 'Zahlungsarten',
    reason_other: 'Etwas anderes',
  },
  fr: {
    exitTitle: 'Attendez, votre panier est toujours là',
    slideTitle: 'Votre panier est enregistré',
    slideBody: 'Reprenez là où vous vous étiez arrêté.',
    checkout: 'Retour au paiement',
    close: 'Fermer',
    dismiss: 'Non merci',
    subtotal: 'Sous-total',
    quantity: 'Qté {n}',
    more: '+ {n} autres',
    code: 'Votre code',
    copy: 'Copier le code',
    copied: 'Code copié',
    copyFailed: 'Copie impossible\u00a0: sélectionnez le code et copiez-le vous-même.',
    expiresIn: 'Expire dans {time}',
    expired: 'Ce code a expiré',
    captureTitle: 'Gardez votre panier pour plus tard',
    email: 'E-mail',
    phone: 'Numéro de mobile',
    submit: 'Garder mon panier',
    consentNeeded: 'Veuillez d’abord cocher la case.',
    contactNeeded: 'Saisissez votre e-mail ou votre numéro de mobile.',
    emailInvalid: 'Saisissez une adresse e-mail valide.',
    phoneInvalid: 'Saisissez le numéro avec l’indicatif du pays, par ex. +33 6 12 34 56 78.',
    captured: 'Merci\u00a0! Nous gardons votre panier pour vous.',
    reasonQuestion: 'Pourquoi partez-vous\u00a0?',
    reasonThanks: 'Merci de votre réponse.',
    reason_shipping_cost: 'Frais de livraison',
    reason_just_browsing: 'Je regarde seulement',
    reason_price: 'Prix',
    reason_payment: 'Moyens de paiement',
    reason_other: 'Autre chose',
  },
  es: {
    exitTitle: 'Espera, tu carrito sigue aquí',
    slideTitle: 'Tu carrito está guardado',
    slideBody: 'Continúa donde lo dejaste.',
    checkout: 'Volver al pago',
    close: 'Cerrar',
    dismiss: 'No, gracias',
    subtotal: 'Subtotal',
    quantity: 'Cant. {n}',
    more: '+ {n} más',
    code: 'Tu código',
    copy: 'Copiar código',
    copied: 'Código copiado',
    copyFailed: 'No se pudo copiar: selecciona el código y cópialo tú.',
    expiresIn: 'Caduca en {time}',
    expired: 'Este código ha caducado',
    captureTitle: 'Guarda tu carrito para después',
    email: 'Correo electrónico',
    phone: 'Número de móvil',
    submit: 'Guardar mi carrito',
    consentNeeded: 'Marca primero la casilla.',
    contactNeeded: 'Escribe tu correo electrónico o tu número de móvil.',
    emailInvalid: 'Escribe un correo electrónico válido.',
    phoneInvalid: 'Escribe el número con el prefijo del país, p. ej. +34 612 34 56 78.',
    captured: '¡Gracias! Guardamos tu carrito.',
    reasonQuestion: '¿Por qué te vas?',
    reasonThanks: 'Gracias por contárnoslo.',
    reason_shipping_cost: 'Gastos de envío',
    reason_just_browsing: 'Solo estoy mirando',
    reason_price: 'Precio',
    reason_payment: 'Formas de pago',
    reason_other: 'Otra cosa',
  },
};

/**
 * The texts of an overlay in `locale`: the defaults with the store's overrides on top.
 *
 * @example
 *   overlayTextsFor('de', { checkout: 'Jetzt bezahlen' }).checkout // "Jetzt bezahlen"
 */
export function overlayTextsFor(
  locale: OverlayLocale,
  overrides: OverlayTextOverrides = {},
): OverlayTexts {
  const texts = { ...overlayTexts[locale] };
  for (const key of overlayTextKeys) {
    const override = overrides[key];
    if (override) texts[key] = override;
  }
  return texts;
}

/**
 * The overlay locale for a shopper: their browser's language (`de-AT` → `de`) when the widget
 * speaks it, else the store's.
 *
 * @example
 *   overlayLocaleFor('fr-CA', 'en') // "fr"
 *   overlayLocaleFor('it-IT', 'de') // "de"
 */
export function overlayLocaleFor(
  language: string | undefined,
  storeLocale: OverlayLocale,
): OverlayLocale {
  const primary = language?.toLowerCase().split('-')[0];
  return overlayLocales.find((locale) => locale === primary) ?? storeLocale;
}
