import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Attribution, attributePurchase, type MessageTouch } from './attribution.js';

const purchasedAt = new Date('2026-06-10T12:00:00Z');
const before = (hours: number) => new Date(purchasedAt.getTime() - hours * 3_600_000);
const touch = (
  messageId: string,
  openedAt: Date | null,
  clickedAt: Date | null = null,
): MessageTouch => ({ messageId, openedAt, clickedAt });
const attribute = (touches: MessageTouch[], windowDays = 5) =>
  attributePurchase({ purchasedAt, windowDays, touches });

const converted: Attribution = {
  outcome: 'converted',
  messageId: null,
  touchedAt: null,
  via: null,
};

describe('attributePurchase', () => {
  it('recovers a purchase after an open within the window', () => {
    expect(attribute([touch('m1', before(30))])).toEqual({
      outcome: 'recovered',
      messageId: 'm1',
      touchedAt: before(30),
      via: 'open',
    });
  });

  it('counts a purchase with no touches, or none opened or clicked, as converted', () => {
    expect(attribute([])).toEqual(converted);
    expect(attribute([touch('m1', null, null)])).toEqual(converted);
  });

  it('includes both ends of the window', () => {
    expect(attribute([touch('m1', before(5 * 24))])).toMatchObject({ messageId: 'm1' });
    expect(attribute([touch('m1', new Date(before(5 * 24).getTime() - 1))])).toEqual(converted);
    expect(attribute([touch('m1', purchasedAt)])).toMatchObject({ outcome: 'recovered' });
  });

  it('ignores touches after the purchase', () => {
    expect(attribute([touch('m1', new Date(purchasedAt.getTime() + 1))])).toEqual(converted);
    expect(attribute([touch('m1', before(48)), touch('m2', null, before(-1))])).toMatchObject({
      messageId: 'm1',
      via: 'open',
    });
  });

  it('credits the last touch', () => {
    const touches = [touch('first', before(72), before(71)), touch('second', before(24))];
    expect(attribute(touches)).toMatchObject({ messageId: 'second', via: 'open' });
    // A later click on the first message takes the credit back.
    touches.push(touch('first', null, before(2)));
    expect(attribute(touches)).toMatchObject({ messageId: 'first', via: 'click' });
  });

  it('lets a click beat an open at the same instant', () => {
    const same = before(10);
    expect(attribute([touch('opened', same), touch('clicked', null, same)])).toMatchObject({
      messageId: 'clicked',
      via: 'click',
    });
    expect(attribute([touch('m1', same, same)])).toMatchObject({ via: 'click' });
  });

  it('reads a window of 0 days as the purchase instant alone, and NaN or negative as 0', () => {
    expect(attribute([touch('m1', before(1))], 0)).toEqual(converted);
    expect(attribute([touch('m1', purchasedAt)], 0)).toMatchObject({ messageId: 'm1' });
    expect(attribute([touch('m1', before(1))], -3)).toEqual(converted);
    expect(attribute([touch('m1', before(1))], Number.NaN)).toEqual(converted);
    expect(attribute([touch('m1', before(11))], 0.5)).toMatchObject({ messageId: 'm1' });
    expect(attribute([touch('m1', before(13))], 0.5)).toEqual(converted);
  });

  it('ignores invalid dates', () => {
    expect(attribute([touch('m1', new Date(Number.NaN))])).toEqual(converted);
    expect(
      attributePurchase({
        purchasedAt: new Date(Number.NaN),
        windowDays: 5,
        touches: [touch('m1', before(1))],
      }),
    ).toEqual(converted);
  });

  const hourArb = fc.integer({ min: -48, max: 24 * 8 });
  const touchArb = fc.record({
    messageId: fc.constantFrom('m1', 'm2', 'm3'),
    openedAt: fc.option(hourArb.map(before)),
    clickedAt: fc.option(hourArb.map(before)),
  });

  it('credits the latest open or click in the window, whatever the order of touches', () => {
    fc.assert(
      fc.property(
        fc.array(touchArb, { maxLength: 8 }),
        fc.integer({ min: 0, max: 10 }),
        (touches, windowDays) => {
          const result = attribute(touches, windowDays);
          expect(attribute([...touches].reverse(), windowDays)).toEqual(result);
          const from = purchasedAt.getTime() - windowDays * 86_400_000;
          const inWindow = touches
            .flatMap((t) => [t.openedAt, t.clickedAt])
            .filter((d): d is Date => d !== null)
            .map((d) => d.getTime())
            .filter((t) => t >= from && t <= purchasedAt.getTime());
          if (inWindow.length === 0) {
            expect(result).toEqual(converted);
            return;
          }
          expect(result.outcome).toBe('recovered');
          expect(result.touchedAt?.getTime()).toBe(Math.max(...inWindow));
          const credited = touches.filter((t) => t.messageId === result.messageId);
          const viaDate = (t: MessageTouch) => (result.via === 'click' ? t.clickedAt : t.openedAt);
          expect(credited.some((t) => viaDate(t)?.getTime() === result.touchedAt?.getTime())).toBe(
            true,
          );
        },
      ),
    );
  });

  it('never credits more when the window shrinks', () => {
    fc.assert(
      fc.property(
        fc.array(touchArb, { maxLength: 8 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        (touches, a, b) => {
          const [narrow, wide] = a <= b ? [a, b] : [b, a];
          if (attribute(touches, narrow).outcome === 'recovered') {
            expect(attribute(touches, wide).outcome).toBe('recovered');
          }
        },
      ),
    );
  });
});
