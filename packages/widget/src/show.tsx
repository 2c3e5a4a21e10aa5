import type { OverlayPayload } from '@winback/shared/overlay';
import { createRef, render } from 'preact';
import { problemOf } from './check.js';
import { ExitModal, SlideIn } from './components/overlays.js';
import type { View } from './components/view.js';
import { deepActiveElement, trapTab } from './focus.js';
import { formatMoney, formattingLocale } from './format.js';
import type { OverlayHandle, WidgetHost } from './host.js';
import { canStyle, sheetsFor } from './styles.js';

const NOTHING: OverlayHandle = { close() {} };

/** The overlay on screen, if any: a new one replaces it. */
let current: OverlayHandle | undefined;

function warn(message: string, detail?: unknown): void {
  try {
    console.warn(`[winback] widget: ${message}`, ...(detail === undefined ? [] : [detail]));
  } catch {}
}

/** Calls into the host page, which must never break the overlay. */
function guard(call: () => void): void {
  try {
    call();
  } catch (error) {
    warn('the host failed', error);
  }
}

/**
 * Shows an overlay: `payload` is the `overlay` object of the server's `show_overlay` command,
 * `host` is what the page (the sdk) lets the widget do. Returns a handle to close it from the
 * page's side. Never throws: a payload it cannot show is reported with `console.warn`, and
 * nothing is shown. A second `show()` replaces the overlay on screen.
 *
 * @example
 *   const { show } = await import('https://winback.example.com/sdk/widget.js');
 *   const overlay = show(command.overlay, host);
 *   // later, e.g. the cart was bought in another tab:
 *   overlay.close();
 */
export function show(payload: unknown, host: WidgetHost): OverlayHandle {
  try {
    const problem = problemOf(payload);
    if (problem !== undefined) {
      warn(`invalid overlay payload (${problem || 'not an object'}): nothing shown`);
      return NOTHING;
    }
    if (!canStyle()) {
      warn('this browser has no constructed stylesheets: nothing shown');
      return NOTHING;
    }
    current?.close();
    current = mount(payload as OverlayPayload, host);
    return current;
  } catch (error) {
    warn('could not show the overlay', error);
    return NOTHING;
  }
}

function mount(payload: OverlayPayload, host: WidgetHost): OverlayHandle {
  const { overlayId, cart } = payload;
  const modal = payload.kind === 'exit_modal';
  const opener = deepActiveElement() as HTMLElement | null;
  const element = document.createElement('winback-overlay');
  const shadow = element.attachShadow({ mode: 'open' });
  shadow.adoptedStyleSheets = sheetsFor(payload.theme);
  const dialog = createRef<HTMLDivElement>();
  const locale = formattingLocale(payload.locale, navigator.languages ?? []);
  let closed = false;

  const onKey = (event: KeyboardEvent) => {
    const panel = dialog.current;
    // A page that re-rendered its body took the overlay with it: stop listening, trap nothing.
    if (!panel || !element.isConnected) return close(false);
    if (event.key === 'Escape') {
      // The modal owns Esc while it is open; the page's own Esc handlers do not see it.
      event.stopPropagation();
      event.preventDefault();
      close(true);
    } else if (event.key === 'Tab' && modal) {
      trapTab(event, panel, shadow.activeElement);
    }
  };

  const close = (dismissed: boolean) => {
    if (closed) return;
    closed = true;
    if (current === handle) current = undefined;
    document.removeEventListener('keydown', onKey, true);
    // The slide-in gives focus back only if it had it; the modal always had it. An overlay the
    // page took out of the document itself has nothing to give back.
    const hadFocus = element.isConnected && (modal || shadow.activeElement !== null);
    render(null, shadow);
    element.remove();
    if (dismissed) view.act('dismiss');
    if (hadFocus && opener?.isConnected) opener.focus?.({ preventScroll: true });
  };

  const view: View = {
    payload,
    t: payload.texts,
    money: (amount) => formatMoney(amount, cart.currency, locale),
    act: (action, reason) =>
      guard(() =>
        host.track(
          'overlay_action',
          reason === undefined ? { overlayId, action } : { overlayId, action, reason },
        ),
      ),
    close,
    checkout(event) {
      view.act('checkout');
      // A new tab or window (modifier keys, middle click): the browser follows the link itself.
      if (event.button || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      close(false);
      guard(() => host.navigate(payload.checkoutUrl));
    },
    identify: (identity) => guard(() => host.identify(identity)),
  };

  render(
    modal ? <ExitModal view={view} dialog={dialog} /> : <SlideIn view={view} dialog={dialog} />,
    shadow,
  );
  document.body.append(element);
  if (modal) {
    document.addEventListener('keydown', onKey, true);
    // From its top: a long modal scrolls within the dimmed page, the title first.
    dialog.current?.focus({ preventScroll: true });
  } else {
    shadow.addEventListener('keydown', onKey as EventListener);
  }
  guard(() =>
    host.track(
      'overlay_shown',
      payload.variant === undefined ? { overlayId } : { overlayId, variant: payload.variant },
    ),
  );
  const handle: OverlayHandle = { close: () => close(false) };
  return handle;
}
