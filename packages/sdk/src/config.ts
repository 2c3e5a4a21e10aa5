import type { InitOptions } from './types.js';

const bad = (what: string) => new Error(`[winback] init: bad ${what}`);

/**
 * Checks `init`'s key and endpoint and derives the server's URLs: the WebSocket stream and the
 * HTTP collect URL (for the fallback and `sendBeacon`). This is the one place the sdk throws: a
 * missing key or a bad endpoint is a mistake in the page's code, and failing loudly at `init` is
 * kinder than silence.
 *
 * @example
 *   endpoints({ key: 'pk_live_abc123def456', endpoint: 'https://winback.example.com' });
 *   // ['wss://winback.example.com/v1/stream?key=pk_live_abc123def456', 'https://...collect?key=...']
 */
export function endpoints(options: InitOptions): [stream: string, collect: string] {
  const { key, endpoint } = options || ({} as InitOptions);
  // The key's alphabet needs no URL encoding.
  if (!/^pk_[\w-]{8,}$/.test(key)) throw bad('key');
  let root = '';
  try {
    const url = new URL(endpoint, location as unknown as string);
    // `https://host/base/` → `https://host/base/v1/`; the WebSocket URL swaps `http` for `ws`.
    if (endpoint && /^https?:/.test(url.href)) {
      root = `${url.origin}${url.pathname.replace(/\/?$/, '/v1/')}`;
    }
  } catch {}
  if (!root) throw bad('endpoint');
  return [`ws${root.slice(4)}stream?key=${key}`, `${root}collect?key=${key}`];
}
