import type { Ref } from 'preact';
import { fill } from '../texts.js';
import { Capture } from './capture.js';
import { CheckoutLink, Lines, Logo, Subtotal } from './cart.js';
import { Offer } from './offer.js';
import { Reason } from './reason.js';
import type { View } from './view.js';

/** At most this many lines are listed; the rest are counted ("+ 2 more"). */
const SUMMARY_LINES = 3;

/** The first lines of the cart, and how many more there are. */
function Summary({ view }: { view: View }) {
  const { lines } = view.payload.cart;
  const more = lines.length - SUMMARY_LINES;
  return (
    <>
      <Lines view={view} lines={lines.slice(0, SUMMARY_LINES)} />
      {more > 0 && <p class="small">{fill(view.t.more, { n: more })}</p>}
      <Subtotal view={view} />
    </>
  );
}

function CloseButton({ view }: { view: View }) {
  return (
    <button type="button" class="close" aria-label={view.t.close} onClick={() => view.close(true)}>
      <span aria-hidden="true">×</span>
    </button>
  );
}

/**
 * The exit-intent modal: a modal dialog over a dimmed page. Focus is moved in and kept there by
 * `show()`; a click on the dimmed page closes it like Esc does.
 */
export function ExitModal({ view, dialog }: { view: View; dialog: Ref<HTMLDivElement> }) {
  const { payload, t } = view;
  return (
    // A click on the dimmed page is a pointer shortcut for closing; Esc is the keyboard's.
    // biome-ignore lint/a11y/noStaticElementInteractions: see above
    // biome-ignore lint/a11y/useKeyWithClickEvents: see above
    <div
      class="backdrop"
      onClick={(event) => event.target === event.currentTarget && view.close(true)}
    >
      <div
        ref={dialog}
        class="panel"
        role="dialog"
        aria-modal="true"
        aria-labelledby="wb-title"
        tabIndex={-1}
        lang={payload.locale}
      >
        <CloseButton view={view} />
        <Logo view={view} />
        <h2 id="wb-title">{t.exitTitle}</h2>
        <Summary view={view} />
        {payload.discount && <Offer view={view} discount={payload.discount} />}
        <CheckoutLink view={view} />
        {payload.capture && <Capture view={view} capture={payload.capture} />}
        {payload.askReason && <Reason view={view} />}
        <button type="button" class="secondary" onClick={() => view.close(true)}>
          {t.dismiss}
        </button>
      </div>
    </div>
  );
}

/**
 * The return-visit slide-in: a non-modal dialog in a corner. It does not take focus from the
 * page the shopper came back to; Tab reaches it (last in the page), Esc inside it closes it.
 */
export function SlideIn({ view, dialog }: { view: View; dialog: Ref<HTMLDivElement> }) {
  const { payload, t } = view;
  return (
    <div
      ref={dialog}
      class="slide"
      role="dialog"
      aria-labelledby="wb-title"
      tabIndex={-1}
      lang={payload.locale}
    >
      <CloseButton view={view} />
      <Logo view={view} />
      <h2 id="wb-title">{t.slideTitle}</h2>
      <p>{t.slideBody}</p>
      <Summary view={view} />
      {payload.discount && <Offer view={view} discount={payload.discount} />}
      <CheckoutLink view={view} />
    </div>
  );
}
