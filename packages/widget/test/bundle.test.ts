import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { overlayTextsFor } from '@winback/shared/overlay';
import { afterEach, describe, expect, it } from 'vitest';

// Checks on the built files (the widget-min project builds them first; see build.ts).

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const builds = ['widget.js', 'test/internals.min.mjs'].map(
  (file) => [file, readFileSync(join(dist, file), 'utf8')] as const,
);
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : /\.tsx?$/.test(entry.name) && !/\.test\.ts$|[\\/]testing[\\/]/.test(join(dir, entry.name))
        ? [join(dir, entry.name)]
        : [],
  );
const count = (code: string, text: string) => code.split(text).length - 1;

describe('the built widget', () => {
  it('contains no zod and nothing of @winback/shared at run time', () => {
    for (const [file, code] of builds) {
      for (const signature of [
        'ZodError',
        '_zod',
        'safeParse',
        'ZodType',
        'zod',
        '@winback/shared',
      ]) {
        expect(code, `${file} contains ${signature}`).not.toContain(signature);
      }
    }
  });

  it('is one ES module exporting show, with Preact inside', () => {
    const [, code] = builds[0]!;
    expect(code).toMatch(/export\s*\{\s*\w+ as show\s*\}\s*;?\s*$/);
    expect(code).not.toMatch(/^\s*import\b|\bimport\s*\(|\brequire\(/m);
  });

  it('has no string-to-code sinks, and its own code writes no HTML and no style attribute', () => {
    for (const [file, code] of builds) {
      for (const sink of [
        /\beval\(/,
        /new Function\(/,
        /outerHTML/,
        /insertAdjacentHTML/,
        /document\.write/,
        /setTimeout\("/,
        /createElement\("style"\)/,
      ]) {
        expect(code, `${file} matches ${sink}`).not.toMatch(sink);
      }
    }
    // Preact itself mentions innerHTML only for dangerouslySetInnerHTML, which the widget never
    // uses: the bundle has no more of it than Preact has.
    const preact = readFileSync(join(root, 'node_modules/preact/dist/preact.mjs'), 'utf8');
    expect(count(builds[0]![1], 'innerHTML')).toBeLessThanOrEqual(count(preact, 'innerHTML'));
    for (const file of sources(join(root, 'src'))) {
      const code = readFileSync(file, 'utf8');
      for (const sink of [
        /innerHTML/,
        /dangerouslySetInnerHTML/,
        /\bstyle=/,
        /\.style\b/,
        /'style'/,
      ]) {
        expect(code, `${file} matches ${sink}`).not.toMatch(sink);
      }
    }
  });
});

describe('dist/widget.js in a page', () => {
  afterEach(() => {
    document.body.replaceChildren();
  });

  it('shows an overlay through its show export', async () => {
    const { show } = (await import(pathToFileURL(join(dist, 'widget.js')).href)) as {
      show(payload: unknown, host: unknown): { close(): void };
    };
    const tracked: unknown[] = [];
    const overlay = show(
      {
        overlayId: 'ov_bundle',
        kind: 'exit_modal',
        locale: 'es',
        texts: overlayTextsFor('es'),
        theme: {},
        cart: {
          currency: 'EUR',
          subtotal: 1800,
          lines: [{ title: 'Taza', quantity: 1, unitPrice: 1800 }],
        },
        checkoutUrl: '/checkout',
      },
      { track: (...call: unknown[]) => tracked.push(call), identify() {}, navigate() {} },
    );
    const shadow = document.querySelector('winback-overlay')?.shadowRoot;
    expect(shadow?.querySelector('h2')?.textContent).toBe('Espera, tu carrito sigue aquí');
    expect(shadow?.querySelector('.total')?.textContent).toBe('Subtotal18,00\u00a0€');
    expect(tracked).toEqual([['overlay_shown', { overlayId: 'ov_bundle' }]]);
    overlay.close();
    expect(document.querySelector('winback-overlay')).toBeNull();
  });
});
