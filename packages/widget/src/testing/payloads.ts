import {
  type OverlayLocale,
  type OverlayPayload,
  overlayKinds,
  overlayLocales,
  overlayTextsFor,
} from '@winback/shared/overlay';
import fc from 'fast-check';
import type { CapturedIdentity, OverlayEventProps, WidgetHost } from '../host.js';

// Payloads and a recording host for the widget's tests. Test code only: it imports zod-backed
// helpers from @winback/shared at run time, which the widget itself never does.

/** An exit modal with two lines, a discount, capture and the reason question. */
export function exitModal(overrides: Partial<OverlayPayload> = {}): OverlayPayload {
  const locale: OverlayLocale = overrides.locale ?? 'en';
  return {
    overlayId: 'ov_exit_1',
    kind: 'exit_modal',
    locale,
    texts: overlayTextsFor(locale),
    theme: { primary: '#0b5fff', background: '#ffffff', text: '#111111', radius: 12 },
    cart: {
      currency: 'EUR',
      subtotal: 4600,
      lines: [
        {
          title: 'Sunrise mug',
          variant: 'Orange',
          quantity: 2,
          unitPrice: 1800,
          imageUrl: 'https://cdn.example.com/mug.jpg',
        },
        { title: 'Tea towel', quantity: 1, unitPrice: 1000 },
      ],
    },
    discount: {
      code: 'COMEBACK10',
      expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
      label: '10% off your order',
    },
    checkoutUrl: 'https://winback.example.com/r/abc123',
    capture: {
      email: true,
      phone: true,
      consentText: 'Send me a reminder about my cart by email or SMS.',
      consentVersion: '2026-11-01',
    },
    askReason: true,
    ...overrides,
  };
}

/** A return-visit slide-in with `lineCount` lines and no discount. */
export function slideIn(lineCount = 2, overrides: Partial<OverlayPayload> = {}): OverlayPayload {
  const lines = Array.from({ length: lineCount }, (_, index) => ({
    title: `Item ${index + 1}`,
    quantity: 1,
    unitPrice: 500,
  }));
  return {
    overlayId: 'ov_slide_1',
    kind: 'return_slide_in',
    locale: 'en',
    texts: overlayTextsFor('en'),
    theme: {},
    cart: { currency: 'EUR', subtotal: 500 * lineCount, lines },
    checkoutUrl: '/cart/restore/abc',
    ...overrides,
  };
}

export type TrackCall = {
  [T in keyof OverlayEventProps]: { type: T; props: OverlayEventProps[T] };
}[keyof OverlayEventProps];

/** A host that records what the widget asked of it. */
export function recordingHost(): WidgetHost & {
  tracked: TrackCall[];
  identified: CapturedIdentity[];
  navigated: string[];
  actions(): string[];
} {
  const tracked: TrackCall[] = [];
  const identified: CapturedIdentity[] = [];
  const navigated: string[] = [];
  return {
    tracked,
    identified,
    navigated,
    track: (type, props) => {
      tracked.push({ type, props } as TrackCall);
    },
    identify: (identity) => {
      identified.push(identity);
    },
    navigate: (url) => {
      navigated.push(url);
    },
    actions: () =>
      tracked.flatMap((call) => (call.type === 'overlay_action' ? [call.props.action] : [])),
  };
}

const hex = fc
  .tuple(fc.boolean(), fc.stringMatching(/^[0-9a-fA-F]{6}$/))
  .map(([short, digits]) => `#${short ? digits.slice(0, 3) : digits}`);
const url = fc.oneof(
  fc.webUrl({ validSchemes: ['https'] }),
  fc.webPath().map((path) => `/${path.replace(/^\/+/, '')}`),
  fc.constantFrom('http://localhost:3000/cart', 'http://127.0.0.1/img.png', 'http://[::1]/x'),
);

/** Payloads the schema accepts, of every shape (text, theme and optional parts vary). */
export const validPayload = (): fc.Arbitrary<OverlayPayload> =>
  fc
    .record(
      {
        overlayId: fc.string({ minLength: 1, maxLength: 64 }),
        variant: fc.string({ maxLength: 64 }),
        kind: fc.constantFrom(...overlayKinds),
        locale: fc.constantFrom(...overlayLocales),
        theme: fc.record(
          {
            primary: hex,
            background: hex,
            text: hex,
            fontFamily: fc.constantFrom('Inter, Arial, sans-serif', 'Helvetica Neue', 'serif'),
            radius: fc.integer({ min: 0, max: 32 }),
            logoUrl: url,
          },
          { requiredKeys: [] },
        ),
        cart: fc.record({
          currency: fc.constantFrom('EUR', 'USD', 'JPY', 'KWD', 'GBP'),
          subtotal: fc.integer({ min: 0, max: 10 ** 9 }),
          lines: fc.array(
            fc.record(
              {
                title: fc.string({ minLength: 1, maxLength: 300 }),
                variant: fc.string({ maxLength: 300 }),
                quantity: fc.integer({ min: 1, max: 100_000 }),
                unitPrice: fc.integer({ min: 0, max: 10 ** 7 }),
                imageUrl: url,
              },
              { requiredKeys: ['title', 'quantity', 'unitPrice'] },
            ),
            { minLength: 1, maxLength: 5 },
          ),
        }),
        discount: fc.record({
          code: fc.string({ minLength: 1, maxLength: 64 }),
          expiresAt: fc
            .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
            .map((date) => date.toISOString()),
          label: fc.string({ minLength: 1, maxLength: 200 }),
        }),
        checkoutUrl: url,
        capture: fc
          .record({
            email: fc.boolean(),
            phone: fc.boolean(),
            consentText: fc.string({ minLength: 1, maxLength: 1000 }),
            consentVersion: fc.string({ minLength: 1, maxLength: 64 }),
          })
          .filter((capture) => capture.email || capture.phone),
        askReason: fc.boolean(),
      },
      {
        requiredKeys: ['overlayId', 'kind', 'locale', 'theme', 'cart', 'checkoutUrl'],
      },
    )
    .map((payload) => ({ ...payload, texts: overlayTextsFor(payload.locale) }));
