import { randomBytes } from 'node:crypto';
import { formatMoney } from '@winback/shared';
import {
  isOverlayUrl,
  type OverlayLocale,
  type OverlayPayload,
  overlayLocales,
  overlayPayload,
  overlayTextsFor,
} from '@winback/shared/overlay';
import type { OverlayKind } from '../../domain/onsite.js';
import type { StoreSettings } from '../stores/settings.js';
import type { OnsiteCart } from './repository.js';

/** A cart line as the stored snapshot has it (validated by ingest when it arrived). */
export interface SnapshotLine {
  title: string;
  variant?: string;
  quantity: number;
  unitPrice: number;
  imageUrl?: string;
  variantId?: string;
  productId?: string;
  sku?: string;
}

export interface IssuedCode {
  code: string;
  kind: string;
  value: number;
  expiresAt: Date;
}

export interface OverlayRequest {
  kind: OverlayKind;
  cart: OnsiteCart;
  lines: readonly SnapshotLine[];
  settings: StoreSettings;
  /** The browser's language (`de-AT`), when its page said. */
  language: string | null;
  discount: IssuedCode | null;
  checkoutUrl: string;
  /** Contact details the shopper already gave with consent: not asked for again. */
  known: { email: boolean; phone: boolean };
}

/** The version recorded with consent given under the built-in wording. */
export const defaultConsentVersion = 'winback-default-1';

const defaultConsent: Record<OverlayLocale, string> = {
  en: 'Yes, remind me about my cart and send me offers by email or text. I can unsubscribe at any time.',
  de: 'Ja, erinnert mich an meinen Warenkorb und schickt mir Angebote per E-Mail oder SMS. Ich kann mich jederzeit abmelden.',
  fr: 'Oui, rappelez-moi mon panier et envoyez-moi des offres par e-mail ou SMS. Je peux me désinscrire à tout moment.',
  es: 'Sí, recordadme mi carrito y enviadme ofertas por correo o SMS. Puedo darme de baja en cualquier momento.',
};

const percentOff: Record<OverlayLocale, (n: number) => string> = {
  en: (n) => `${n}% off your order`,
  de: (n) => `${n} % Rabatt auf deine Bestellung`,
  fr: (n) => `${n} % de réduction sur votre commande`,
  es: (n) => `${n} % de descuento en tu pedido`,
};
const amountOff: Record<OverlayLocale, (amount: string) => string> = {
  en: (amount) => `${amount} off your order`,
  de: (amount) => `${amount} Rabatt auf deine Bestellung`,
  fr: (amount) => `${amount} de réduction sur votre commande`,
  es: (amount) => `${amount} de descuento en tu pedido`,
};
const freeShipping: Record<OverlayLocale, string> = {
  en: 'Free shipping on your order',
  de: 'Kostenloser Versand für deine Bestellung',
  fr: 'Livraison offerte sur votre commande',
  es: 'Envío gratis en tu pedido',
};

/**
 * The overlay's language: the store's choice, or with `auto` the browser's language when the
 * widget speaks it, else the store's default language, else English.
 */
export function overlayLocale(
  settings: StoreSettings,
  browserLanguage: string | null,
): OverlayLocale {
  const chosen = settings.onsite.locale;
  if (chosen !== 'auto') return chosen;
  for (const tag of [browserLanguage, settings.locale]) {
    const primary = tag?.toLowerCase().split('-')[0];
    const known = overlayLocales.find((locale) => locale === primary);
    if (known) return known;
  }
  return 'en';
}

/** What a discount gives, in words of `locale`. */
export function discountLabel(
  discount: Pick<IssuedCode, 'kind' | 'value'>,
  currency: string | null,
  locale: OverlayLocale,
): string {
  if (discount.kind === 'percent') return percentOff[locale](discount.value);
  if (discount.kind === 'fixed' && currency) {
    return amountOff[locale](formatMoney({ amount: discount.value, currency }, locale));
  }
  return freeShipping[locale];
}

/**
 * A storefront link the widget will follow: as it is when https, else (a plain-http storefront)
 * as a path, which the widget resolves on the page's own origin.
 */
function linkable(url: string): string {
  if (isOverlayUrl(url)) return url;
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}${parsed.hash}`;
}

/**
 * The `overlay` of a `show_overlay` command, validated against the contract with the widget
 * (`@winback/shared/overlay`) before it leaves: a payload that does not meet it is an error here,
 * never a broken overlay on a storefront.
 */
export function buildOverlay(request: OverlayRequest): OverlayPayload {
  const { settings, cart, kind } = request;
  const rules = settings.onsite;
  const locale = overlayLocale(settings, request.language);
  const currency = cart.currency ?? 'USD';
  const lines = request.lines.slice(0, 100).map((line) => ({
    title: line.title,
    ...(line.variant ? { variant: line.variant } : {}),
    quantity: line.quantity,
    unitPrice: line.unitPrice,
    // The widget loads only https images (or the page's own): another one is left out rather
    // than making the whole overlay invalid.
    ...(line.imageUrl && isOverlayUrl(line.imageUrl) ? { imageUrl: line.imageUrl } : {}),
  }));
  const askEmail = rules.exitModal.captureEmail && !request.known.email;
  const askPhone = rules.exitModal.capturePhone && !request.known.phone;
  const payload = {
    // The kind is in the id, so analytics can tell overlay events apart by what was shown.
    overlayId: `ov_${kind === 'exit_modal' ? 'exit' : 'slide'}_${randomBytes(12).toString('base64url')}`,
    kind,
    locale,
    texts: overlayTextsFor(locale, rules.texts[locale]),
    theme: rules.theme,
    cart: { currency, lines, subtotal: cart.valueMinor },
    ...(request.discount
      ? {
          discount: {
            code: request.discount.code,
            expiresAt: request.discount.expiresAt.toISOString(),
            label: discountLabel(request.discount, cart.currency, locale),
          },
        }
      : {}),
    checkoutUrl: linkable(request.checkoutUrl),
    ...(kind === 'exit_modal' && (askEmail || askPhone)
      ? {
          capture: {
            email: askEmail,
            phone: askPhone,
            consentText: rules.consent?.text ?? defaultConsent[locale],
            consentVersion: rules.consent?.version ?? defaultConsentVersion,
          },
        }
      : {}),
    ...(kind === 'exit_modal' && rules.exitModal.askReason ? { askReason: true } : {}),
  };
  return overlayPayload.parse(payload);
}
