import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cartRestore,
  cartRestoreSettings,
  type RestoreLine,
  type RestoreRequest,
  type RestoreSettings,
  restoreTemplateProblem,
  restoreUrl,
  storeUrl,
} from './restore-url.js';

const shop = 'https://shop.example';
const shopify: RestoreSettings = { storeUrl: shop, cartRestore: { kind: 'shopify' } };
const cart = (lines: RestoreLine[], discountCode: string | null = null): RestoreRequest => ({
  lines,
  externalCartId: 'c-42',
  discountCode,
});
const template = (url: string): RestoreSettings =>
  cartRestoreSettings.parse({ storeUrl: shop, cartRestore: { kind: 'template', url } });

describe('restoreUrl for Shopify', () => {
  it('builds a cart permalink with the discount code', () => {
    const lines = [
      { variantId: '39072856', quantity: 2 },
      { variantId: '40000001', quantity: 1 },
    ];
    expect(restoreUrl(shopify, cart(lines, 'WB-7KQ4-M9XT-2HFD'))).toBe(
      'https://shop.example/cart/39072856:2,40000001:1?discount=WB-7KQ4-M9XT-2HFD',
    );
    expect(restoreUrl(shopify, cart(lines))).toBe(
      'https://shop.example/cart/39072856:2,40000001:1',
    );
  });

  it('reads Shopify variant GIDs and adds up lines for the same variant', () => {
    const lines = [
      { variantId: 'gid://shopify/ProductVariant/39072856', quantity: 1 },
      { variantId: '39072856', quantity: 2 },
    ];
    expect(restoreUrl(shopify, cart(lines))).toBe('https://shop.example/cart/39072856:3');
  });

  it('skips lines without a numeric variant id or with a bad quantity', () => {
    const lines: RestoreLine[] = [
      { productId: '111', quantity: 1 },
      { variantId: 'blue-large', quantity: 1 },
      { variantId: '123/../../evil', quantity: 1 },
      { variantId: '222', quantity: 0 },
      { variantId: '333', quantity: 1.5 },
      { variantId: '444', quantity: Number.NaN },
      { variantId: '555', quantity: 1 },
    ];
    expect(restoreUrl(shopify, cart(lines))).toBe('https://shop.example/cart/555:1');
  });

  it('falls back to the cart page, or the discount link, with no usable line', () => {
    expect(restoreUrl(shopify, cart([]))).toBe('https://shop.example/cart');
    expect(restoreUrl(shopify, cart([{ sku: 'MUG-1', quantity: 1 }]))).toBe(
      'https://shop.example/cart',
    );
    expect(restoreUrl(shopify, cart([], 'WB-7KQ4-M9XT-2HFD'))).toBe(
      'https://shop.example/discount/WB-7KQ4-M9XT-2HFD?redirect=/cart',
    );
  });

  it('encodes a discount code', () => {
    expect(restoreUrl(shopify, cart([{ variantId: '1', quantity: 1 }], 'A&B=C #1'))).toBe(
      'https://shop.example/cart/1:1?discount=A%26B%3DC%20%231',
    );
    expect(restoreUrl(shopify, cart([], '../../admin'))).toBe(
      'https://shop.example/discount/..%2F..%2Fadmin?redirect=/cart',
    );
  });

  it('treats an empty discount code as none', () => {
    expect(restoreUrl(shopify, cart([{ variantId: '1', quantity: 1 }], ''))).toBe(
      'https://shop.example/cart/1:1',
    );
  });
});

describe('restoreUrl with a template', () => {
  it('fills cart id, discount and lines', () => {
    const settings = template(
      'https://shop.example/recover?cart={cart_id}&code={discount}&items={lines}',
    );
    const lines = [
      { variantId: 'v1', productId: 'p1', quantity: 2 },
      { productId: 'p2', quantity: 1 },
      { sku: 'MUG 1', quantity: 3 },
      { quantity: 1 },
    ];
    expect(restoreUrl(settings, cart(lines, 'SAVE10'))).toBe(
      'https://shop.example/recover?cart=c-42&code=SAVE10&items=v1:2,p2:1,MUG%201:3',
    );
  });

  it('leaves {discount} empty without a code', () => {
    expect(restoreUrl(template('https://shop.example/cart?code={discount}'), cart([]))).toBe(
      'https://shop.example/cart?code=',
    );
  });

  it('percent-encodes every value, so none can change where the link goes', () => {
    const settings = template('https://shop.example/c/{cart_id}?d={discount}#{lines}');
    const hostile: RestoreRequest = {
      externalCartId: '//evil.example/@x?y#z',
      discountCode: 'a&redirect=https://evil.example',
      lines: [{ variantId: 'x:1,evil/..', quantity: 1 }],
    };
    const url = restoreUrl(settings, hostile);
    expect(new URL(url).origin).toBe(shop);
    expect(url).toBe(
      'https://shop.example/c/%2F%2Fevil.example%2F%40x%3Fy%23z?d=a%26redirect%3Dhttps%3A%2F%2Fevil.example#x%3A1%2Cevil%2F..:1',
    );
  });

  it('puts a placeholder in the path or the query alike', () => {
    expect(restoreUrl(template('https://shop.example/restore/{cart_id}'), cart([]))).toBe(
      'https://shop.example/restore/c-42',
    );
  });
});

