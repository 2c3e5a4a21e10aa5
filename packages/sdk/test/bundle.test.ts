import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket, fakeNetwork } from '../src/testing/fake-network.js';

// Checks on the built files (the sdk-min project builds them first; see build.ts).

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const builds = ['winback.js', 'index.mjs', 'index.cjs', 'test/internals.min.mjs'].map(
  (file) => [file, readFileSync(join(dist, file), 'utf8')] as const,
);

describe('the built sdk', () => {
  it('contains no zod code', () => {
    expect(builds.length).toBeGreaterThan(3);
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
});

describe('dist/winback.js in a page', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    delete (window as { winback?: unknown }).winback;
    document.head.replaceChildren();
    localStorage.clear();
  });

  it('takes over from the async stub and sends what was queued', () => {
    fakeNetwork();
    const script = document.createElement('script');
    script.dataset.key = 'pk_test_0123456789abcdef';
    script.dataset.endpoint = 'https://winback.example';
    document.head.append(script);
    // The snippet from the README, then a call made before the script arrived.
    const page = window as unknown as {
      winback: ((...args: unknown[]) => void) & { q?: unknown[] };
    };
    page.winback =
      page.winback ||
      ((...args: unknown[]) => {
        // biome-ignore lint/suspicious/noAssignInExpressions: the documented snippet
        (page.winback.q = page.winback.q || []).push(args);
      });
    page.winback('cart', {
      currency: 'EUR',
      lines: [{ id: 'mug', title: 'Mug', quantity: 1, unitPrice: 1800 }],
    });

    // Run the built file as a classic script would run.
    new Function(readFileSync(join(dist, 'winback.js'), 'utf8'))();

    expect(FakeSocket.last.url).toBe(
      'wss://winback.example/v1/stream?key=pk_test_0123456789abcdef',
    );
    FakeSocket.last.open();
    const events = FakeSocket.last.frames.flatMap((frame) => frame.events);
    expect(events.map((event) => event.type)).toEqual(['page_view', 'cart_updated']);
    expect(typeof page.winback).toBe('function');
    expect(page.winback.q).toBeUndefined();
  });
});
