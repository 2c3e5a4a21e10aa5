// What the widget renders that Tab can reach: its links all have an href, nothing is disabled,
// and nothing else has a tabindex but -1.
const FOCUSABLE = 'a,button,input';

/** The elements Tab can reach inside `container`, in tab order (the widget sets no positive tabindex). */
export function focusables(container: ParentNode): HTMLElement[] {
  return [...container.querySelectorAll<HTMLElement>(FOCUSABLE)];
}

/**
 * Keeps Tab and Shift+Tab inside a modal dialog: from the last element Tab wraps to the first,
 * from the first (or the dialog itself) Shift+Tab wraps to the last; focus found outside is
 * brought back in. `active` is the focused element as the dialog's shadow root sees it.
 */
export function trapTab(event: KeyboardEvent, dialog: HTMLElement, active: Element | null): void {
  const items = focusables(dialog);
  const first = items[0];
  const last = items[items.length - 1];
  if (!first || !last) {
    event.preventDefault();
    dialog.focus();
    return;
  }
  const inside = active !== null && dialog.contains(active);
  if (
    event.shiftKey ? !inside || active === first || active === dialog : !inside || active === last
  ) {
    event.preventDefault();
    (event.shiftKey ? last : first).focus();
  }
}

/** The focused element, looking into open shadow roots (a store's web components). */
export function deepActiveElement(): Element | null {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}
