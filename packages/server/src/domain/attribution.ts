/**
 * Attribution: whether a purchase after abandonment counts as recovered by a recovery message,
 * and by which one. Pure: the purchase and the messages' opens and clicks in, a verdict out.
 *
 * A purchase is `recovered` when a message was opened or clicked within the store's attribution
 * window before it (the window's both ends included); otherwise the cart simply `converted`.
 * The last touch before the purchase gets the credit; at the same instant a click beats an open,
 * and between messages touched at the same instant the same way, the lower message id wins, so
 * the verdict does not depend on the order touches come in. Touches after the purchase, and
 * touches with an invalid date, do not count.
 *
 * @example
 *   attributePurchase({
 *     purchasedAt: new Date('2026-06-03T10:00:00Z'),
 *     windowDays: 5,
 *     touches: [{ messageId: 'm1', openedAt: new Date('2026-06-02T09:00:00Z'), clickedAt: null }],
 *   });
 *   // { outcome: 'recovered', messageId: 'm1', touchedAt: 2026-06-02T09:00Z, via: 'open' }
 */

export interface MessageTouch {
  messageId: string;
  openedAt: Date | null;
  clickedAt: Date | null;
}

export interface Purchase {
  purchasedAt: Date;
  /** The store's attribution window in days; fractions allowed, NaN or negative count as 0. */
  windowDays: number;
  touches: readonly MessageTouch[];
}

export type Attribution =
  | { outcome: 'recovered'; messageId: string; touchedAt: Date; via: 'click' | 'open' }
  | { outcome: 'converted'; messageId: null; touchedAt: null; via: null };

const dayMs = 86_400_000;
const converted: Attribution = Object.freeze({
  outcome: 'converted',
  messageId: null,
  touchedAt: null,
  via: null,
});

/** Recovered by the last open or click in the window before the purchase, else converted. */
export function attributePurchase(purchase: Purchase): Attribution {
  const purchasedAt = purchase.purchasedAt.getTime();
  if (!Number.isFinite(purchasedAt)) return { ...converted };
  const windowMs = purchase.windowDays > 0 ? purchase.windowDays * dayMs : 0;
  const from = purchasedAt - windowMs;

  let best: { messageId: string; at: number; via: 'click' | 'open' } | null = null;
  for (const touch of purchase.touches) {
    for (const [via, date] of [
      ['click', touch.clickedAt],
      ['open', touch.openedAt],
    ] as const) {
      const at = date?.getTime();
      if (at === undefined || !(at >= from && at <= purchasedAt)) continue;
      const candidate = { messageId: touch.messageId, at, via };
      if (best === null || isLater(candidate, best)) best = candidate;
    }
  }
  if (best === null) return { ...converted };
  return {
    outcome: 'recovered',
    messageId: best.messageId,
    touchedAt: new Date(best.at),
    via: best.via,
  };
}

function isLater(
  a: { messageId: string; at: number; via: 'click' | 'open' },
  b: { messageId: string; at: number; via: 'click' | 'open' },
): boolean {
  if (a.at !== b.at) return a.at > b.at;
  if (a.via !== b.via) return a.via === 'click';
  return a.messageId < b.messageId;
}
