import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fontFamily,
  hexColour,
  isOverlayUrl,
  overlayLocaleFor,
  overlayLocales,
  overlayPayload,
  overlayTextKeys,
  overlayTexts,
  overlayTextsFor,
} from './overlay.js';

const payload = {
  overlayId: 'ov_01',
  variant: 'b',
  kind: 'exit_modal',
  locale: 'de',
  texts: overlayTextsFor('de'),
  theme: {
    primary: '#1a73e8',
    background: '#fff',
    text: '#1f2937',
    fontFamily: 'Helvetica Neue, Arial, sans-serif',
    radius: 12,
    logoUrl: 'https://cdn.shop.example/logo.svg',
  },
  cart: {
    currency: 'EUR',
    subtotal: 4600,
    lines: [
      {
        title: 'Sunrise mug',
        variant: 'Orange',
        quantity: 2,
        unitPrice: 1800,
        imageUrl: '/files/mug.jpg',
      },
      { title: 'Tea towel', quantity: 1, unitPrice: 1000 },
    ],
  },
  discount: { code: 'COMEBACK10', expiresAt: '2026-11-22T12:15:00Z', label: '10 % Rabatt' },
  checkoutUrl: 'https://winback.example.com/r/abc',
  capture: { email: true, phone: false, consentText: 'Ja, erinnert mich.', consentVersion: 'v3' },
  askReason: true,
};

describe('overlayPayload', () => {
  it('takes a complete exit modal and a minimal slide-in', () => {
    expect(overlayPayload.parse(payload)).toEqual(payload);
    const { discount, capture, askReason, variant, ...minimal } = payload;
    expect(
      overlayPayload.safeParse({ ...minimal, kind: 'return_slide_in', theme: {} }).success,
    ).toBe(true);
  });

  it('refuses unknown fields, empty carts, float money and a capture that asks for nothing', () => {
    const bad: unknown[] = [
      { ...payload, extra: 1 },
      { ...payload, cart: { ...payload.cart, lines: [] } },
      { ...payload, cart: { ...payload.cart, subtotal: 46.5 } },
      { ...payload, cart: { ...payload.cart, currency: 'EURO' } },
      { ...payload, capture: { ...payload.capture, email: false } },
      { ...payload, kind: 'popup' },
      { ...payload, locale: 'it' },
      { ...payload, discount: { ...payload.discount, expiresAt: 'tomorrow' } },
      { ...payload, theme: { radius: 40 } },
      { ...payload, cart: { ...payload.cart, lines: Array(101).fill(payload.cart.lines[1]) } },
    ];
    for (const value of bad) expect(overlayPayload.safeParse(value).success).toBe(false);
  });

  it('needs every text of the locale, and refuses unknown keys', () => {
    const { exitTitle, ...missing } = payload.texts;
    expect(overlayPayload.safeParse({ ...payload, texts: missing }).success).toBe(false);
    expect(
      overlayPayload.safeParse({ ...payload, texts: { ...payload.texts, shout: 'Hey' } }).success,
    ).toBe(false);
  });
});

describe('values that end up in CSS or in links', () => {
  it('colours are #rgb or #rrggbb and nothing else', () => {
    for (const good of ['#fff', '#1A73e8']) expect(hexColour.safeParse(good).success).toBe(true);
    fc.assert(
      fc.property(fc.string(), (value) => {
        const ok = hexColour.safeParse(value).success;
        return ok === /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(value);
      }),
    );
    for (const bad of ['red', '#ff', 'rgb(0,0,0)', '#fff;}body{x:y', '#ffff']) {
      expect(hexColour.safeParse(bad).success).toBe(false);
    }
  });

  it('fonts are plain name lists: no quotes, semicolons, braces or url()', () => {
    for (const good of ['Inter', 'Helvetica Neue, Arial, sans-serif', 'system-ui,serif']) {
      expect(fontFamily.safeParse(good).success).toBe(true);
    }
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(...';{}()"\'\\<>/:@!'), (before, bad) => {
        return !fontFamily.safeParse(`${before}${bad}x`).success;
      }),
    );
  });

  it('URLs are https, same-origin paths or http on loopback', () => {
    for (const good of [
      'https://shop.example/cart?x=1',
      '/cart/restore/abc',
      '/',
      'http://localhost:3000/r/1',
      'http://127.0.0.1/mug.svg',
      'http://[::1]:8080/',
    ]) {
      expect(isOverlayUrl(good), good).toBe(true);
    }
    for (const bad of [
      'javascript:alert(1)',
      'JAVASCRIPT:alert(1)',
      'data:text/html,<b>x</b>',
      'http://shop.example/cart',
      '//evil.example/x',
      '/\\evil.example/x',
      '/\t/evil.example',
      ' https://shop.example',
      'cart',
      'vbscript:x',
      'https://shop.example/\u0000',
      '',
    ]) {
      expect(isOverlayUrl(bad), JSON.stringify(bad)).toBe(false);
    }
    fc.assert(fc.property(fc.webUrl({ validSchemes: ['https'] }), (url) => isOverlayUrl(url)));
    fc.assert(
      fc.property(fc.webUrl({ validSchemes: ['http', 'ftp', 'ws'] }), (url) => {
        const { hostname } = new URL(url);
        return isOverlayUrl(url) === ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
      }),
    );
  });
});

describe('overlay texts', () => {
  it('have every key in every locale, with the same placeholders as English', () => {
    const placeholders = (text: string) => [...text.matchAll(/\{\w+\}/g)].map(String).sort();
    for (const locale of overlayLocales) {
      expect(Object.keys(overlayTexts[locale]).sort()).toEqual([...overlayTextKeys].sort());
      for (const key of overlayTextKeys) {
        expect(overlayTexts[locale][key].length, `${locale}.${key}`).toBeGreaterThan(0);
        expect(placeholders(overlayTexts[locale][key]), `${locale}.${key}`).toEqual(
          placeholders(overlayTexts.en[key]),
        );
      }
    }
  });

  it('take the store overrides over the defaults, ignoring empty ones', () => {
    const texts = overlayTextsFor('fr', { checkout: 'Payer maintenant', dismiss: '' });
    expect(texts.checkout).toBe('Payer maintenant');
    expect(texts.dismiss).toBe(overlayTexts.fr.dismiss);
    expect(texts.exitTitle).toBe(overlayTexts.fr.exitTitle);
    // The defaults themselves are untouched.
    expect(overlayTexts.fr.checkout).not.toBe('Payer maintenant');
  });

  it('are picked from the browser language when Winback speaks it, else the store locale', () => {
    expect(overlayLocaleFor('de-AT', 'en')).toBe('de');
    expect(overlayLocaleFor('ES', 'en')).toBe('es');
    expect(overlayLocaleFor('it-IT', 'fr')).toBe('fr');
    expect(overlayLocaleFor(undefined, 'de')).toBe('de');
  });
});
