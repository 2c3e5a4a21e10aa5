import { overlayPayload, overlayTextsFor } from '@winback/shared/overlay';
import { describe, expect, it } from 'vitest';
import { readStoreSettings } from '../stores/settings.js';
import {
  buildOverlay,
  defaultConsentVersion,
  discountLabel,
  type OverlayRequest,
  overlayLocale,
} from './overlay.js';

const settings = readStoreSettings({});
const request: OverlayRequest = {
  kind: 'exit_modal',
  cart: {
    id: 'c1',
    externalId: 'cart-1',
    status: 'active',
    score: 0.8,
    valueMinor: 3_600,
    lineCount: 1,
    currency: 'EUR',
    snapshot: {},
    campaignId: null,
  },
  lines: [
    {
      title: 'Sunrise mug',
      variant: 'Orange',
      quantity: 2,
      unitPrice: 1_800,
      imageUrl: 'https://shop.example/mug.png',
      variantId: '123',
    },
  ],
  settings,
  language: 'de-AT',
  discount: null,
  checkoutUrl: 'https://shop.example/cart',
  known: { email: false, phone: false },
};

describe('buildOverlay', () => {
  it('builds an exit modal the widget contract accepts, in the browser’s language', () => {
    const overlay = buildOverlay(request);
    expect(overlayPayload.parse(overlay)).toEqual(overlay);
    expect(overlay).toMatchObject({
      kind: 'exit_modal',
      locale: 'de',
      cart: {
        currency: 'EUR',
        subtotal: 3_600,
        lines: [
          {
            title: 'Sunrise mug',
            variant: 'Orange',
            quantity: 2,
            unitPrice: 1_800,
            imageUrl: 'https://shop.example/mug.png',
          },
        ],
      },
      checkoutUrl: 'https://shop.example/cart',
      capture: { email: true, phone: false, consentVersion: defaultConsentVersion },
      askReason: true,
    });
    expect(overlay.overlayId).toMatch(/^ov_exit_[A-Za-z0-9_-]{16}$/);
    expect(overlay.capture?.consentText).toMatch(/abmelden/);
    // Platform ids are for the restore link, not for the page.
    expect(JSON.stringify(overlay)).not.toContain('variantId');
  });

  it('carries the discount with its expiry and a label in the overlay’s language', () => {
    const expiresAt = new Date('2026-11-23T12:00:00Z');
    const overlay = buildOverlay({
      ...request,
      language: 'fr',
      discount: { code: 'WB-7KQ4-M9XT-2HFD', kind: 'percent', value: 10, expiresAt },
    });
    expect(overlay.discount).toEqual({
      code: 'WB-7KQ4-M9XT-2HFD',
      expiresAt: expiresAt.toISOString(),
      label: '10 % de réduction sur votre commande',
    });
  });

  it('does not ask for contact details the shopper already gave, and the slide-in asks nothing', () => {
    expect(
      buildOverlay({ ...request, known: { email: true, phone: false } }).capture,
    ).toBeUndefined();
    const slide = buildOverlay({ ...request, kind: 'return_slide_in' });
    expect(slide.overlayId).toMatch(/^ov_slide_[A-Za-z0-9_-]{16}$/);
    expect(slide.capture).toBeUndefined();
    expect(slide.askReason).toBeUndefined();
  });

  it('uses the store’s consent wording, texts and theme', () => {
    const custom = readStoreSettings({
      onsite: {
        consent: { text: 'Mails von Mugs & Co.', version: '2026-11' },
        texts: { de: { exitTitle: 'Warte kurz!' } },
        theme: { primary: '#aa3300', radius: 4 },
        exitModal: { capturePhone: true },
      },
    });
    const overlay = buildOverlay({ ...request, settings: custom });
    expect(overlay.capture).toEqual({
      email: true,
      phone: true,
      consentText: 'Mails von Mugs & Co.',
      consentVersion: '2026-11',
    });
    expect(overlay.texts.exitTitle).toBe('Warte kurz!');
    expect(overlay.texts.checkout).toBe(overlayTextsFor('de').checkout);
    expect(overlay.theme).toEqual({ primary: '#aa3300', radius: 4 });
  });

  it('refuses to build what the widget would refuse', () => {
    expect(() => buildOverlay({ ...request, lines: [] })).toThrow();
  });

  it('leaves out images the widget would refuse, and links a plain-http storefront by path', () => {
    const overlay = buildOverlay({
      ...request,
      lines: [{ ...request.lines[0]!, imageUrl: 'http://cdn.example/mug.png' }],
      checkoutUrl: 'http://shop.example/cart/123:2?discount=X',
    });
    expect(overlay.cart.lines[0]!.imageUrl).toBeUndefined();
    expect(overlay.checkoutUrl).toBe('/cart/123:2?discount=X');
  });
});

describe('overlayLocale', () => {
  it('takes the browser’s language the widget speaks, else the store’s, else English', () => {
    expect(overlayLocale(settings, 'es-MX')).toBe('es');
    expect(overlayLocale(readStoreSettings({ locale: 'fr' }), 'it-IT')).toBe('fr');
    expect(overlayLocale(settings, null)).toBe('en');
    expect(overlayLocale(readStoreSettings({ onsite: { locale: 'de' } }), 'es')).toBe('de');
  });
});

describe('discountLabel', () => {
  it('says what the code gives', () => {
    expect(discountLabel({ kind: 'percent', value: 15 }, 'EUR', 'en')).toBe('15% off your order');
    expect(discountLabel({ kind: 'fixed', value: 500 }, 'EUR', 'de')).toBe(
      '5,00\u00a0€ Rabatt auf deine Bestellung',
    );
    expect(discountLabel({ kind: 'free_shipping', value: 0 }, 'EUR', 'es')).toBe(
      'Envío gratis en tu pedido',
    );
  });
});
