import { z } from 'zod';

/**
 * The recovery link's destination: the URL on the storefront that puts the shopper's cart back
 * together (and applies their discount code, where the platform allows it). Pure: settings and
 * the cart in, a URL out.
 *
 * How a store restores carts is its `cartRestore` setting, read with its `storeUrl`:
 * - `shopify`: a cart permalink, `https://shop.example/cart/123:2,456:1?discount=CODE`.
 * - `template`: the store's own URL with `{cart_id}`, `{discount}` and `{lines}` placeholders,
 *   e.g. `https://shop.example/cart/restore?id={cart_id}&code={discount}`.
 * - `none`: the store's cart page, `https://shop.example/cart`.
 *
 * Whatever the settings and the cart hold, `restoreUrl` only returns URLs on the store's own
 * origin, so a recovery link can never be turned into an open redirect: a template must be on
 * `storeUrl`'s origin to be saved (`cartRestoreSettings`, `restoreTemplateProblem`), every value
 * put into it is percent-encoded, and the finished URL's origin is checked again before it is
 * returned (a template on another origin gives the cart page instead).
 *
 * @example
 *   restoreUrl(
 *     { storeUrl: 'https://shop.example', cartRestore: { kind: 'shopify' } },
 *     { lines: [{ variantId: '123', quantity: 2 }], externalCartId: 'c1', discountCode: 'WB-7KQ4-M9XT-2HFD' },
 *   );
 *   // 'https://shop.example/cart/123:2?discount=WB-7KQ4-M9XT-2HFD'
 */

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

const isHttp = (url: URL) => url.protocol === 'https:' || url.protocol === 'http:';
const hasCredentials = (url: URL) => url.username !== '' || url.password !== '';

/**
 * The origin `value` names, or `null` unless it is one: `https://host[:port]`, or `http://` on
 * a loopback host (local development and the demo), with nothing after the host but an optional
 * `/`.
 */
function strictStoreOrigin(value: string): string | null {
  const url = parseUrl(value);
  if (!url || hasCredentials(url)) return null;
  const schemeOk =
    url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname));
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && !/[?#]/.test(value);
  return schemeOk && bare ? url.origin : null;
}

/**
 * The store's origin as a setting: `https://host[:port]` (`http://` only on localhost), nothing
 * after the host. Normalised: `https://Shop.Example/` becomes `https://shop.example`.
 */
export const storeUrl = z
  .string()
  .max(2048)
  .refine(
    (value) => strictStoreOrigin(value) !== null,
    'must be an https origin such as https://shop.example (http only for localhost)',
  )
  .transform((value) => strictStoreOrigin(value)!);

const placeholders = ['cart_id', 'discount', 'lines'] as const;
type Placeholder = (typeof placeholders)[number];
const placeholderPattern = /\{([A-Za-z0-9_]+)\}/g;

/** What is wrong with a template on its own, before the store's origin is known. */
function templateShapeProblem(template: string): string | null {
  for (const [, name] of template.matchAll(placeholderPattern)) {
    if (!placeholders.includes(name as Placeholder)) {
      return `unknown placeholder {${name}}: use {cart_id}, {discount} or {lines}`;
    }
  }
  const url = parseUrl(template);
  if (!url || !isHttp(url)) return 'must be an http(s) URL';
  if (hasCredentials(url)) return 'must not carry a user name or password';
  return null;
}

/**
 * Why a restore template cannot be saved for a store whose storefront is at `storefrontUrl`, or
 * `null` when it can: it must be an http(s) URL on that origin, with no user name or password,
 * using only the placeholders `{cart_id}`, `{discount}` and `{lines}` (and none in the origin).
 */
export function restoreTemplateProblem(template: string, storefrontUrl: string): string | null {
  const shape = templateShapeProblem(template);
  if (shape) return shape;
  const origin = lenientStoreOrigin(storefrontUrl);
  if (origin === null) return 'the store URL is not an http(s) URL';
  if (parseUrl(template)?.origin !== origin) return `must be on the store's own origin, ${origin}`;
  return null;
}

/** The `cartRestore` store setting: how the recovery link rebuilds the cart. */
export const cartRestore = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('shopify') }),
  z.strictObject({
    kind: z.literal('template'),
    /** An http(s) URL on the store's origin with `{cart_id}`, `{discount}`, `{lines}`. */
    url: z
      .string()
      .max(2048)
      .superRefine((url, ctx) => {
        const problem = templateShapeProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  }),
  z.strictObject({ kind: z.literal('none') }),
]);

export type CartRestore = z.infer<typeof cartRestore>;

/**
 * `cartRestore` with the `storeUrl` it leads to, checked together: a template must be on the
 * store's origin.
 */
export const cartRestoreSettings = z
  .strictObject({ storeUrl, cartRestore })
  .superRefine((settings, ctx) => {
    if (settings.cartRestore.kind !== 'template') return;
    const problem = restoreTemplateProblem(settings.cartRestore.url, settings.storeUrl);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['cartRestore', 'url'] });
  });

