import type { OverlayCapture } from '@winback/shared/overlay';
import { Component } from 'preact';
import type { CapturedIdentity } from '../host.js';
import { focusOnMount, type View } from './view.js';

// The protocol's own rules (identify event: zod's email pattern, at most 254 characters, E.164
// phones), so nothing the shopper submits is refused later by the server.
const EMAIL =
  /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export const isEmail = (value: string): boolean => value.length <= 254 && EMAIL.test(value);

/** A phone number as people type it (`+44 7700 900123`, `0044 (7700) 900-123`) in E.164. */
export const toE164 = (value: string): string => value.replace(/[\s().-]/g, '').replace(/^00/, '+');
export const isPhone = (value: string): boolean => E164.test(value);

type Field = 'email' | 'phone' | 'consent';

interface CaptureProps {
  view: View;
  capture: OverlayCapture;
}

interface CaptureState {
  error?: { field: Field; message: string };
  done?: boolean;
}

/**
 * Email and/or mobile number with an unticked consent box and the store's wording. Nothing is
 * sent until the box is ticked; then the host's `identify` gets the contact details with the
 * consent for exactly the channels given and the wording's version.
 */
export class Capture extends Component<CaptureProps, CaptureState> {
  submit = (event: Event) => {
    event.preventDefault();
    const { view, capture } = this.props;
    const { t } = view;
    const form = event.currentTarget as HTMLFormElement;
    const input = (name: Field) => form.elements.namedItem(name) as HTMLInputElement | null;
    const email = input('email')?.value.trim() ?? '';
    const phone = toE164(input('phone')?.value ?? '');
    const problem: [Field, string] | undefined =
      !email && !phone
        ? [capture.email ? 'email' : 'phone', t.contactNeeded]
        : email && !isEmail(email)
          ? ['email', t.emailInvalid]
          : phone && !isPhone(phone)
            ? ['phone', t.phoneInvalid]
            : !input('consent')?.checked
              ? ['consent', t.consentNeeded]
              : undefined;
    if (problem) {
      this.setState({ error: { field: problem[0], message: problem[1] } });
      input(problem[0])?.focus();
      return;
    }
    const identity: CapturedIdentity = { consent: { textVersion: capture.consentVersion } };
    if (email) {
      identity.email = email;
      identity.consent.email = true;
    }
    if (phone) {
      identity.phone = phone;
      identity.consent.sms = true;
    }
    view.identify(identity);
    view.act('capture_submitted');
    this.setState({ done: true });
  };

  render({ view: { t }, capture }: CaptureProps, { error, done }: CaptureState) {
    if (done) {
      // The submit button is gone: focus goes to the thanks, not to the page behind the modal.
      return (
        <p class="offer" tabIndex={-1} ref={focusOnMount}>
          {t.captured}
        </p>
      );
    }
    const described = (field: Field) =>
      error?.field === field ? { 'aria-invalid': true, 'aria-describedby': 'wb-error' } : {};
    return (
      <form onSubmit={this.submit} noValidate aria-labelledby="wb-capture">
        <h3 id="wb-capture">{t.captureTitle}</h3>
        {capture.email && (
          <label>
            {t.email}
            <input type="email" name="email" autocomplete="email" {...described('email')} />
          </label>
        )}
        {capture.phone && (
          <label>
            {t.phone}
            <input type="tel" name="phone" autocomplete="tel" {...described('phone')} />
          </label>
        )}
        <label class="consent">
          <input type="checkbox" name="consent" {...described('consent')} />
          <span>{capture.consentText}</span>
        </label>
        <p id="wb-error" class="error" role="alert">
          {error?.message}
        </p>
        <button type="submit" class="secondary">
          {t.submit}
        </button>
      </form>
    );
  }
}
