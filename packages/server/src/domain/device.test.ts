import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceFromHeaders } from './device.js';

const agents = {
  iphoneSafari:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  androidChrome:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
  androidTablet:
    'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  windowsChrome:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  macFirefox: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0',
};

describe('deviceFromHeaders', () => {
  it.each([
    [agents.iphoneSafari, { type: 'mobile', os: 'iOS', browser: 'Safari' }],
    [agents.androidChrome, { type: 'mobile', os: 'Android', browser: 'Chrome' }],
    [agents.ipad, { type: 'tablet', os: 'iOS', browser: 'Safari' }],
    [agents.androidTablet, { type: 'tablet', os: 'Android', browser: 'Chrome' }],
    [agents.windowsChrome, { type: 'desktop', os: 'Windows', browser: 'Chrome' }],
    [agents.macFirefox, { type: 'desktop', os: 'macOS', browser: 'Firefox' }],
  ])('reads %s', (userAgent, expected) => {
    expect(deviceFromHeaders({ 'user-agent': userAgent })).toEqual(expected);
  });

  it('lets the client hints correct a reduced user agent', () => {
    expect(
      deviceFromHeaders({
        'user-agent': agents.windowsChrome,
        'sec-ch-ua-mobile': '?1',
        'sec-ch-ua-platform': '"Android"',
      }),
    ).toEqual({ type: 'mobile', os: 'Android', browser: 'Chrome' });
    expect(
      deviceFromHeaders({ 'user-agent': agents.androidChrome, 'sec-ch-ua-mobile': '?0' })?.type,
    ).toBe('desktop');
  });

  it('knows nothing without headers', () => {
    expect(deviceFromHeaders({})).toBeUndefined();
  });

  it('never throws and keeps its fields short, whatever the headers say', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 2000 }),
        fc.string(),
        fc.string(),
        (ua, mobile, platform) => {
          const device = deviceFromHeaders({
            'user-agent': ua,
            'sec-ch-ua-mobile': mobile,
            'sec-ch-ua-platform': platform,
          });
          if (!device) return true;
          return (
            ['desktop', 'mobile', 'tablet'].includes(device.type) &&
            (device.os ?? '').length <= 64 &&
            (device.browser ?? '').length <= 64
          );
        },
      ),
    );
  });
});
