import { eventId, overlayActionEvent, overlayShownEvent, type TrackedEvent } from '@winback/shared';
import { overlayTextsFor } from '@winback/shared/overlay';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { show } from './show.js';
import { exitModal, recordingHost, slideIn, type TrackCall } from './testing/payloads.js';

// The widget as the sdk uses it: `show(payload, host)` in a page (happy-dom), looked at from
// the shopper's side (what the shadow root shows, where focus is) and from the host's (what it
// was asked to track, identify and navigate to).

const overlays = () => document.querySelectorAll('winback-overlay');
const root = (): ShadowRoot => {
  const shadow = document.querySelector('winback-overlay')?.shadowRoot;
  if (!shadow) throw new Error('no overlay on the page');
  return shadow;
};
const dialog = () => root().querySelector<HTMLElement>('[role="dialog"]')!;
const text = () => dialog().textContent ?? '';
const byText = <T extends HTMLElement = HTMLButtonElement>(label: string, selector = 'button') => {
  const found = [...root().querySelectorAll<T>(selector)].find(
    (element) => element.textContent === label || element.getAttribute('aria-label') === label,
  );
  if (!found) throw new Error(`no ${selector} "${label}"`);
  return found;
};
const input = (name: string) => root().querySelector<HTMLInputElement>(`input[name="${name}"]`)!;
const press = (key: string, init: KeyboardEventInit = {}) => {
  const target = root().activeElement ?? document.activeElement ?? document.body;
  const event = new KeyboardEvent('keydown', {
    key,
    bubbles: true,
    cancelable: true,
    composed: true,
    ...init,
  });
  target.dispatchEvent(event);
  return event;
};
/** Lets Preact apply a state change (it re-renders in a microtask). */
const rendered = () => new Promise((resolve) => setTimeout(resolve, 0));

let warn: ReturnType<typeof vi.spyOn>;

beforeEach(() => {
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
});

