import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasUnstorableText, mayHoldUnstorableText, retryDelayMs } from './frames.js';

// What a frame does to the database is tested against real Postgres in test/ingest.*.test.ts.

describe('hasUnstorableText', () => {
  it('finds NUL characters and lone surrogates at any depth, in keys or values', () => {
    expect(hasUnstorableText({ a: [{ b: 'x\u0000' }] })).toBe(true);
    expect(hasUnstorableText({ 'k\ud800': 1 })).toBe(true);
    expect(hasUnstorableText(['\udc00'])).toBe(true);
    expect(hasUnstorableText({ a: '\ud83d\ude00 ok', b: [1, null, true] })).toBe(false);
  });

  it('agrees with what Postgres refuses: text JSON.stringify has to escape as \\u0000 or \\udXXX', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ depthSize: 'small' }),
        fc.string({ unit: 'binary' }),
        (value, text) => {
          for (const candidate of [value, { text }, [text, value]]) {
            const escaped = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i.test(
              JSON.stringify(candidate),
            );
            expect(hasUnstorableText(candidate)).toBe(escaped);
          }
        },
      ),
    );
  });
});

describe('mayHoldUnstorableText', () => {
  it('is true of every JSON text that parses to unstorable text, so skipping the walk is safe', () => {
    const odd = fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\ude00', '\\u', '\\');
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.tuple(fc.string(), odd, fc.string()).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(fc.jsonValue({ depthSize: 'small' }), text, (value, inner) => {
        for (const candidate of [value, { [inner]: value }, [inner, value]]) {
          const json = JSON.stringify(candidate);
          if (hasUnstorableText(JSON.parse(json))) expect(mayHoldUnstorableText(json)).toBe(true);
        }
        // Text holding a raw lone surrogate (a caller that did not come through UTF-8).
        const plain = [...inner].filter((c) => c >= ' ' && c !== '"' && c !== '\\').join('');
        const raw = `{"a":"${plain}"}`;
        if (hasUnstorableText(JSON.parse(raw))) expect(mayHoldUnstorableText(raw)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
    expect(mayHoldUnstorableText('{"t":"batch","seq":1,"events":[{"a":"plain"}]}')).toBe(false);
  });
});

describe('retryDelayMs', () => {
  it('spreads retries between 1 and 5 seconds', () => {
    expect(retryDelayMs(() => 0)).toBe(1_000);
    expect(retryDelayMs(() => 0.999_999)).toBeLessThan(5_000);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
        const delay = retryDelayMs(() => r);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(1_000);
        expect(delay).toBeLessThan(5_000);
      }),
    );
  });
});
