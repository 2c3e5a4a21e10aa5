import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { normalizeOrigin, normalizeOrigins } from './origins.js';

/** What any accepted origin must look like, whatever the input was. */
const canonical =
  /^(https:\/\/([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])|http:\/\/(localhost|127\.0\.0\.1))(:[1-9][0-9]{0,4})?$/;

function outcome(input: string): { accepted: string } | { rejected: AppError } {
  try {
    return { accepted: normalizeOrigin(input) };
  } catch (error) {
    if (error instanceof AppError) return { rejected: error };
    throw error;
  }
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const hostName = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'example', 'shop'))
  .map(([labels, tld]) => [...labels, tld].join('.'));
const port = fc.integer({ min: 1, max: 65535 });
const randomCase = (text: string) =>
  fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((upper) => [...text].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

// Strings built from origin-ish pieces, so the property also meets near misses, not only noise.
const originish = fc
  .tuple(
    fc.constantFrom('https', 'http', 'HTTPS', 'ftp', 'ws', 'https:', 'http:/', ''),
    fc.constantFrom('://', ':', ':///', '//', '://user:pw@', '://@'),
    fc.oneof(
      hostName,
      fc.constantFrom(
        'localhost',
        '127.0.0.1',
        '127.1',
        '0x7f.0.0.1',
        '[::1]',
        '[0::1]',
        '*.shop.example',
      ),
      fc.string({ maxLength: 12 }),
    ),
    fc.option(fc.oneof(port.map(String), fc.constantFrom('0', '00443', '65536', 'x', '')), {
      nil: undefined,
    }),
    fc.constantFrom('', '/', '/cart', '?q=1', '#top', '//', ' ', '\t', '\\', '/.'),
  )
  .map(
    ([scheme, sep, host, p, tail]) =>
      `${scheme}${sep}${host}${p === undefined ? '' : `:${p}`}${tail}`,
  );

describe('normalizeOrigin', () => {
  it('accepts nothing that is not a canonical origin denoting the same place', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl(), originish), (input) => {
        const result = outcome(input);
        if ('rejected' in result) {
          expect(result.rejected.code).toBe('WB_ERR_VALIDATION');
          expect(result.rejected.message).toMatch(/^origin /);
          return;
        }
        expect(result.accepted).toMatch(canonical);
        // It is the origin the input names, and already in final form.
        expect(new URL(input.trim()).origin).toBe(result.accepted);
        expect(normalizeOrigin(result.accepted)).toBe(result.accepted);
        // An ASCII input differs from it only by letter case, a default port or a final slash:
        // nothing the URL parser would rewrite (IPv4 shorthands, stray characters) gets through.
        if (/^[\x20-\x7e]*$/.test(input)) {
          const spelled = input
            .trim()
            .toLowerCase()
            .replace(/\/$/, '')
            .replace(/^(https:\/\/.*):443$|^(http:\/\/.*):80$/, '$1$2');
          expect(spelled).toBe(result.accepted);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('normalises any https origin: lower case, no default port, no trailing slash', () => {
    fc.assert(
      fc.property(
        hostName.chain((host) => randomCase(host).map((shown) => ({ host, shown }))),
        fc.option(port, { nil: undefined }),
        fc.boolean(),
        ({ host, shown }, p, slash) => {
          const input = `${slash ? 'HTTPS' : 'https'}://${shown}${p === undefined ? '' : `:${p}`}${slash ? '/' : ''}`;
          const expected =
            p === undefined || p === 443 ? `https://${host}` : `https://${host}:${p}`;
          expect(normalizeOrigin(input)).toBe(expected);
        },
      ),
    );
  });

  it('allows plain http only for localhost and 127.0.0.1', () => {
    expect(normalizeOrigin('http://localhost:5173')).toBe('http://localhost:5173');
    expect(normalizeOrigin('http://127.0.0.1')).toBe('http://127.0.0.1');
    fc.assert(
      fc.property(hostName, (host) => {
        fc.pre(host !== 'localhost');
        expect(() => normalizeOrigin(`http://${host}`)).toThrow(/must use https/);
      }),
    );
  });

  it('refuses paths, queries, fragments and credentials whatever the host', () => {
    fc.assert(
      fc.property(
        hostName,
        fc.constantFrom('/cart', '/a/b', '?x=1', '#f', '/?', '//'),
        (host, tail) => {
          expect(() => normalizeOrigin(`https://${host}${tail}`)).toThrow(AppError);
          expect(() => normalizeOrigin(`https://user@${host}`)).toThrow(AppError);
        },
      ),
    );
  });

  it('converts international host names to punycode, as browsers send them', () => {
    expect(normalizeOrigin('https://bücher.example')).toBe('https://xn--bcher-kva.example');
  });

  it('refuses spellings the URL parser would quietly rewrite', () => {
    for (const input of [
      'https:shop.example',
      'https:\\\\shop.example',
      'https://sh\top.example',
      'http://127.1',
      'http://0x7f.0.0.1',
      'https://[0::1]',
      'https://*.shop.example',
      'https://shop.example:0443',
      'https://shop_example.com',
    ]) {
      expect(() => normalizeOrigin(input), input).toThrow(AppError);
    }
  });
});

describe('normalizeOrigins', () => {
  it('drops duplicates that differ only in spelling', () => {
    expect(
      normalizeOrigins([
        'https://Shop.example/',
        'https://shop.example:443',
        'http://localhost:3000',
      ]),
    ).toEqual(['https://shop.example', 'http://localhost:3000']);
  });
});