afterEach(() => {
  for (const overlay of overlays()) overlay.remove();
  document.body.replaceChildren();
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('the exit modal', () => {
  it('shows the cart in a labelled modal dialog inside a shadow root on the body', () => {
    const host = recordingHost();
    show(exitModal(), host);

    const element = overlays()[0]!;
    expect(element.parentElement).toBe(document.body);
    const panel = dialog();
    expect(panel.getAttribute('aria-modal')).toBe('true');
    const title = root().getElementById(panel.getAttribute('aria-labelledby')!);
    expect(title?.textContent).toBe('Wait, your cart is still here');
    expect(panel.getAttribute('lang')).toBe('en');

    const lines = [...root().querySelectorAll('li')].map((line) => line.textContent);
    expect(lines).toEqual(['Sunrise mugOrangeQty 2€36.00', 'Tea towelQty 1€10.00']);
    expect(root().querySelector('li img')?.getAttribute('src')).toBe(
      'https://cdn.example.com/mug.jpg',
    );
    expect(root().querySelector('li img')?.getAttribute('alt')).toBe('');
    expect(root().querySelector('.total')?.textContent).toBe('Subtotal€46.00');
    expect(text()).toContain('COMEBACK10');
    expect(text()).toContain('10% off your order');
    expect(byText<HTMLAnchorElement>('Return to checkout', 'a').getAttribute('href')).toBe(
      'https://winback.example.com/r/abc123',
    );
    expect(host.tracked).toEqual([{ type: 'overlay_shown', props: { overlayId: 'ov_exit_1' } }]);
  });

  it('is styled only by constructed stylesheets carrying the theme', () => {
    show(exitModal(), recordingHost());
    const shadow = root();
    expect(shadow.adoptedStyleSheets).toHaveLength(2);
    const css = shadow.adoptedStyleSheets
      .flatMap((sheet) => [...sheet.cssRules].map((rule) => rule.cssText))
      .join('\n');
    expect(css).toContain('--wb-primary');
    expect(css).toContain('#0b5fff');
    expect(css).toMatch(/all:\s*initial/);
    expect(shadow.querySelectorAll('style, link, [style]')).toHaveLength(0);
    expect(document.querySelectorAll('style, [style]')).toHaveLength(0);
  });

  it('speaks the payload language, with the store overrides the server merged in', () => {
    show(
      exitModal({
        locale: 'de',
        texts: overlayTextsFor('de', { checkout: 'Jetzt bezahlen' }),
        cart: { currency: 'EUR', subtotal: 123456, lines: [exitModal().cart.lines[1]!] },
      }),
      recordingHost(),
    );
    expect(root().getElementById('wb-title')?.textContent).toBe(
      'Warte, dein Warenkorb ist noch da',
    );
    expect(byText('Jetzt bezahlen', 'a')).toBeTruthy();
    expect(byText('Nein, danke')).toBeTruthy();
    expect(byText('Code kopieren')).toBeTruthy();
    expect(dialog().getAttribute('lang')).toBe('de');
    // German number formatting, the currency's two decimals.
    expect(root().querySelector('.total')?.textContent).toBe('Zwischensumme1.234,56\u00a0€');
  });

  it('formats money with the currency minor units (JPY none, KWD three)', () => {
    show(
      exitModal({
        cart: {
          currency: 'JPY',
          subtotal: 1500,
          lines: [{ title: 'Tea', quantity: 3, unitPrice: 500 }],
        },
      }),
      recordingHost(),
    );
    expect(root().querySelector('.total')?.textContent).toBe('Subtotal¥1,500');
    show(
      exitModal({
        cart: {
          currency: 'KWD',
          subtotal: 12345,
          lines: [{ title: 'Tea', quantity: 1, unitPrice: 12345 }],
        },
      }),
      recordingHost(),
    );
    expect(root().querySelector('.price')?.textContent).toBe('KWD\u00a012.345');
  });

  it('counts down to the code expiry every second, then says it has expired', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-22T12:00:00Z') });
    show(
      exitModal({
        discount: { code: 'SOON', expiresAt: '2026-11-22T12:01:01Z', label: '5% off' },
      }),
      recordingHost(),
    );
    const timer = () => root().querySelector('[role="timer"]')?.textContent;
    expect(timer()).toBe('Expires in 1:01');
    await vi.advanceTimersByTimeAsync(1000);
    expect(timer()).toBe('Expires in 1:00');
    await vi.advanceTimersByTimeAsync(59_000);
    expect(timer()).toBe('Expires in 0:01');
    await vi.advanceTimersByTimeAsync(1000);
    expect(timer()).toBe('This code has expired');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('shows hours when the code lives longer than an hour', () => {
    vi.useFakeTimers({ now: new Date('2026-11-22T12:00:00Z') });
    show(
      exitModal({
        discount: { code: 'LATER', expiresAt: '2026-11-23T14:05:09+01:00', label: '5% off' },
      }),
      recordingHost(),
    );
    expect(root().querySelector('[role="timer"]')?.textContent).toBe('Expires in 25:05:09');
  });

  it('copies the code to the clipboard and says so', async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal('navigator', { ...navigator, languages: ['en-GB'], clipboard: { writeText } });
    const host = recordingHost();
    show(exitModal(), host);
    byText('Copy code').click();
    await vi.waitFor(() =>
      expect(root().querySelector('[role="status"]')?.textContent).toBe('Code copied'),
    );
    expect(writeText).toHaveBeenCalledWith('COMEBACK10');
    expect(host.actions()).toEqual(['copy_code']);
  });

  it('tells the shopper to copy by hand when the clipboard is refused or missing', async () => {
    const writeText = vi.fn(async () => {
      throw new DOMException('denied', 'NotAllowedError');
    });
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    show(exitModal(), recordingHost());
    byText('Copy code').click();
    await vi.waitFor(() =>
      expect(root().querySelector('[role="status"]')?.textContent).toBe(
        "Couldn't copy: select the code and copy it yourself.",
      ),
    );

    vi.stubGlobal('navigator', { ...navigator, clipboard: undefined });
    show(exitModal({ locale: 'fr', texts: overlayTextsFor('fr') }), recordingHost());
    byText('Copier le code').click();
    await vi.waitFor(() =>
      expect(root().querySelector('[role="status"]')?.textContent).toBe(
        'Copie impossible\u00a0: sélectionnez le code et copiez-le vous-même.',
      ),
    );
  });

  it('goes to the checkout through the host, closing itself', () => {
    const host = recordingHost();
    show(exitModal(), host);
    const link = byText<HTMLAnchorElement>('Return to checkout', 'a');
    const click = new MouseEvent('click', { bubbles: true, cancelable: true });
    link.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    expect(host.navigated).toEqual(['https://winback.example.com/r/abc123']);
    expect(host.actions()).toEqual(['checkout']);
    expect(overlays()).toHaveLength(0);
  });

  it('lets the browser open the checkout in a new tab on a modified click', () => {
    const host = recordingHost();
    show(exitModal(), host);
    const click = new MouseEvent('click', { bubbles: true, cancelable: true, ctrlKey: true });
    byText('Return to checkout', 'a').dispatchEvent(click);
    expect(click.defaultPrevented).toBe(false);
    expect(host.navigated).toEqual([]);
    expect(host.actions()).toEqual(['checkout']);
    expect(overlays()).toHaveLength(1);
  });

  it.each([
    ['the close button', () => byText('Close').click()],
    ['"No thanks"', () => byText('No thanks').click()],
    ['Esc', () => press('Escape')],
    [
      'a click on the dimmed page',
      () =>
        root()
          .querySelector('.backdrop')!
          .dispatchEvent(new MouseEvent('click', { bubbles: true })),
    ],
  ])('closes on %s, tracked as a dismiss', (_, close) => {
    const host = recordingHost();
    show(exitModal(), host);
    close();
    expect(overlays()).toHaveLength(0);
    expect(host.actions()).toEqual(['dismiss']);
  });

  it('does not close on a click inside the panel', () => {
    show(exitModal(), recordingHost());
    dialog().click();
    expect(overlays()).toHaveLength(1);
  });

  it('closes from the page side without a dismiss, and a second show replaces the first', () => {
    const host = recordingHost();
    const first = show(exitModal(), host);
    const second = show(exitModal({ overlayId: 'ov_exit_2' }), host);
    expect(overlays()).toHaveLength(1);
    first.close();
    expect(overlays()).toHaveLength(1);
    second.close();
    second.close();
    expect(overlays()).toHaveLength(0);
    expect(host.actions()).toEqual([]);
    expect(host.tracked.map((call) => call.props.overlayId)).toEqual(['ov_exit_1', 'ov_exit_2']);
  });
});

describe('keyboard and focus', () => {
  function pageWithButton() {
    const opener = document.createElement('button');
    opener.textContent = 'Add to cart';
    document.body.append(opener);
    opener.focus();
    return opener;
  }

  it('moves focus into the dialog, traps Tab inside, and gives it back on Esc', () => {
    const opener = pageWithButton();
    show(exitModal(), recordingHost());
    expect(root().activeElement).toBe(dialog());

    const focusable = [...dialog().querySelectorAll<HTMLElement>('a, button, input')];
    const first = focusable[0]!;
    const last = focusable[focusable.length - 1]!;
    expect(first.getAttribute('aria-label')).toBe('Close');
    expect(last.textContent).toBe('No thanks');

    // Shift+Tab from the dialog itself or from the first control wraps to the last.
    expect(press('Tab', { shiftKey: true }).defaultPrevented).toBe(true);
    expect(root().activeElement).toBe(last);
    // Tab from the last wraps to the first.
    expect(press('Tab').defaultPrevented).toBe(true);
    expect(root().activeElement).toBe(first);
    press('Tab', { shiftKey: true });
    expect(root().activeElement).toBe(last);
    // In between, the browser moves focus itself.
    focusable[2]!.focus();
    expect(press('Tab').defaultPrevented).toBe(false);
    // Focus found outside the dialog is brought back in.
    opener.focus();
    expect(press('Tab').defaultPrevented).toBe(true);
    expect(root().activeElement).toBe(first);

    const escaped = press('Escape');
    expect(escaped.defaultPrevented).toBe(true);
    expect(overlays()).toHaveLength(0);
    expect(document.activeElement).toBe(opener);
  });

  it('lets go of the keyboard when the page removed the overlay itself', () => {
    const opener = pageWithButton();
    show(exitModal(), recordingHost());
    document.querySelector('winback-overlay')?.remove();
    opener.focus();
    const tab = new KeyboardEvent('keydown', { key: 'Tab', bubbles: true, cancelable: true });
    opener.dispatchEvent(tab);
    expect(tab.defaultPrevented).toBe(false);
    expect(document.activeElement).toBe(opener);
  });

  it('keeps Esc from the page while it is open', () => {
    pageWithButton();
    const pageSawEscape = vi.fn();
    document.addEventListener('keydown', pageSawEscape);
    show(exitModal(), recordingHost());
    press('Escape');
    expect(pageSawEscape).not.toHaveBeenCalled();
    document.removeEventListener('keydown', pageSawEscape);
  });

  it('returns focus after the close button and after the checkout too', () => {
    const opener = pageWithButton();
    show(exitModal(), recordingHost());
    byText('Close').click();
    expect(document.activeElement).toBe(opener);
  });
});

describe('capture with consent', () => {
  it('starts with the consent box unticked and the store wording beside it', () => {
    show(exitModal(), recordingHost());
    expect(input('consent').checked).toBe(false);
    expect(input('consent').closest('label')?.textContent).toBe(
      'Send me a reminder about my cart by email or SMS.',
    );
    expect(input('email').type).toBe('email');
    expect(input('phone').type).toBe('tel');
  });

  it('sends nothing until the box is ticked, then identifies with consent and its version', async () => {
    const host = recordingHost();
    show(exitModal(), host);
    input('email').value = ' ana@example.com ';
    byText('Save my cart').click();
    await rendered();
    expect(host.identified).toEqual([]);
    expect(root().querySelector('[role="alert"]')?.textContent).toBe('Please tick the box first.');
    expect(root().activeElement).toBe(input('consent'));
    expect(input('consent').getAttribute('aria-invalid')).toBe('true');
    expect(host.actions()).toEqual([]);

    input('consent').click();
    byText('Save my cart').click();
    await rendered();
    expect(host.identified).toEqual([
      { email: 'ana@example.com', consent: { email: true, textVersion: '2026-11-01' } },
    ]);
    expect(host.actions()).toEqual(['capture_submitted']);
    expect(root().querySelector('form')).toBeNull();
    expect(root().activeElement?.textContent).toBe("Thanks! We'll keep your cart for you.");
  });

  it('takes a mobile number as people type it, with SMS consent only', async () => {
    const host = recordingHost();
    show(exitModal(), host);
    input('phone').value = '0044 (7700) 900-123';
    input('consent').click();
    byText('Save my cart').click();
    await rendered();
    expect(host.identified).toEqual([
      { phone: '+447700900123', consent: { sms: true, textVersion: '2026-11-01' } },
    ]);
  });

  it.each([
    ['', '', 'Enter your email or mobile number.', 'email'],
    ['ana@', '', 'Enter a valid email address.', 'email'],
    ['', '12345', 'Enter the number with its country code, e.g. +44 7700 900123.', 'phone'],
  ])('refuses email %j and phone %j', async (email, phone, message, field) => {
    const host = recordingHost();
    show(exitModal(), host);
    input('email').value = email;
    input('phone').value = phone;
    input('consent').click();
    byText('Save my cart').click();
    await rendered();
    expect(root().querySelector('[role="alert"]')?.textContent).toBe(message);
    expect(root().activeElement).toBe(input(field));
    expect(host.identified).toEqual([]);
  });

  it('asks only for what the store wants', () => {
    show(
      exitModal({
        capture: { email: false, phone: true, consentText: 'SMS ok', consentVersion: 'v1' },
      }),
      recordingHost(),
    );
    expect(input('email')).toBeNull();
    expect(input('phone')).not.toBeNull();
  });
});

describe('why are you leaving?', () => {
  it('takes one tap, tracks the reason and thanks the shopper', async () => {
    const host = recordingHost();
    show(exitModal(), host);
    expect(root().querySelector('legend')?.textContent).toBe('Why are you leaving?');
    expect([...root().querySelectorAll('fieldset button')].map((b) => b.textContent)).toEqual([
      'Shipping cost',
      'Just browsing',
      'Price',
      'Payment options',
      'Something else',
    ]);
    byText('Shipping cost').click();
    await rendered();
    expect(host.tracked.at(-1)).toEqual({
      type: 'overlay_action',
      props: { overlayId: 'ov_exit_1', action: 'reason', reason: 'shipping_cost' },
    });
    expect(root().querySelector('fieldset')).toBeNull();
    expect(root().activeElement?.textContent).toBe('Thanks for telling us.');
  });
});

describe('the return-visit slide-in', () => {
  it('summarises the saved cart without taking focus from the page', () => {
    const opener = document.createElement('input');
    document.body.append(opener);
    opener.focus();
    const host = recordingHost();
    show(slideIn(5, { variant: 'warm' }), host);

    const panel = dialog();
    expect(panel.getAttribute('aria-modal')).toBeNull();
    expect(root().getElementById(panel.getAttribute('aria-labelledby')!)?.textContent).toBe(
      'Your cart is saved',
    );
    expect(root().querySelectorAll('li')).toHaveLength(3);
    expect(text()).toContain('+ 2 more');
    expect(root().querySelector('.total')?.textContent).toBe('Subtotal€25.00');
    expect(document.activeElement).toBe(opener);
    expect(root().querySelector('form, fieldset, .backdrop')).toBeNull();
    expect(host.tracked).toEqual([
      { type: 'overlay_shown', props: { overlayId: 'ov_slide_1', variant: 'warm' } },
    ]);
  });

  it('closes on Esc from inside it, and goes to the checkout', () => {
    const host = recordingHost();
    show(slideIn(), host);
    byText('Close').focus();
    press('Escape');
    expect(overlays()).toHaveLength(0);
    show(slideIn(), host);
    byText('Return to checkout', 'a').click();
    expect(host.navigated).toEqual(['/cart/restore/abc']);
    expect(host.actions()).toEqual(['dismiss', 'checkout']);
  });

  it('leaves Esc on the page alone', () => {
    show(slideIn(), recordingHost());
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(overlays()).toHaveLength(1);
  });
});

describe('data is text', () => {
  it('renders markup in titles, variants, codes and store texts as text', () => {
    const attack = '<img src=x onerror="window.attacked=1">';
    show(
      exitModal({
        cart: {
          currency: 'EUR',
          subtotal: 100,
          lines: [{ title: attack, variant: `<b>${attack}</b>`, quantity: 1, unitPrice: 100 }],
        },
        discount: {
          code: attack,
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
          label: attack,
        },
        capture: { email: true, phone: false, consentText: attack, consentVersion: 'v1' },
        texts: overlayTextsFor('en', { exitTitle: attack, dismiss: '<script>alert(1)</script>' }),
      }),
      recordingHost(),
    );
    expect(root().querySelector('.title')?.textContent).toBe(attack);
    expect(root().getElementById('wb-title')?.textContent).toBe(attack);
    expect(root().querySelector('code')?.textContent).toBe(attack);
    expect(byText('<script>alert(1)</script>')).toBeTruthy();
    // The only elements are the widget's own: no image, bold or script came from the data.
    expect(root().querySelectorAll('img, b, script')).toHaveLength(0);
    expect((window as { attacked?: number }).attacked).toBeUndefined();
  });
});

describe('events', () => {
  it('match the wire protocol exactly once the sdk adds the envelope', async () => {
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText: async () => {} } });
    const host = recordingHost();
    show(exitModal({ variant: 'b' }), host);
    byText('Copy code').click();
    byText('Price').click();
    input('email').value = 'ana@example.com';
    input('consent').click();
    byText('Save my cart').click();
    await rendered();
    byText('Return to checkout', 'a').click();
    show(exitModal(), host);
    press('Escape');

    const envelope = {
      id: '01JD2ZK3Q4M5N6P7R8S9T0VWXY',
      ts: Date.UTC(2026, 10, 22),
      sessionId: 'sess_12345678',
      anonymousId: 'anon_12345678',
    };
    expect(eventId.safeParse(envelope.id).success).toBe(true);
    for (const call of host.tracked as TrackCall[]) {
      const schema = call.type === 'overlay_shown' ? overlayShownEvent : overlayActionEvent;
      const event = { ...envelope, type: call.type, ...call.props } as TrackedEvent;
      expect(schema.parse(event)).toEqual(event);
    }
    expect(host.tracked.map((call) => call.props)).toEqual([
      { overlayId: 'ov_exit_1', variant: 'b' },
      { overlayId: 'ov_exit_1', action: 'copy_code' },
      { overlayId: 'ov_exit_1', action: 'reason', reason: 'price' },
      { overlayId: 'ov_exit_1', action: 'capture_submitted' },
      { overlayId: 'ov_exit_1', action: 'checkout' },
      { overlayId: 'ov_exit_1' },
      { overlayId: 'ov_exit_1', action: 'dismiss' },
    ]);
  });

  it('survive a host that throws: the overlay works on and warns', () => {
    const failing = {
      track: () => {
        throw new Error('track broke');
      },
      identify: () => {
        throw new Error('identify broke');
      },
      navigate: () => {
        throw new Error('navigate broke');
      },
    };
    const overlay = show(exitModal(), failing);
    expect(overlays()).toHaveLength(1);
    expect(warn).toHaveBeenCalled();
    byText('Return to checkout', 'a').click();
    expect(overlays()).toHaveLength(0);
    overlay.close();
  });
});

describe('a payload it cannot show', () => {
  it('shows nothing, tracks nothing, throws nothing and warns once, naming the field', () => {
    const host = recordingHost();
    const overlay = show(exitModal({ checkoutUrl: 'javascript:alert(1)' }), host);
    expect(overlays()).toHaveLength(0);
    expect(host.tracked).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('overlay.checkoutUrl');
    expect(() => overlay.close()).not.toThrow();
  });

  it('never throws or shows anything for any value that is not a payload', () => {
    const host = recordingHost();
    fc.assert(
      fc.property(fc.anything(), (value) => {
        show(value, host);
        return overlays().length === 0;
      }),
    );
    expect(host.tracked).toEqual([]);
  });

  it('shows nothing when the browser cannot adopt stylesheets', () => {
    vi.stubGlobal('CSSStyleSheet', undefined);
    show(exitModal(), recordingHost());
    expect(overlays()).toHaveLength(0);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
