import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants, Script } from 'node:vm';
import { parseBatch, type TrackedEvent } from '@winback/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ackOf,
  FakeSocket,
  fakeNetwork,
  type Network,
  settled,
} from '../src/testing/fake-network.js';

// Checks on the built files (the sdk-min project builds them first; see build.ts).

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const lazyParts = readdirSync(dist).filter((file) => /^winback-lazy-.*\.js$/.test(file));
const builds = ['winback.js', ...lazyParts, 'index.mjs', 'index.cjs', 'test/internals.min.mjs'].map(
  (file) => [file, readFileSync(join(dist, file), 'utf8')] as const,
);
const core = readFileSync(join(dist, 'winback.js'), 'utf8');

describe('the built sdk', () => {
  it('contains no zod code', () => {
    expect(builds.length).toBeGreaterThan(4);
    for (const [file, code] of builds) {
      for (const signature of [
        'ZodError',
        '_zod',
        'safeParse',
        'ZodType',
        'z.object',
        "from 'zod'",
      ]) {
        expect(code, `${file} contains ${signature}`).not.toContain(signature);
      }
    }
  });

  it('has no string-to-code or HTML sinks (strict CSP, Trusted Types)', () => {
    for (const [file, code] of builds) {
      for (const sink of [
        /\beval\(/,
        /new Function\(/,
        /innerHTML/,
        /outerHTML/,
        /insertAdjacentHTML/,
        /document\.write/,
        /setTimeout\("/,
      ]) {
        expect(code, `${file} matches ${sink}`).not.toMatch(sink);
      }
    }
  });

  it('publishes types that stand alone', () => {
    const types = readFileSync(join(dist, 'index.d.ts'), 'utf8');
    expect(types).not.toMatch(/^\s*import\b/m);
    expect(types).not.toMatch(/@winback\/shared|zod/);
    expect(readdirSync(dist)).toEqual(
      expect.arrayContaining(['winback.js', 'index.mjs', 'index.cjs', 'index.d.ts', 'index.d.cts']),
    );
  });

  it('splits the script-tag build: the core imports the one lazy part next to it, by name', () => {
    expect(lazyParts).toHaveLength(1);
    const [part] = lazyParts as [string];
    // Named by a hash of its content: a cached core never runs with another build's part.
    expect(part).toMatch(/^winback-lazy-[0-9a-f]{8}\.js$/);
    expect(core).toContain(`"./${part}"`);
    const lazyCode = readFileSync(join(dist, part), 'utf8');
    // Exit intent, consent, the HTTP fallback and the overlay glue are in the part, not the core.
    for (const marker of ['mouseout', 'wb_consent', 'Retry-After', '/sdk/widget.js']) {
      expect(lazyCode).toContain(marker);
      expect(core).not.toContain(marker);
    }
    // The npm build has everything, and imports nothing of its own: its one import() is the
    // overlay widget's, from the Winback server, when the server sends an overlay.
    const npm = readFileSync(join(dist, 'index.mjs'), 'utf8');
    expect(npm).toContain('mouseout');
    const imports = [...npm.matchAll(/\bimport\s*\(/g)];
    expect(imports).toHaveLength(1);
    expect(npm.slice(imports[0]!.index, imports[0]!.index + 200)).toContain('/sdk/widget.js');
  });
});

describe('dist/winback.js in a page', () => {
  const page = window as unknown as {
    winback: ((...args: unknown[]) => void) & { q?: unknown[]; loaded?: boolean };
  };
  let network: Network;
  let acked: Set<number>;

  beforeEach(() => {
    network = fakeNetwork();
    acked = new Set();
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    // The snippet from the README.
    page.winback =
      page.winback ||
      ((...args: unknown[]) => {
        // biome-ignore lint/suspicious/noAssignInExpressions: the documented snippet
        (page.winback.q = page.winback.q || []).push(args);
      });
  });
  afterEach(async () => {
    await settled();
    // The page goes away: this copy of the sdk stops sending (the next test loads a new one).
    window.dispatchEvent(new Event('pagehide'));
    vi.useRealTimers();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    delete (page as { winback?: unknown }).winback;
    localStorage.clear();
  });

  /**
   * Runs the built file as the classic script of a tag with `data-key` runs: `document.currentScript`
   * is the tag, whose `src` is the file's URL, so the lazy part is imported from next to it.
   */
  function load(): void {
    const script = document.createElement('script');
    script.dataset.key = 'pk_test_0123456789abcdef';
    script.dataset.endpoint = 'https://winback.example';
    // Not in the document: happy-dom would try to load it.
    script.src = pathToFileURL(join(dist, 'winback.js')).href;
    Object.defineProperty(document, 'currentScript', { value: script, configurable: true });
    try {
      new Script(core, {
        filename: join(dist, 'winback.js'),
        importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
      }).runInThisContext();
    } finally {
      Object.defineProperty(document, 'currentScript', { value: null, configurable: true });
    }
  }

  /** Acks every frame sent so far, and returns every event sent, in order. */
  function delivered(): TrackedEvent[] {
    const socket = FakeSocket.last;
    if (socket.readyState === 0) socket.open();
    for (let frame = socket.frames.find((each) => !acked.has(each.seq)); frame; ) {
      acked.add(frame.seq);
      socket.answer(ackOf(frame));
      frame = socket.frames.find((each) => !acked.has(each.seq));
    }
    return socket.sent.flatMap((text) => {
      const parsed = parseBatch(text);
      return parsed.ok ? parsed.events : [];
    });
  }
  const types = () => delivered().map((event) => event.type);

  it('takes over from the async stub and sends what was queued', async () => {
    page.winback('cart', {
      currency: 'EUR',
      lines: [{ id: 'mug', title: 'Mug', quantity: 1, unitPrice: 1800 }],
    });
    load();
    expect(FakeSocket.last.url).toBe(
      'wss://winback.example/v1/stream?key=pk_test_0123456789abcdef',
    );
    expect(types()).toEqual(['page_view', 'cart_updated']);
    expect(typeof page.winback).toBe('function');
    expect(page.winback.q).toBeUndefined();
  });

  it('loads its lazy part when first needed: calls keep their order, exit intent is watched', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    page.winback('consent', { email: true, textVersion: '2026-11-01' });
    page.winback('cart', {
      currency: 'EUR',
      lines: [{ id: 'mug', title: 'Mug', quantity: 1, unitPrice: 1800 }],
    });
    page.winback('identify', { email: 'jane@example.com' });
    page.winback('track', 'checkout_started');
    load();
    // Only the page view leaves before the part is here: the rest waits behind the consent.
    expect(types()).toEqual(['page_view']);
    await vi.waitFor(() => expect(types()).toHaveLength(5));
    expect(types()).toEqual([
      'page_view',
      'consent_changed',
      'cart_updated',
      'identify',
      'checkout_started',
    ]);

    vi.advanceTimersByTime(1000);
    document.dispatchEvent(new MouseEvent('mouseout', { clientY: 0, relatedTarget: null }));
    expect(delivered().at(-1)).toMatchObject({ type: 'exit_intent', signal: 'mouse_top' });
    expect(network.fetch).not.toHaveBeenCalled();
  });

  it("posts to the collect URL with the lazy part's HTTP fallback when there is no WebSocket", async () => {
    vi.stubGlobal(
      'WebSocket',
      class {
        constructor() {
          throw new DOMException('refused by Content-Security-Policy', 'SecurityError');
        }
      },
    );
    network.fetch.mockImplementation(async (_url: string, init: RequestInit) => ({
      ok: true,
      json: async () => ({ t: 'ack', seq: JSON.parse(String(init.body)).seq }),
    }));
    load();
    await vi.waitFor(() => expect(network.fetch).toHaveBeenCalled(), { timeout: 5000 });
    expect(network.fetch.mock.calls[0]?.[0]).toBe(
      'https://winback.example/v1/collect?key=pk_test_0123456789abcdef',
    );
    expect(network.posted()[0]?.events.map((event) => event.type)).toEqual(['page_view']);
  });
});
