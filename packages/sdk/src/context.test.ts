import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUrl, deviceContext, pageContext } from './context.js';

const overridden: [object, string, PropertyDescriptor | undefined][] = [];
function override(target: object, property: string, value: unknown) {
  overridden.push([target, property, Object.getOwnPropertyDescriptor(target, property)]);
  Object.defineProperty(target, property, { value, configurable: true });
}
afterEach(() => {
  for (const [target, property, original] of overridden.splice(0).reverse()) {
    if (original) Object.defineProperty(target, property, original);
    else delete (target as Record<string, unknown>)[property];
  }
  history.replaceState(null, '', '/');
});

const decode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

describe('cleanUrl', () => {
  it('drops parameters that name personal data, and keeps the rest', () => {
    expect(
      cleanUrl(
        'https://shop.example/checkout?email=a%40b.co&phone=123&first_name=Jane&address1=Main+St&token=t0k&variant=7&utm_source=news',
      ),
    ).toBe('https://shop.example/checkout?variant=7&utm_source=news');
  });

  it('drops email-like values under any name, the fragment and user info', () => {
    expect(
      cleanUrl('https://jane:pw@shop.example/p?ref=jane%40example.com&q=mugs#access_token=x'),
    ).toBe('https://shop.example/p?q=mugs');
    expect(cleanUrl('https://shop.example/orders/jane@example.com/view')).toBe(
      'https://shop.example/orders/-/view',
    );
  });

  it('is empty for anything but http(s)', () => {
    expect(cleanUrl('android-app://com.example')).toBe('');
    expect(cleanUrl('not a url')).toBe('');
    expect(cleanUrl('')).toBe('');
  });

  it('drops a path segment that starts with the @ of an address split by a slash', () => {
    expect(cleanUrl('https://shop.example/a/jane/@example.com/b')).toBe(
      'https://shop.example/a/jane/-/b',
    );
  });

  it('never leaks an email address, wherever it is put', () => {
    const name = fc.stringMatching(/^[a-z_]{1,12}$/);
    const encodings = [
      (email: string) => email,
      encodeURIComponent,
      (email: string) => encodeURIComponent(encodeURIComponent(email)),
    ];
    fc.assert(
      fc.property(
        fc.emailAddress(),
        name,
        fc.integer({ min: 0, max: 2 }),
        fc.constantFrom('query', 'name', 'path', 'hash'),
        (email, param, encoding, where) => {
          const encoded = (encodings[encoding] as (email: string) => string)(email);
          const href =
            where === 'query'
              ? `https://shop.example/cart?${param}=${encoded}&keep=1`
              : where === 'name'
                ? `https://shop.example/cart?${encoded}=1&keep=1`
                : where === 'path'
                  ? `https://shop.example/a/${encoded}/b?keep=1`
                  : `https://shop.example/cart?keep=1#${param}=${encoded}`;
          const cleaned = cleanUrl(href);
          for (const form of [email, encodeURIComponent(email), encodeURI(email)]) {
            expect(cleaned.toLowerCase()).not.toContain(form.toLowerCase());
          }
          expect(decode(decode(cleaned))).not.toContain('@');
          // Put in raw, an address with `#`, `&` or `/` changes the URL's shape; encoded, it
          // must cost nothing but itself.
          if (encoding > 0) expect(cleaned).toContain('keep=1');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('pageContext', () => {
  it('reads the clean URL, title, referrer and UTM parameters', () => {
    history.replaceState(
      null,
      '',
      '/products/mug?utm_source=newsletter&utm_campaign=spring&utm_content=jane%40example.com&email=x%40y.z',
    );
    document.title = 'Sunrise mug';
    override(document, 'referrer', 'https://search.example/?q=mugs&user=jane');
    expect(pageContext()).toEqual({
      url: `${location.origin}/products/mug?utm_source=newsletter&utm_campaign=spring`,
      title: 'Sunrise mug',
      referrer: 'https://search.example/?q=mugs',
      utm: { source: 'newsletter', campaign: 'spring' },
    });
  });
});

describe('deviceContext', () => {
  it('reads what only the browser knows: viewport, language and timezone', () => {
    override(window, 'innerWidth', 1280);
    override(window, 'innerHeight', 720);
    // Type, OS and browser are the server's to derive from the User-Agent header.
    expect(deviceContext()).toEqual({
      viewport: { width: 1280, height: 720 },
      language: navigator.language,
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    });
  });
});