/** What `restoreUrl` needs of the store's settings. */
export interface RestoreSettings {
  /** The storefront's origin (an http(s) URL; only its origin is used). */
  storeUrl: string;
  cartRestore: CartRestore;
}

/** The origin of any http(s) URL without credentials, else `null`. */
function lenientStoreOrigin(value: string): string | null {
  const url = parseUrl(value);
  return url && isHttp(url) && !hasCredentials(url) ? url.origin : null;
}

/** One cart line as the restore link needs it. */
export interface RestoreLine {
  variantId?: string;
  productId?: string;
  sku?: string;
  quantity: number;
}

export interface RestoreRequest {
  lines: readonly RestoreLine[];
  /** The storefront's own cart id (`carts.external_id`). */
  externalCartId: string;
  discountCode: string | null;
}

const maxQuantity = 100_000;

/**
 * The URL that restores the cart on the storefront; always on the origin of `settings.storeUrl`.
 * Lines with a quantity that is not a whole number of at least 1 are left out, and lines for the
 * same item are added together.
 *
 * - `shopify` uses lines whose `variantId` is numeric (`"39072856"`) or a Shopify variant GID
 *   (`gid://shopify/ProductVariant/39072856`); with none, it links to the cart page, or, with a
 *   discount code, to Shopify's shareable discount link `/discount/CODE?redirect=/cart`, which
 *   applies the code and then shows the cart.
 * - `template` fills `{cart_id}`, `{discount}` (empty without a code) and `{lines}` (`id:qty`
 *   joined by commas, the id being the variant id, else the product id, else the SKU), each value
 *   percent-encoded. A template that is not on the store's origin gives the cart page.
 * - `none`, or a kind this code does not know, gives the cart page.
 *
 * @throws RangeError when `settings.storeUrl` is not an http(s) URL.
 */
export function restoreUrl(settings: RestoreSettings, cart: RestoreRequest): string {
  const origin = lenientStoreOrigin(settings.storeUrl);
  if (origin === null) throw new RangeError('restoreUrl: storeUrl is not an http(s) URL');
  const cartPage = `${origin}/cart`;
  const discountCode = cart.discountCode || null;
  const restore = settings.cartRestore;

  let url: string;
  if (restore?.kind === 'shopify') {
    url = shopifyPermalink(origin, cart.lines, discountCode);
  } else if (restore?.kind === 'template' && !restoreTemplateProblem(restore.url, origin)) {
    url = fillTemplate(restore.url, cart, discountCode);
  } else {
    url = cartPage;
  }
  return onOrigin(url, origin) ?? cartPage;
}

/** `url` normalised, when it parses and is on `origin`; otherwise `null`. */
function onOrigin(url: string, origin: string): string | null {
  const parsed = parseUrl(url);
  return parsed && parsed.origin === origin && !hasCredentials(parsed) ? parsed.href : null;
}

const shopifyVariant = /^(?:gid:\/\/shopify\/ProductVariant\/)?(\d{1,20})$/;

function shopifyPermalink(
  origin: string,
  lines: readonly RestoreLine[],
  discountCode: string | null,
): string {
  const items = addUp(lines, (line) => shopifyVariant.exec(line.variantId ?? '')?.[1]);
  if (items.size === 0) {
    return discountCode
      ? `${origin}/discount/${encode(discountCode)}?redirect=/cart`
      : `${origin}/cart`;
  }
  const path = [...items].map(([id, quantity]) => `${id}:${quantity}`).join(',');
  return `${origin}/cart/${path}${discountCode ? `?discount=${encode(discountCode)}` : ''}`;
}

function fillTemplate(template: string, cart: RestoreRequest, discountCode: string | null): string {
  const items = addUp(cart.lines, (line) => line.variantId || line.productId || line.sku);
  const values: Record<Placeholder, string> = {
    cart_id: encode(cart.externalCartId),
    discount: encode(discountCode ?? ''),
    lines: [...items].map(([id, quantity]) => `${encode(id)}:${quantity}`).join(','),
  };
  return template.replace(placeholderPattern, (whole, name: string) =>
    placeholders.includes(name as Placeholder) ? values[name as Placeholder] : whole,
  );
}

/** Quantities by item id, in first-seen order, for lines that have an id and a valid quantity. */
function addUp(
  lines: readonly RestoreLine[],
  idOf: (line: RestoreLine) => string | undefined,
): Map<string, number> {
  const items = new Map<string, number>();
  for (const line of lines) {
    const id = idOf(line);
    if (!id || !Number.isInteger(line.quantity) || line.quantity < 1) continue;
    items.set(id, Math.min(maxQuantity, (items.get(id) ?? 0) + line.quantity));
  }
  return items;
}

// A lone surrogate would make encodeURIComponent throw; it becomes U+FFFD instead.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const encode = (value: string) =>
  encodeURIComponent(String(value).replace(loneSurrogate, '\uFFFD'));
