import type { EventType } from '@winback/shared';
import { cartFilled, cartId, cartTotals, clearCart, loadCart, updateCart } from './cart.js';
import { endpoints } from './config.js';
import { deviceContext, pageContext } from './context.js';
import { anonymousId, loadIds, sessionId, ulid } from './ids.js';
import { type LazyPart, loadLazy } from './lazy.js';
import { enqueue, loadQueue } from './queue.js';
import { guard, listen, unlisten, warn } from './safe.js';
import { persist, read } from './storage.js';
import { closeTransport, on, openTransport, pump } from './transport.js';
import type { Cart, Consent, Identity, InitOptions, TrackArgs, TrackProps } from './types.js';

export { on };

// The page-wide sdk: one per page, as the script tag makes it. Calls made before `init` wait
// for it (up to 100), so a page can report its cart from whatever code runs first. After
// `init`, every call is guarded: a problem becomes a warning, never an exception.
//
// What most pages never need is in the lazy part (`entrypoints/lazy.ts`), loaded the first time
// a page needs it: exit intent once the cart has lines (or on every page with `exitIntent:
// 'always'`), consent and identify when the site calls them (or the browser sends Global Privacy
// Control), the HTTP fallback when the socket cannot open. A `consent()` or `identify()` call
// waits for it, and every call after it waits behind it, so events keep the order of the calls.

/** `init`'s options; set once the sdk has started. */
let options: InitOptions | undefined;
/** Calls waiting for `init`, or behind a call that waits for the lazy part: run in order. */
const waiting: [string, unknown[]][] = [];
/** A call waits for the lazy part. */
let blocked = false;
let loadPart = loadLazy;
let loading: Promise<LazyPart | undefined> | undefined;
/** Re-arms exit intent (a new page of a single-page app); the lazy part sets it. */
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

/**
 * The lazy part, loaded the first time something needs it and then linked to the core, which
 * reads the stored consent and starts watching for exit intent. A failed load warns (W14) and
 * gives nothing; the next need tries again.
 */
const lazy = (): Promise<LazyPart | undefined> =>
  (loading ||= loadPart().then(
    (part) => {
      rearm = part.link(
        [warn, listen, persist, read],
        guard(send),
        options as InitOptions,
        cartFilled,
      );
      return part;
    },
    (error): undefined => {
      loading = undefined;
      warn(14, error);
    },
  ));

/**
 * Loads the lazy part as soon as it is sure to be needed: for exit intent on every page, or once
 * the cart has lines; for the consent_changed that Global Privacy Control may call for.
 */
function preload(): void {
  const { exitIntent } = options as InitOptions;
  if (
    exitIntent === 'always' ||
    (exitIntent !== false && cartFilled()) ||
    (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl
  ) {
    lazy();
  }
}

/**
 * Runs a command of the lazy part once the part is here, and then the calls made meanwhile, in
 * order. Without the part (it failed to load) the command is dropped: W14 has said so.
 */
function later(name: 'identify' | 'consent', args: unknown[]): void {
  blocked = true;
  lazy().then((part) => {
    blocked = false;
    if (part) guard(part[name] as (...args: unknown[]) => void)(...args);
    replay();
  });
}

/** What each command does once the sdk has started (`call` guards it). */
const commands: Record<string, (...args: never[]) => void> = {
  cart(snapshot: Cart) {
    const fields = updateCart(snapshot);
    if (fields) {
      send('cart_updated', fields);
      preload();
    }
  },
  track(type: keyof TrackProps, props?: object) {
    if (type === 'page_view') {
      rearm();
      pageView();
    } else if (/^(identify|consent|cart)/.test(type)) {
      // Contact details must go through identify(), where consent is checked.
      warn(6, type);
    } else {
      send(type, { ...(type === 'checkout_started' && cartTotals()), ...props });
      // The order is attributed to this cart; the next cart is a new one.
      if (type === 'order_completed') clearCart();
    }
  },
  identify: (...args) => later('identify', args),
  consent: (...args) => later('consent', args),
};

/** Runs the calls that waited, in order (one may make the rest wait again). */
function replay(): void {
  for (const [name, args] of waiting.splice(0)) call(name, args);
}

/**
 * Runs the command `name` (`cart`, `track`, `identify` or `consent`) with `args`: guarded once
 * `init` has run, queued until then (up to 100 calls), and behind a call that waits for the lazy
 * part. An unknown name warns (W5).
 *
 * @example
 *   call('track', ['checkout_started']);
 */
export function call(name: string, args: unknown[]): void {
  const command = commands[name];
  if (!command) warn(5, name);
  else if (options && !blocked) guard(command)(...(args as never[]));
  else if (waiting.length < 100) waiting.push([name, args]);
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
export function init(initOptions: InitOptions): void {
  if (options) {
    warn(3);
    return;
  }
  const urls = endpoints(initOptions);
  options = initOptions;
  guard(() => {
    loadIds();
    loadCart();
    loadQueue(`wb_q_${initOptions.key}`);
    openTransport(
      urls,
      lazy,
      // A page restored from the back-forward cache is a new visit to it.
      () => call('track', ['page_view']),
    );
    preload();
    // The server's overlay commands go to the widget, which the lazy part loads.
    if (initOptions.overlays !== false)
      on('command', (command) => lazy().then((part) => part?.overlay(command)));
    if (initOptions.pageView !== false) pageView();
  })();
  replay();
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
  options = loading = undefined;
  blocked = false;
  waiting.length = 0;
  rearm = () => {};
  closeTransport();
  unlisten();
}

/**
 * Replaces how the lazy part loads (tests: a part that comes late, or never). `destroy()` first.
 *
 * @example
 *   loadLazyWith(() => new Promise(() => {})); // never arrives
 */
export const loadLazyWith = (load: () => Promise<LazyPart>): void => {
  loadPart = load;
};
