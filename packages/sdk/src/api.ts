import type { CommandFrame, EventType, TrackedEvent } from '@winback/shared';
import { cartFilled, cartId, cartTotals, clearCart, loadCart, updateCart } from './cart.js';
import { endpoints, sensitivityFactor } from './config.js';
import { identifyShopper, loadConsent, setConsent } from './consent.js';
import { deviceContext, pageContext, touchDevice } from './context.js';
import { watchExitIntent } from './exit-intent.js';
import { anonymousId, loadIds, sessionId, ulid } from './ids.js';
import { enqueue, loadQueue } from './queue.js';
import { guard, listen, unlisten, warn } from './safe.js';
import { closeTransport, openTransport, pump } from './transport.js';
import type {
  Cart,
  Command,
  CommandName,
  Consent,
  Identity,
  InitOptions,
  TrackArgs,
  TrackProps,
} from './types.js';

// The page-wide sdk: one per page, as the script tag makes it. Calls made before `init` wait
// for it (up to 100), so a page can report its cart from whatever code runs first. After
// `init`, every call is guarded: a problem becomes a warning, never an exception.

let started = false;
type Call = (...args: unknown[]) => void;
let early: [Call, unknown[]][] = [];
let rearm = () => {};
let listeners: [CommandName, (command: Command) => void][] = [];

const run =
  <A extends unknown[]>(callback: (...args: A) => void) =>
  (...args: A): void => {
    if (started) guard(callback)(...args);
    else if (early.length < 100) early.push([callback as unknown as Call, args]);
  };

function send(type: EventType, fields: object): void {
  const event = {
    ...fields,
    id: ulid(),
    type,
    ts: Date.now(),
    sessionId: sessionId(),
    anonymousId: anonymousId(),
    cartId: cartId(),
  } as TrackedEvent;
  if (enqueue(event)) pump();
}

const pageView = () => send('page_view', { page: pageContext(), device: deviceContext() });

function onCommand(command: CommandFrame): void {
  for (const name of ['command', command.cmd]) {
    for (const [wanted, listener] of listeners) if (wanted === name) guard(listener)(command);
  }
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
    openTransport({ ...urls, onCommand });
    loadConsent(send);
    if (exitIntent) {
      rearm = watchExitIntent(
        guard((signal) => send('exit_intent', { signal })),
        {
          mobile: touchDevice(),
          sensitivity: sensitivityFactor(options.sensitivity),
          allowed: () => exitIntent === 'always' || cartFilled(),
        },
      );
    }
    // A page restored from the back-forward cache is a new visit to it.
    listen<PageTransitionEvent>(window, 'pageshow', (event) => {
      if (event.persisted) track('page_view');
    });
    if (options.pageView !== false) pageView();
  })();
  const waiting = early;
  early = [];
  for (const [callback, args] of waiting) run(callback)(...args);
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
export const cart: (snapshot: Cart) => void = run((snapshot: Cart) => {
  const fields = updateCart(snapshot);
  if (fields) send('cart_updated', fields);
});

/**
 * Sends a checkout, order, overlay or exit-intent event. `page_view` reads the page again (call
 * it on single-page-app navigation); after `order_completed` the next cart is a new cart.
 *
 * @example
 *   track('checkout_started');
 *   track('checkout_step', { step: 'shipping', index: 1 });
 *   track('order_completed', { orderId: '1001', value: 3600, currency: 'EUR' });
 */
export const track: <T extends keyof TrackProps>(type: T, ...props: TrackArgs<T>) => void = run(
  (type: keyof TrackProps, props?: object) => {
    if (type === 'page_view') {
      rearm();
      return pageView();
    }
    // Contact details must go through identify(), where consent is checked.
    if (/^(identify|consent|cart)/.test(type)) return warn(6, type);
    send(type, type === 'checkout_started' ? { ...cartTotals(), ...props } : { ...props });
    // The order is attributed to this cart; the next cart is a new one.
    if (type === 'order_completed') clearCart();
  },
);

/**
 * Tells who the shopper is. Nothing leaves the browser without consent: an email needs `email`
 * consent and a phone `sms` consent, and until then the latest identity waits in memory (never
 * in storage).
 *
 * @example
 *   identify({ email: 'jane@example.com', firstName: 'Jane' });
 */
export const identify: (identity: Identity) => void = run((identity: Identity) =>
  identifyShopper(identity, send),
);

/**
 * Records the shopper's marketing consent per channel, with the version of the consent text they
 * saw (required to grant). Channels left out keep their value. The site cannot grant while the
 * browser sends Global Privacy Control.
 *
 * @example
 *   consent({ email: true, textVersion: '2026-11-01' });
 *   consent({ email: false }); // withdraw
 */
export const consent: (flags: Consent) => void = run((flags: Consent) =>
  setConsent(flags, 'site', send),
);

/**
 * Listens to commands from the server: `'show_overlay'`, `'prefetch_widget'`, or `'command'` for
 * all of them. Returns a function that stops listening.
 *
 * @example
 *   const stop = on('show_overlay', (command) => showMyOverlay(command.overlay));
 */
export function on(name: CommandName, listener: (command: Command) => void): () => void {
  const entry: (typeof listeners)[0] = [name, listener];
  listeners.push(entry);
  return () => {
    listeners = listeners.filter((each) => each !== entry);
  };
}

/** Stops the sdk and removes its listeners, so `init` may run again (tests, teardown). */
export function destroy(): void {
  started = false;
  early = [];
  rearm = () => {};
  closeTransport();
  unlisten();
  listeners = [];
}
