import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type BusMessage, createLiveBus, type LiveMessage, liveMessage } from './live.js';

const logger = pino({ level: 'silent' });
const STORE = '7d3c1f4e-2a5b-4c6d-8e9f-0a1b2c3d4e5f';
const OTHER = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

const cart: LiveMessage = {
  t: 'cart',
  cart: {
    id: 'c1',
    externalId: 'cart-1',
    status: 'abandoned',
    score: 0.42,
    valueMinor: 1200,
    lineCount: 2,
    idleDueAt: '2026-11-23T12:30:00.000Z',
  },
};

describe('live bus, in-process', () => {
  it('delivers a store’s messages to its listeners only, until they unsubscribe', async () => {
    const bus = createLiveBus({ prefix: 'test', logger });
    const mine: BusMessage[] = [];
    const theirs: BusMessage[] = [];
    const stop = bus.subscribe(STORE, (message) => mine.push(message));
    bus.subscribe(OTHER, (message) => theirs.push(message));
    await stop.ready;

    bus.publish(STORE, cart, { t: 'message', messageId: 'm1', cartId: 'c1', status: 'sent' });
    bus.endSession(STORE, 's1');
    expect(mine).toEqual([
      cart,
      { t: 'message', messageId: 'm1', cartId: 'c1', status: 'sent' },
      { t: 'session_ended', sessionId: 's1' },
    ]);
    expect(theirs).toEqual([]);

    stop();
    stop();
    bus.publish(STORE, cart);
    expect(mine).toHaveLength(3);
    await bus.close();
  });

  it('says whether anyone watches a store, so publishers can skip the work', async () => {
    const bus = createLiveBus({ prefix: 'test', logger });
    expect(bus.watched(STORE)).toBe(false);
    const one = bus.subscribe(STORE, () => {});
    const two = bus.subscribe(STORE, () => {});
    expect(bus.watched(STORE)).toBe(true);
    one();
    expect(bus.watched(STORE)).toBe(true);
    two();
    expect(bus.watched(STORE)).toBe(false);
    await bus.close();
  });

  it('keeps delivering to the others when one listener throws, and never throws at the publisher', async () => {
    const bus = createLiveBus({ prefix: 'test', logger });
    const seen: BusMessage[] = [];
    bus.subscribe(STORE, () => {
      throw new Error('broken socket');
    });
    bus.subscribe(STORE, (message) => seen.push(message));
    expect(() => bus.publish(STORE, cart)).not.toThrow();
    expect(seen).toEqual([cart]);
    await bus.close();
  });

  it('refuses to start without a prefix', () => {
    expect(() => createLiveBus({ prefix: '', logger })).toThrow(/prefix/);
  });
});

describe('live messages', () => {
  it('keeps exactly the feed’s fields', () => {
    expect(liveMessage({ ...cart, email: 'jane@example.com' })).toEqual(cart);
    expect(
      liveMessage({ t: 'cart', cart: { ...cart.cart, title: 'Blue mug', phone: '+1' } }),
    ).toEqual(cart);
    expect(
      liveMessage({
        t: 'decision',
        cartId: 'c1',
        kind: 'abandoned',
        enrolment: 'enrolled',
        address: 'x',
      }),
    ).toEqual({ t: 'decision', cartId: 'c1', kind: 'abandoned', enrolment: 'enrolled' });
  });

  it('drops what does not have the feed’s shape', () => {
    for (const bad of [
      null,
      'cart',
      {},
      { t: 'session_ended', sessionId: 's1' },
      { t: 'cart' },
      { t: 'cart', cart: { ...cart.cart, status: 'lost' } },
      { t: 'cart', cart: { ...cart.cart, score: Number.NaN } },
      { t: 'cart', cart: { ...cart.cart, id: '' } },
      { t: 'cart', cart: { ...cart.cart, idleDueAt: 5 } },
      { t: 'decision', cartId: 'c1', kind: 'bought', enrolment: 'enrolled' },
      { t: 'decision', cartId: 'c1', kind: 'abandoned', enrolment: 'maybe' },
      { t: 'message', messageId: 'm1', cartId: 'c1', status: 'exploded' },
      { t: 'message', messageId: 'x'.repeat(201), cartId: 'c1', status: 'sent' },
    ]) {
      expect(liveMessage(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});
