import type { OverlayPayload, OverlayTexts } from '@winback/shared/overlay';
import type { OverlayAction, WidgetHost } from '../host.js';

/** What every part of an overlay needs: its payload, its texts, and what it can do. */
export interface View {
  payload: OverlayPayload;
  t: OverlayTexts;
  /** Minor units of the cart's currency, formatted for the shopper. */
  money(amount: number): string;
  /** Tracks an `overlay_action` of this overlay. */
  act(action: OverlayAction, reason?: string): void;
  /** Closes the overlay; `dismissed` when the shopper closed it (tracked as `dismiss`). */
  close(dismissed: boolean): void;
  /** Follows "return to checkout" (the link's click handler). */
  checkout(event: MouseEvent): void;
  identify: WidgetHost['identify'];
}

/** A ref that focuses an element once, when it appears (it replaced the focused control). */
export const focusOnMount = (element: HTMLElement | null): void => element?.focus();
