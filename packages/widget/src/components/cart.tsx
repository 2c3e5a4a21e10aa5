import type { OverlayLine } from '@winback/shared/overlay';
import { fill } from '../texts.js';
import type { View } from './view.js';

/** The store's logo: decorative, the title says what the overlay is. */
export function Logo({ view }: { view: View }) {
  const { logoUrl } = view.payload.theme;
  return logoUrl ? <img class="logo" src={logoUrl} alt="" /> : null;
}

/** Cart lines: image, title, variant, quantity and the line's total. All data as text. */
export function Lines({ view, lines }: { view: View; lines: OverlayLine[] }) {
  return (
    <ul class="lines">
      {/* No keys: lines have no ids in the payload and never reorder while shown. */}
      {lines.map((line) => (
        <li>
          {line.imageUrl && <img src={line.imageUrl} alt="" />}
          <div class="item">
            <span class="title">{line.title}</span>
            {line.variant && <span>{line.variant}</span>}
            <span>{fill(view.t.quantity, { n: line.quantity })}</span>
          </div>
          <span class="price">{view.money(line.unitPrice * line.quantity)}</span>
        </li>
      ))}
    </ul>
  );
}

export function Subtotal({ view }: { view: View }) {
  return (
    <p class="total">
      <span>{view.t.subtotal}</span>
      <span>{view.money(view.payload.cart.subtotal)}</span>
    </p>
  );
}

/** "Return to checkout": a real link (it can open in a new tab), followed through the host. */
export function CheckoutLink({ view }: { view: View }) {
  return (
    <a class="primary" href={view.payload.checkoutUrl} onClick={view.checkout}>
      {view.t.checkout}
    </a>
  );
}
