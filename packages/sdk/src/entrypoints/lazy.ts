// The lazy part of the script-tag build (`dist/winback-lazy-<hash>.js`): what most page views never
// need, in an ES module that the core imports from its own folder the first time a page does
// (see `api.ts`): exit intent once the cart has lines (or with `exitIntent: 'always'`), consent
// and identify once the site calls them (or the browser sends Global Privacy Control), the HTTP
// fallback once the socket cannot open. The npm build bundles it with the rest.
import { type Lent, lend, warn } from '../borrowed.js';
import { identifyShopper, loadConsent, type SendConsentEvent, setConsent } from '../consent.js';
import { sensitivityFactor, watchExitIntent } from '../exit-intent.js';
import type { Command, Consent, Identity, InitOptions } from '../types.js';

export { identifyShopper as identify } from '../consent.js';
export { HttpSocket } from '../http.js';

/** How the lazy part sends its events: the core's `send`. */
export type Send = SendConsentEvent &
  ((type: 'exit_intent' | 'overlay_shown' | 'overlay_action', fields: object) => void);

/**
 * Takes the core's functions and its `send`, reads the stored consent (sending what Global
 * Privacy Control calls for) and, unless `exitIntent: false`, watches for exit intent, which is
 * reported only while `options.exitIntent === 'always'` or `cartFilled()`. Returns `rearm`, for
 * the next page of a single-page app. The core calls it once, when the part has loaded.
 */
export function link(
  core: Lent,
  send: Send,
  options: InitOptions,
  cartFilled: () => boolean,
): () => void {
  lend(core);
  linked = [send, options];
  loadConsent(send);
  return options.exitIntent === false
    ? () => {}
    : watchExitIntent(
        (signal) => send('exit_intent', { signal }),
        sensitivityFactor(options.sensitivity),
        () => options.exitIntent === 'always' || cartFilled(),
      );
}

/** The site's `consent()`. */
export const consent = (flags: Consent): void => setConsent(flags, 'site');

/** The widget module (`@winback/widget`), as far as the sdk uses it. */
interface Widget {
  show(overlay: unknown, host: object): unknown;
}

let widget: Promise<Widget> | undefined;
/** The core's `send` and `init`'s options, from `link`. */
let linked: [Send, InitOptions];

/**
 * Handles a command from the server with the Winback widget, loaded from the server the first
 * time (`<endpoint>/sdk/widget.js`): `prefetch_widget` only loads it, `show_overlay` shows the
 * overlay. The widget reports through the core's `send`; the shopper's opt-in in it is consent
 * from the widget (which Global Privacy Control does not override). A widget that cannot load
 * warns (W15); the next command tries again.
 */
export function overlay(command: Command): void {
  const [send, { endpoint, overlays }] = linked;
  if (overlays === false) return;
  widget ||= import(
    new URL(endpoint.replace(/\/?$/, '/sdk/widget.js'), location as unknown as string).href
  );
  widget.then(
    (module) => {
      if (command.cmd === 'show_overlay') {
        module.show(command.overlay, {
          track: send,
          identify({ consent, ...who }: Identity & { consent: Consent }) {
            setConsent(consent, 'widget');
            identifyShopper(who);
          },
          navigate: (url: string) => location.assign(url),
        });
      }
    },
    (error) => {
      widget = undefined;
      warn(15, error);
    },
  );
}
