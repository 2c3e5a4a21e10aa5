import type { DeviceContext, PageContext } from '@winback/shared';

// Query parameter names that may carry personal data or secrets. Broad on purpose: dropping a
// harmless parameter costs nothing, keeping an email address in an analytics URL costs a lot.
const PERSONAL =
  /mail|phone|tel|name|addr|street|zip|post|birth|card|user|login|cust|acc|token|secret|pass|pw|auth|key|sig|code|sess/i;
// An `@`, also percent-encoded once or more (`%40`, `%2540`): what an email address needs.
const AT = /@|%(25)*40/i;

/**
 * The URL without what may identify the shopper: query parameters with a personal-sounding
 * name or an email-like value, path segments holding an email, user info and the fragment
 * (tokens travel there). Returns '' for anything but http(s). The UTM parameters it keeps go
 * into `utm`, when given.
 *
 * @example
 *   cleanUrl('https://shop.example/cart?email=a%40b.co&variant=7#token=x');
 *   // 'https://shop.example/cart?variant=7'
 */
export function cleanUrl(href: string, utm: Record<string, string> = {}): string {
  try {
    const url = new URL(href);
    for (const [name, value] of [...url.searchParams]) {
      if (PERSONAL.test(name) || AT.test(name + value)) url.searchParams.delete(name);
      else {
        const field = /^utm_(source|medium|campaign|term|content)$/.exec(name)?.[1];
        if (field) utm[field] = value.slice(0, 200);
      }
    }
    url.hash = url.username = url.password = '';
    url.pathname = url.pathname.replace(/[^/]*(@|%(25)*40)[^/]*/gi, '-');
    return /^https?:/.test(url.href) ? url.href.slice(0, 2048) : '';
  } catch {
    return '';
  }
}

/** The page as the server may see it: clean URL and referrer, title and UTM parameters. */
export function pageContext(): PageContext {
  const utm = {};
  return {
    url: cleanUrl(location as unknown as string, utm),
    title: document.title.slice(0, 300),
    referrer: cleanUrl(document.referrer),
    utm,
  };
}

/**
 * What only the browser knows about the device: viewport, language, timezone. Its type, OS and
 * browser are left to the server, which reads them from the request's User-Agent header.
 */
export const deviceContext = (): DeviceContext => ({
  viewport: { width: innerWidth, height: innerHeight },
  language: navigator.language,
  timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
});