describe('restoreUrl with no restore', () => {
  it('links to the cart page', () => {
    const none: RestoreSettings = { storeUrl: shop, cartRestore: { kind: 'none' } };
    expect(restoreUrl(none, cart([{ variantId: '1', quantity: 1 }], 'X'))).toBe(
      'https://shop.example/cart',
    );
  });

  it('uses only the origin of the store URL', () => {
    const settings: RestoreSettings = {
      storeUrl: 'https://shop.example/de/home?x=1',
      cartRestore: { kind: 'none' },
    };
    expect(restoreUrl(settings, cart([]))).toBe('https://shop.example/cart');
  });

  it('throws on a store URL that is not an http(s) URL', () => {
    for (const bad of ['javascript:alert(1)', 'shop.example', '', 'https://user:pw@shop.example']) {
      expect(() => restoreUrl({ storeUrl: bad, cartRestore: { kind: 'none' } }, cart([]))).toThrow(
        RangeError,
      );
    }
  });

  it('gives the cart page for a template on another origin that skipped the schema', () => {
    const unchecked: RestoreSettings = {
      storeUrl: shop,
      cartRestore: { kind: 'template', url: 'https://evil.example/?c={cart_id}' },
    };
    expect(restoreUrl(unchecked, cart([]))).toBe('https://shop.example/cart');
  });
});

describe('storeUrl, cartRestore and cartRestoreSettings schemas', () => {
  it('normalises the store URL to its origin', () => {
    expect(storeUrl.parse('https://Shop.Example/')).toBe('https://shop.example');
    expect(storeUrl.parse('https://shop.example:443')).toBe('https://shop.example');
    expect(storeUrl.parse('https://shop.example:8443')).toBe('https://shop.example:8443');
    expect(storeUrl.parse('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000');
    expect(storeUrl.parse('http://localhost:3000/')).toBe('http://localhost:3000');
  });

  it.each([
    'http://shop.example',
    'https://shop.example/shop',
    'https://shop.example?x=1',
    'https://shop.example/?',
    'https://shop.example#top',
    'https://user:pass@shop.example',
    'ftp://shop.example',
    'javascript:alert(1)',
    '//shop.example',
    'shop.example',
    '',
  ])('refuses the store URL %j', (value) => {
    expect(storeUrl.safeParse(value).success).toBe(false);
    expect(
      cartRestoreSettings.safeParse({ storeUrl: value, cartRestore: { kind: 'none' } }).success,
    ).toBe(false);
  });

  it('accepts templates on the store origin', () => {
    for (const url of [
      'https://shop.example/cart/{cart_id}',
      'https://SHOP.example:443/r?c={cart_id}&d={discount}&l={lines}',
      'https://shop.example',
    ]) {
      const settings = { storeUrl: shop, cartRestore: { kind: 'template', url } };
      expect(cartRestoreSettings.safeParse(settings).success).toBe(true);
      expect(cartRestore.safeParse(settings.cartRestore).success).toBe(true);
      expect(restoreTemplateProblem(url, shop)).toBeNull();
    }
  });

  it.each([
    ['another host', 'https://evil.example/cart?c={cart_id}'],
    ['a subdomain-like host', 'https://shop.example.evil.example/cart'],
    ['user info pointing elsewhere', 'https://shop.example@evil.example/cart'],
    ['user info on the store', 'https://user@shop.example/cart'],
    ['a backslash trick', 'https://evil.example\\@shop.example/cart'],
    ['plain http', 'http://shop.example/cart'],
    ['another port', 'https://shop.example:8443/cart'],
    ['a protocol-relative URL', '//shop.example/cart'],
    ['a relative path', '/cart/{cart_id}'],
    ['javascript', 'javascript:location="https://evil.example"'],
    ['data', 'data:text/html,<script>alert(1)</script>'],
    ['a placeholder in the host', 'https://{cart_id}.shop.example/cart'],
    ['a placeholder as the whole URL', '{discount}'],
    ['an unknown placeholder', 'https://shop.example/cart/{cartId}'],
  ])('refuses a template with %s', (_, url) => {
    const settings = { storeUrl: shop, cartRestore: { kind: 'template', url } };
    expect(cartRestoreSettings.safeParse(settings).success).toBe(false);
    expect(restoreTemplateProblem(url, shop)).toEqual(expect.any(String));
  });

  it('refuses, without the store URL, templates that are not http(s) or have unknown placeholders', () => {
    for (const url of ['javascript:alert(1)', '/cart', 'https://shop.example/{cartId}', '']) {
      expect(cartRestore.safeParse({ kind: 'template', url }).success).toBe(false);
    }
  });

  it('refuses unknown kinds and extra keys', () => {
    expect(cartRestore.safeParse({ kind: 'woocommerce' }).success).toBe(false);
    expect(cartRestore.safeParse({ kind: 'none', url: 'x' }).success).toBe(false);
    expect(cartRestore.safeParse({ kind: 'template' }).success).toBe(false);
    expect(cartRestore.safeParse({ kind: 'shopify', storeUrl: shop }).success).toBe(false);
  });

  it('names the template in the error path', () => {
    const result = cartRestoreSettings.safeParse({
      storeUrl: shop,
      cartRestore: { kind: 'template', url: 'https://evil.example/' },
    });
    expect(result.error?.issues[0]?.path).toEqual(['cartRestore', 'url']);
  });
});

// --- the open-redirect property ---

const origins = [
  'https://shop.example',
  'https://shop.example:8443',
  'https://xn--bcher-kva.example',
  'http://127.0.0.1:3000',
  'http://localhost:8080',
];
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '//evil.example',
    'https://evil.example',
    '@evil.example',
    '\\\\evil.example',
    '..',
    '.',
    '%2F%2Fevil.example',
    '\r\n',
    '{cart_id}',
    '\uD800',
  ),
);
const linesArb = fc.array(
  fc.record(
    {
      variantId: fc.oneof(anyText, fc.nat().map(String)),
      productId: anyText,
      sku: anyText,
      quantity: fc.oneof(fc.integer({ min: -2, max: 200_000 }), fc.double()),
    },
    { requiredKeys: ['quantity'] },
  ),
  { maxLength: 6 },
);
const requestArb: fc.Arbitrary<RestoreRequest> = fc.record({
  lines: linesArb,
  externalCartId: anyText,
  discountCode: fc.option(anyText),
});
const pathPiece = fc.oneof(
  fc.constantFrom('{cart_id}', '{discount}', '{lines}', '/', '?', '&', '=', '#', 'cart', '%2F'),
  fc.webSegment(),
);
const templateSettingsArb = fc
  .tuple(fc.constantFrom(...origins), fc.array(pathPiece, { maxLength: 8 }))
  .map(([origin, pieces]) => ({
    storeUrl: origin,
    cartRestore: { kind: 'template', url: `${origin}/${pieces.join('')}` },
  }))
  .filter((settings) => cartRestoreSettings.safeParse(settings).success)
  .map((settings) => cartRestoreSettings.parse(settings));
