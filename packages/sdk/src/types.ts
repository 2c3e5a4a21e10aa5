// The public shapes of the sdk's API. They are written out here, rather than re-exported from
// @winback/shared, so that the published `.d.ts` stands alone: the shared types are inferred
// from zod schemas, and re-exporting them would make every npm user resolve zod's types.
// `types.test.ts` checks at compile time that these and the wire protocol agree.

/** One line of the shopper's cart. Money is integer minor units: 1999 is €19.99. */
export interface CartLine {
  /** The line's key in the store's cart (Shopify `key`, Woo `key`, BigCommerce line id). */
  id: string;
  productId?: string;
  variantId?: string;
  sku?: string;
  title: string;
  /** The variant's name as the shopper sees it, e.g. "Large / Blue". */
  variant?: string;
  quantity: number;
  /** Price of one unit, in minor units of the cart's currency. */
  unitPrice: number;
  imageUrl?: string;
  url?: string;
}

/** A full snapshot of the cart, as passed to `cart()`. */
export interface Cart {
  /**
   * The store's own cart id or token. When left out, the sdk makes one when the cart first has
   * lines and keeps it until the order completes.
   */
  id?: string;
  /** ISO 4217 code, e.g. "EUR". */
  currency: string;
  /** Sum of the lines before discounts, shipping and tax; computed from the lines if left out. */
  subtotal?: number;
  lines: CartLine[];
  discountCodes?: string[];
}

/** Contact details for `identify()`. Each leaves the browser only with consent for its channel. */
export interface Identity {
  email?: string;
  /** E.164, e.g. "+447700900123". Sent only with SMS consent. */
  phone?: string;
  firstName?: string;
}

/** Marketing consent per channel, with the version of the consent text the shopper saw. */
export interface Consent {
  email?: boolean;
  sms?: boolean;
  push?: boolean;
  /** Which wording of the consent text the shopper saw, e.g. "2026-11-01". Required to grant. */
  textVersion?: string;
}

/** How an exit intent was noticed, so the precision of each signal can be measured. */
export type ExitSignal = 'mouse_top' | 'scroll_up' | 'tab_hidden' | 'idle' | 'back';

/** Properties of the events a page may send with `track()`, by event type. */
export interface TrackProps {
  /** Page and device context are filled in by the sdk; call it on single-page-app navigation. */
  page_view: Record<string, never>;
  /** `value`/`currency` default to the last cart's subtotal and currency. */
  checkout_started: { value?: number; currency?: string };
  checkout_step: { step: string; index?: number };
  order_completed: { orderId: string; value: number; currency: string };
  exit_intent: { signal: ExitSignal };
  overlay_shown: { overlayId: string; variant?: string };
  overlay_action: {
    overlayId: string;
    action: 'copy_code' | 'checkout' | 'dismiss' | 'capture_submitted' | 'reason';
    reason?: string;
  };
}

/** `track()`'s arguments after the type: props are optional where all their fields are. */
export type TrackArgs<T extends keyof TrackProps> =
  Record<string, never> extends TrackProps[T] ? [props?: TrackProps[T]] : [props: TrackProps[T]];

/** A command the server sends to the page, e.g. to show a recovery overlay. */
export interface Command {
  t: 'cmd';
  cmd: 'show_overlay' | 'prefetch_widget';
  overlay?: Record<string, unknown>;
}

/** What `on()` can listen to: every command, or one kind of command. */
export type CommandName = 'command' | Command['cmd'];

export interface InitOptions {
  /** The store's public key, `pk_...`, from the admin page. */
  key: string;
  /** The Winback server's URL, e.g. "https://winback.example.com" (relative URLs resolve against the page). */
  endpoint: string;
  /**
   * When exit intent is watched: `'cart'` (default) only while the cart has lines, `'always'` on
   * every page, `false` never.
   */
  exitIntent?: 'cart' | 'always' | false;
  /** How readily exit intent fires: `'low'`, `'normal'` (default) or `'high'`. */
  sensitivity?: 'low' | 'normal' | 'high';
  /** Send a `page_view` when `init` runs (default `true`). */
  pageView?: boolean;
  /**
   * Show the server's recovery overlays with the Winback widget (default `true`). With `false`
   * the commands still reach `on()` listeners, for a site that renders its own.
   */
  overlays?: boolean;
}
