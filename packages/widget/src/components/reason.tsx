import type { OverlayReason } from '@winback/shared/overlay';
import { Component } from 'preact';
import { focusOnMount, type View } from './view.js';

/** The schema's `overlayReasons`, in the order shown (zod stays out of the bundle: a test compares). */
export const reasons: readonly OverlayReason[] = [
  'shipping_cost',
  'just_browsing',
  'price',
  'payment',
  'other',
];

/** "Why are you leaving?": one tap answers, tracked as `overlay_action` `reason`. */
export class Reason extends Component<{ view: View }, { answered?: boolean }> {
  render({ view }: { view: View }) {
    const { t } = view;
    if (this.state.answered) {
      // The tapped button is gone: focus goes to the thanks, not to the page behind the modal.
      return (
        <p tabIndex={-1} ref={focusOnMount}>
          {t.reasonThanks}
        </p>
      );
    }
    return (
      <fieldset>
        <legend>{t.reasonQuestion}</legend>
        <div class="chips">
          {reasons.map((reason) => (
            <button
              key={reason}
              type="button"
              onClick={() => {
                view.act('reason', reason);
                this.setState({ answered: true });
              }}
            >
              {t[`reason_${reason}`]}
            </button>
          ))}
        </div>
      </fieldset>
    );
  }
}
