import {
  overlayPayload,
  overlayReasons,
  isOverlayUrl as schemaUrlRule,
} from '@winback/shared/overlay';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOverlayPayload, isOverlayUrl, problemOf } from './check.js';
import { reasons } from './components/reason.js';
import { exitModal, slideIn, validPayload } from './testing/payloads.js';

describe("the widget's own payload check", () => {
  it('accepts every payload the schema accepts', () => {
    fc.assert(
      fc.property(validPayload(), (payload) => {
        expect(overlayPayload.safeParse(payload).error).toBeUndefined();
        expect(problemOf(payload)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    expect(isOverlayPayload(exitModal())).toBe(true);
    expect(isOverlayPayload(slideIn())).toBe(true);
  });

  it('refuses what it could not show safely, naming where', () => {
    const base = exitModal();
    const cases: [unknown, string][] = [
      [null, 'overlay'],
      ['overlay', 'overlay'],
      [[base], 'overlay'],
      [{ ...base, checkoutUrl: 'javascript:alert(1)' }, 'overlay.checkoutUrl'],
      [{ ...base, checkoutUrl: '//evil.example/r' }, 'overlay.checkoutUrl'],
      [{ ...base, checkoutUrl: 'http://shop.example/r' }, 'overlay.checkoutUrl'],
      [{ ...base, theme: { primary: 'red;}*{display:none' } }, 'overlay.theme.primary'],
      [{ ...base, theme: { background: 'url(https://x)' } }, 'overlay.theme.background'],
      [{ ...base, theme: { fontFamily: 'x;}:host{display:none' } }, 'overlay.theme.fontFamily'],
      [{ ...base, theme: { fontFamily: '"Comic Sans"' } }, 'overlay.theme.fontFamily'],
      [{ ...base, theme: { radius: '8px' } }, 'overlay.theme.radius'],
      [{ ...base, theme: { logoUrl: 'data:image/svg+xml,<svg/>' } }, 'overlay.theme.logoUrl'],
      [{ ...base, theme: undefined }, 'overlay.theme'],
      [{ ...base, kind: 'popup' }, 'overlay.kind'],
      [{ ...base, locale: 'it' }, 'overlay.locale'],
      [{ ...base, texts: undefined }, 'overlay.texts'],
      [{ ...base, texts: 'Wait!' }, 'overlay.texts'],
      [{ ...base, texts: null }, 'overlay.texts'],
      [{ ...base, texts: { ...base.texts, close: 1 } }, 'overlay.texts'],
      [{ ...base, cart: { ...base.cart, currency: 'eur' } }, 'overlay.cart.currency'],
      [{ ...base, cart: { ...base.cart, currency: 'E1R' } }, 'overlay.cart.currency'],
      [{ ...base, cart: { ...base.cart, lines: [] } }, 'overlay.cart.lines'],
      [{ ...base, cart: { ...base.cart, lines: {} } }, 'overlay.cart.lines'],
      [
        { ...base, cart: { ...base.cart, lines: Array(101).fill(base.cart.lines[1]) } },
        'overlay.cart.lines',
      ],
      [
        {
          ...base,
          cart: {
            ...base.cart,
            lines: [base.cart.lines[0], { ...base.cart.lines[1], imageUrl: 'javascript:x' }],
          },
        },
        'overlay.cart.lines.1.imageUrl',
      ],
      [
        { ...base, cart: { ...base.cart, lines: [{ ...base.cart.lines[1], unitPrice: 9.99 }] } },
        'overlay.cart.lines.0.unitPrice',
      ],
      [
        { ...base, cart: { ...base.cart, lines: [{ ...base.cart.lines[1], quantity: 0 }] } },
        'overlay.cart.lines.0.quantity',
      ],
      [{ ...base, cart: { ...base.cart, subtotal: -1 } }, 'overlay.cart.subtotal'],
      [
        { ...base, discount: { ...base.discount, expiresAt: 'soon' } },
        'overlay.discount.expiresAt',
      ],
      [{ ...base, discount: { ...base.discount, code: '' } }, 'overlay.discount.code'],
      [{ ...base, capture: { ...base.capture, email: false, phone: false } }, 'overlay.capture'],
      [
        { ...base, capture: { ...base.capture, consentVersion: undefined } },
        'overlay.capture.consentVersion',
      ],
      [{ ...base, askReason: 'yes' }, 'overlay.askReason'],
      [{ ...base, overlayId: '' }, 'overlay.overlayId'],
    ];
    for (const [payload, where] of cases) {
      expect(problemOf(payload), where).toBe(where);
      // The schema refuses them all too: the two agree on what is wrong.
      expect(overlayPayload.safeParse(payload).success, where).toBe(false);
    }
  });

  it('ignores fields it does not know, which the server never sends', () => {
    expect(problemOf({ ...exitModal(), future: { a: 1 } })).toBeUndefined();
  });
});

describe('isOverlayUrl', () => {
  it('is the schema rule, for any string', () => {
    const candidates = fc.oneof(
      fc.string(),
      fc.webUrl({ validSchemes: ['https', 'http', 'javascript', 'data', 'ftp'] }),
      fc.webPath(),
      fc.constantFrom('/', '//', '/\\', 'http://localhost', 'http://[::1]/', 'https://'),
      fc
        .tuple(fc.constantFrom('/', 'https://a.example/', 'javascript:'), fc.string())
        .map(([start, rest]) => start + rest),
    );
    fc.assert(
      fc.property(candidates, (value) => isOverlayUrl(value) === schemaUrlRule(value)),
      { numRuns: 2000 },
    );
    expect(isOverlayUrl(undefined)).toBe(false);
    expect(isOverlayUrl(`https://a.example/${'x'.repeat(2048)}`)).toBe(false);
  });
});

describe('reasons', () => {
  it('are the schema reasons, in order', () => {
    expect(reasons).toEqual(overlayReasons);
  });
});
