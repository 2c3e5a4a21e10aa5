import type { ConsentFlags } from '@winback/shared';
import { warn } from './safe.js';
import { persist, read } from './storage.js';
import type { Consent, Identity } from './types.js';

// Marketing consent, and the contact details that wait for it.
//
// - Anonymous by default: until consent is given, `identify` sends nothing. The latest identity
//   is held in this page's memory only (never in storage) and released when consent arrives.
// - An email address needs `email` consent, a phone number `sms` consent: each goes out only
//   with its own, while the other keeps waiting; `firstName` goes only with one of them. Every
//   `identify` event carries the consent flags and text version it was sent under.
// - Granting needs the `textVersion` of the consent text the shopper saw; withdrawing does not.
//   Channels left out of a `consent()` call keep their value.
// - Consent is kept in first-party storage, so a later page can identify without asking again.
// - Global Privacy Control (`navigator.globalPrivacyControl === true`) turns marketing consent
//   off: the first page that sees it sends `consent_changed` with source `gpc`, and the site's
//   `consent()` cannot grant again while it is on. Only the shopper's own opt-in in the widget
//   can, and that choice is then kept on later pages.

export type SendConsentEvent = (type: 'identify' | 'consent_changed', fields: object) => void;
/** Who changed consent: the site's code, the shopper in the widget, or the browser's GPC. */
export type ConsentSource = 'site' | 'widget' | 'gpc';

interface Saved {
  consent: ConsentFlags;
  source: ConsentSource;
}

const CHANNELS = ['email', 'sms', 'push'] as const;
const gpc = () => (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl === true;

let saved: Saved | undefined;
let held: Identity | undefined;
/** How events leave: set by `loadConsent`. */
let send: SendConsentEvent;

/** Sends what of the waiting identity consent allows; the rest keeps waiting. */
function release(): void {
  const consent = saved?.consent;
  if (held && consent) {
    const fields = { ...held, consent };
    // A field goes out with its own channel's consent (and leaves the waiting identity), or not.
    if (consent.email) held.email = undefined;
    else fields.email = undefined;
    if (consent.sms) held.phone = undefined;
    else fields.phone = undefined;
    if (fields.email || fields.phone) send('identify', fields);
    if (!held.email && !held.phone) held = undefined;
  }
}

/**
 * Records consent from `source`, sends `consent_changed` and releases a waiting identity it
 * allows. Ignored with a warning: the site granting while GPC is on (W9), or a grant without
 * `textVersion` (W8).
 */
export function setConsent(consent: Consent, source: ConsentSource): void {
  const textVersion = consent.textVersion;
  const refusal =
    CHANNELS.some((channel) => consent[channel] === true) &&
    (source === 'site' && gpc() ? 9 : !textVersion && 8);
  if (refusal) {
    warn(refusal);
    return;
  }
  const next: Partial<ConsentFlags> = { ...saved?.consent };
  for (const channel of CHANNELS) {
    if (consent[channel] === !!consent[channel]) next[channel] = consent[channel];
  }
  // A withdrawal records the last text version seen, or "none".
  next.textVersion = `${textVersion || next.textVersion || 'none'}`.slice(0, 64);
  saved = { consent: next as ConsentFlags, source };
  persist('wb_consent', saved);
  send('consent_changed', saved);
  release();
}

/**
 * Reads stored consent, and keeps `sender` as the way consent and identity events leave. Under GPC, the first page that sees it turns marketing consent off (with
 * source `gpc`), unless the shopper opted in through the widget.
 */
export function loadConsent(sender: SendConsentEvent): void {
  send = sender;
  saved = read('wb_consent');
  held = undefined;
  if (gpc() && !/widget|gpc/.test(saved?.source as string)) {
    setConsent({ email: false, sms: false, push: false, textVersion: 'gpc' }, 'gpc');
  }
}

/** Holds the shopper's contact details until consent allows each of them to be sent (W7 without any). */
export function identifyShopper(identity: Identity): void {
  const email = identity.email?.trim();
  // E.164 is a plus and digits; people type spaces, dots, dashes and brackets too.
  const phone = identity.phone?.replace(/[\s().-]/g, '');
  if (email || phone) {
    held = { email, phone, firstName: identity.firstName };
    release();
  } else warn(7);
}
