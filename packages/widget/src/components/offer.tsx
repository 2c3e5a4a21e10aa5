import type { OverlayDiscount } from '@winback/shared/overlay';
import { Component, createRef } from 'preact';
import { formatRemaining } from '../format.js';
import { fill } from '../texts.js';
import type { View } from './view.js';

interface OfferProps {
  view: View;
  discount: OverlayDiscount;
}

/** The discount: what it gives, the code with a copy button, and a live countdown. */
export class Offer extends Component<OfferProps, { note: string }> {
  code = createRef<HTMLElement>();

  copy = async () => {
    const { view, discount } = this.props;
    view.act('copy_code');
    try {
      await navigator.clipboard.writeText(discount.code);
      this.setState({ note: view.t.copied });
    } catch {
      // No clipboard (an insecure page) or permission denied: select the code for the shopper.
      this.setState({ note: view.t.copyFailed });
      try {
        getSelection()?.selectAllChildren(this.code.current!);
      } catch {}
    }
  };

  render({ view, discount }: OfferProps) {
    return (
      <div class="offer">
        <p>{discount.label}</p>
        <p class="small">{view.t.code}</p>
        <div class="code">
          <code ref={this.code}>{discount.code}</code>
          <button type="button" onClick={this.copy}>
            {view.t.copy}
          </button>
        </div>
        <Countdown view={view} expiresAt={Date.parse(discount.expiresAt)} />
        <p class="small" role="status">
          {this.state.note}
        </p>
      </div>
    );
  }
}

/**
 * Time left on the code, updated every second. A `timer` is not a live region, so screen
 * readers are not interrupted each second; the expiry is read when the shopper gets to it.
 */
class Countdown extends Component<{ view: View; expiresAt: number }> {
  timer?: ReturnType<typeof setInterval>;

  override componentDidMount() {
    this.timer = setInterval(() => {
      if (Date.now() >= this.props.expiresAt) clearInterval(this.timer);
      this.forceUpdate();
    }, 1000);
  }

  override componentWillUnmount() {
    clearInterval(this.timer);
  }

  render({ view, expiresAt }: { view: View; expiresAt: number }) {
    const left = expiresAt - Date.now();
    return (
      <p class="small" role="timer">
        {left > 0 ? fill(view.t.expiresIn, { time: formatRemaining(left) }) : view.t.expired}
      </p>
    );
  }
}
