import type { EventType } from '@winback/shared';
import { cartFilled, cartId, cartTotals, clearCart, loadCart, updateCart } from './cart.js';
import { endpoints, sensitivityFactor } from './config.js';
import { identifyShopper, loadConsent, setConsent } from './consent.js';
import { deviceContext, pageContext } from './context.js';
import { watchExitIntent } from './exit-intent.js';
import { anonymousId, loadIds, sessionId, ulid } from './ids.js';
import { enqueue, loadQueue } from './queue.js';
import { guard, listen, unlisten, warn } from './safe.js';
import { closeTransport, openTransport, pump } from './transport.js';
import type { Cart, Consent, Identity, InitOptions, TrackArgs, TrackProps } from './types.js';

export { on } from './transport.js';

// The page-wide sdk: one per page, as the script tag makes it. Calls made before `init` wait
// for it (up to 100), so a page can report its cart from whatever code runs first. After
// `init`, every call is guarded: a problem becomes a warning, never an exception.

let started = false;
/** Calls made before `init`, by command name. */
const early: [string, unknown[]][] = [];
let rearm = () => {};

/**
 * Queues an event and sends it when it can. The event is a copy (through JSON, as it will travel)
 * that the page cannot change afterwards, e.g. by reusing the cart object it passed.
 */
function send(type: EventType, fields: object): void {
  const ts = Date.now();
  const event = {
    ...fields,
    id: ulid(ts),
    type,
    ts,
    sessionId: sessionId(ts),
    anonymousId,
    cartId: cartId(),
  };
  if (enqueue(JSON.parse(JSON.stringify(event)))) pump();
}

const pageView = () => send('page_view', { page: pageContext(), device: deviceContext() });

/** What each command does once the sdk has started (`call` guards it). */
const commands: Record<string, (...args: never[]) => void> = {
  cart(snapshot: Cart) {
    const fields = updateCart(snapshot);
    if (fields) send('cart_updated', fields);
  },
  track(type: keyof TrackProps, props?: object) {
    if (type === 'page_view') {
      rearm();
      pageView();
    } else if (/^(identify|consent|cart)/.test(type)) {
      // Contact details must go through identify(), where consent is checked.
      warn(6, type);
    } else {
      send(type, type === 'checkout_started' ? { ...cartTotals(), ...props } : { ...props });
      // The order is attributed to this cart; the next cart is a new one.
      if (type === 'order_completed') clearCart();
    }
  },
  identify: identifyShopper,
  consent(flags: Consent) {
    setConsent(flags, 'site');
  },
};

/**
 * Runs the command `name` (`cart`, `track`, `identify` or `consent`) with `args`: guarded once
 * `init` has run, queued until then (up to 100 calls). An unknown name warns (W5).
 *
 * @example
 *   call('track', ['checkout_started']);
 */
export function call(name: string, args: unknown[]): void {
  const command = commands[name];
  if (!command) warn(5, name);
  else if (started) guard(command)(...(args as never[]));
  else if (early.length < 100) early.push([name, args]);
}

/**
 * Starts the sdk: checks the options, opens the connection, sends a `page_view` and starts
 * watching for exit intent. Throws if `key` or `endpoint` is wrong; a second call is ignored
 * with a warning.
 *
 * @example
 *   import { init } from '@winback/sdk';
 *   init({ key: 'pk_live_abc123def456ghi789jkl0', endpoint: 'https://winback.example.com' });
 */
export function init(options: InitOptions): void {
  if (started) {
    warn(3);
    return;
  }
  const urls = endpoints(options);
  const { exitIntent = 'cart' } = options;
  started = true;
  guard(() => {
    loadIds();
    loadCart();
    loadQueue(`wb_q_${options.key}`);
    openTransport(urls);
    loadConsent(send);
    if (exitIntent) {
      rearm = watchExitIntent(
        guard((signal) => send('exit_intent', { signal })),
        sensitivityFactor(options.sensitivity),
        () => exitIntent === 'always' || cartFilled(),
      );
    }
    // A page restored from the back-forward cache is a new visit to it.
    listen<PageTransitionEvent>(window, 'pageshow', (event) => {
      if (event.persisted) call('track', ['page_view']);
    });
    if (options.pageView !== false) pageView();
  })();
  for (const [name, args] of early.splice(0)) call(name, args);
}

/**
 * Reports the whole cart. Call it whenever the cart changes (and on pages that show it); the
 * sdk works out what changed since the last snapshot and does not resend an unchanged cart.
 *
 * @example
 *   cart({
 *     currency: 'EUR',
 *     lines: [{ id: 'line-1', title: 'Sunrise mug', quantity: 2, unitPrice: 1800 }],
 *   });
 */
export const cart = (snapshot: Cart): void => call('cart', [snapshot]);

/**
 * Sends a checkout, order, overlay or exit-intent event. `page_view` reads the page again (call
 * it on single-page-app navigation); after `order_completed` the next cart is a new cart.
 *
 * @example
 *   track('checkout_started');
 *   track('checkout_step', { step: 'shipping', index: 1 });
 *   track('order_completed', { orderId: '1001', value: 3600, currency: 'EUR' });
 */
export const track = <T extends keyof TrackProps>(type: T, ...props: TrackArgs<T>): void =>
  call('track', [type, ...props]);

/**
 * Tells who the shopper is. Nothing leaves the browser without consent: an email needs `email`
 * consent and a phone `sms` consent, and until then the latest identity waits in memory (never
 * in storage).
 *
 * @example
 *   identify({ email: 'jane@example.com', firstName: 'Jane' });
 */
export const identify = (identity: Identity): void => call('identify', [identity]);

/**
 * Records the shopper's marketing consent per channel, with the version of the consent text they
 * saw (required to grant). Channels left out keep their value. The site cannot grant while the
 * browser sends Global Privacy Control.
 *
 * @example
 *   consent({ email: true, textVersion: '2026-11-01' });
 *   consent({ email: false }); // withdraw
 */
export const consent = (flags: Consent): void => call('consent', [flags]);

/** Stops the sdk and removes its listeners, so `init` may run again (tests, teardown). */
export function destroy(): void {
  started = false;
  early.length = 0;
  rearm = () => {};
  closeTransport();
  unlisten();
}