const settingsWith = (kind: 'shopify' | 'none') =>
  fc
    .constantFrom(...origins)
    .map((origin) => cartRestoreSettings.parse({ storeUrl: origin, cartRestore: { kind } }));
const settingsArb: fc.Arbitrary<RestoreSettings> = fc.oneof(
  templateSettingsArb,
  settingsWith('shopify'),
  settingsWith('none'),
);

describe('restoreUrl never leaves the store', () => {
  it('returns a URL on the store origin for any valid settings and any cart', () => {
    fc.assert(
      fc.property(settingsArb, requestArb, (settings, request) => {
        const url = new URL(restoreUrl(settings, request));
        expect(url.origin).toBe(settings.storeUrl);
        expect(url.username + url.password).toBe('');
      }),
      { numRuns: 3000 },
    );
  });

  it('returns a URL on the store origin even for settings that skipped the schema', () => {
    const rawSettingsArb = fc.record({
      kind: fc.constantFrom('shopify', 'template', 'none', 'other'),
      storeUrl: fc.constantFrom(...origins, 'https://shop.example/some/path?q=1'),
      url: fc.oneof(
        anyText,
        fc.constantFrom(
          'https://evil.example/{cart_id}',
          'https://shop.example{discount}/',
          'https://shop.example.{cart_id}/',
          'https://{discount}@shop.example/',
          '{discount}',
          'javascript:alert(1)',
        ),
      ),
    });
    fc.assert(
      fc.property(rawSettingsArb, requestArb, (raw, request) => {
        const settings = { storeUrl: raw.storeUrl, cartRestore: { kind: raw.kind, url: raw.url } };
        const url = new URL(restoreUrl(settings as RestoreSettings, request));
        expect(url.origin).toBe(new URL(raw.storeUrl).origin);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws for a valid store URL', () => {
    fc.assert(
      fc.property(settingsArb, requestArb, (settings, request) => {
        expect(() => restoreUrl(settings, request)).not.toThrow();
      }),
    );
  });
});
