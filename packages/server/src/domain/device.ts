import Bowser from 'bowser';

/**
 * What kind of device a shopper uses, read from the request that carried their events: the
 * `User-Agent` header, corrected by the low-entropy client hints Chromium sends by default
 * (`Sec-CH-UA-Mobile`, `Sec-CH-UA-Platform`). Done here rather than in the browser so the sdk stays
 * small, and so every event of a connection gets the same answer.
 *
 * @example
 *   deviceFromHeaders({ 'user-agent': 'Mozilla/5.0 (iPhone; ...) ... Mobile/15E148 Safari/604.1' })
 *   // { type: 'mobile', os: 'iOS', browser: 'Safari' }
 */
export interface Device {
  type: 'desktop' | 'mobile' | 'tablet';
  os?: string;
  browser?: string;
}

export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

const first = (value: string | string[] | undefined): string | undefined =>
  (Array.isArray(value) ? value[0] : value)?.slice(0, 512);

/** A structured header string item (`"Android"`) without its quotes. */
const unquote = (value: string | undefined): string | undefined =>
  value?.trim().replace(/^"(.*)"$/, '$1') || undefined;

export function deviceFromHeaders(headers: RequestHeaders): Device | undefined {
  const userAgent = first(headers['user-agent']);
  const mobileHint = first(headers['sec-ch-ua-mobile'])?.trim();
  const platformHint = unquote(first(headers['sec-ch-ua-platform']));
  if (!userAgent && !mobileHint && !platformHint) return undefined;

  const parsed = userAgent ? Bowser.parse(userAgent) : undefined;
  const platform = parsed?.platform.type;
  let type: Device['type'] =
    platform === 'mobile' ? 'mobile' : platform === 'tablet' ? 'tablet' : 'desktop';
  // The hint is the browser's own word; it wins over a user agent that may be frozen or reduced
  // (Chrome on Android reports the model as "K").
  if (mobileHint === '?1') type = 'mobile';
  else if (mobileHint === '?0' && type === 'mobile') type = 'desktop';

  const device: Device = { type };
  const os = platformHint ?? parsed?.os.name;
  if (os) device.os = os.slice(0, 64);
  const browser = parsed?.browser.name;
  if (browser) device.browser = browser.slice(0, 64);
  return device;
}
