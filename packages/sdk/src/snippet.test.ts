import type { TrackedEvent } from '@winback/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { destroy } from './api.js';
import { install, type Winback } from './snippet.js';
import { flushStorage } from './storage.js';
import { ackOf, FakeSocket, fakeNetwork, settled } from './testing/fake-network.js';

const KEY = 'pk_test_0123456789abcdef';
const page = window as unknown as { winback?: Winback };

/** The async snippet a store pastes into its theme. */
function stub(): Winback {
  const winback: Winback = (...args: unknown[]) => {
    winback.q = winback.q || [];
    winback.q.push(args);
  };
  page.winback = winback;
  return winback;
}
function scriptTag(attributes: Record<string, string>): HTMLScriptElement {
  const script = document.createElement('script');
  for (const [name, value] of Object.entries(attributes)) script.setAttribute(name, value);
  // A tag with a src stays out of the document: happy-dom would try to load it.
  if (!attributes.src) document.head.append(script);
  return script;
}
const sentEvents = async (): Promise<TrackedEvent[]> => {
  await settled();
  FakeSocket.last.open();
  return FakeSocket.last.frames.flatMap((frame) => frame.events);
};

let warnings: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  flushStorage();
  localStorage.clear();
  fakeNetwork();
  warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(async () => {
  await settled();
  destroy();
  delete page.winback;
  document.head.replaceChildren();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('the script tag', () => {
  it('replays the stub queue in order, with the init it holds', async () => {
    const winback = stub();
    winback('cart', {
      currency: 'EUR',
      lines: [{ id: 'mug', title: 'Mug', quantity: 1, unitPrice: 1800 }],
    });
    winback('init', { key: KEY, endpoint: 'https://winback.example' });
    winback('track', 'checkout_started');
    install(null);
    expect(FakeSocket.last.url).toBe(`wss://winback.example/v1/stream?key=${KEY}`);
    expect((await sentEvents()).map((event) => event.type)).toEqual([
      'page_view',
      'cart_updated',
      'checkout_started',
    ]);
    // Later calls go straight to the sdk.
    page.winback?.('track', 'checkout_step', { step: 'payment' });
    await settled();
    FakeSocket.last.answer(ackOf(FakeSocket.last.frames[0]));
    expect(FakeSocket.last.frames[1]?.events.map((event) => event.type)).toEqual(['checkout_step']);
  });

  it('initialises from data-key, with the endpoint defaulting to the script origin', () => {
    const script = scriptTag({ src: 'https://cdn.winback.example/winback.js', 'data-key': KEY });
    install(script);
    expect(FakeSocket.last.url).toBe(`wss://cdn.winback.example/v1/stream?key=${KEY}`);
  });

  it('prefers data-endpoint, and a queued init over the attributes', () => {
    const script = scriptTag({ 'data-key': KEY, 'data-endpoint': 'https://attr.example' });
    stub()('init', { endpoint: 'https://queued.example', exitIntent: 'always' });
    install(script);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(FakeSocket.last.url).toBe(`wss://queued.example/v1/stream?key=${KEY}`);
  });

  it('finds its own tag when document.currentScript is not set', () => {
    scriptTag({ 'data-key': KEY, 'data-endpoint': 'https://attr.example' });
    install(null);
    expect(FakeSocket.last.url).toBe(`wss://attr.example/v1/stream?key=${KEY}`);
  });

  it('waits for init when there is no key yet', () => {
    install(null);
    expect(FakeSocket.instances).toHaveLength(0);
    page.winback?.('init', { key: KEY, endpoint: 'https://winback.example' });
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('warns about unknown commands and a second copy of the script', () => {
    install(null);
    const first = page.winback;
    expect(() => first?.('nonsense', 1)).not.toThrow();
    install(null);
    expect(page.winback).toBe(first);
    expect(warnings).toHaveBeenCalledWith('[winback] W5', 'nonsense');
    expect(warnings).toHaveBeenCalledWith('[winback] W4', '');
  });
});
