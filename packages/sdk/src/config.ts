import type { InitOptions } from './types.js';

/** Where the sdk talks to its server. */
export interface Endpoints {
  /** `ws(s)://<endpoint>/v1/stream?key=...` */
  stream: string;
  /** `http(s)://<endpoint>/v1/collect?key=...`, for the HTTP fallback and `sendBeacon`. */
  collect: string;
}

const bad = (what: string) => new Error(`[winback] init: bad ${what}`);

/**
 * Checks `init`'s key and endpoint and derives the server's URLs. This is the one place the sdk
 * throws: a missing key or a bad endpoint is a mistake in the page's code, and failing loudly at
 * `init` is kinder than silence.
 *
 * @example
 *   endpoints({ key: 'pk_live_abc123def456', endpoint: 'https://winback.example.com' });
 *   // { stream: 'wss://winback.example.com/v1/stream?key=pk_live_abc123def456', collect: ... }
 */
export function endpoints(options: InitOptions): Endpoints {
  const { key, endpoint } = options || ({} as InitOptions);
  // The key's alphabet needs no URL encoding.
  if (!/^pk_[\w-]{8,}$/.test(key)) throw bad('key (pk_...)');
  let url: URL;
  try {
    url = new URL(endpoint, location.href);
    if (!endpoint || !/^https?:$/.test(url.protocol)) throw 0;
  } catch {
    throw bad('endpoint (http(s) URL)');
  }
  // `https://host/base/` → `https://host/base/v1/`; the WebSocket URL swaps `http` for `ws`.
  const root = `${url.origin}${url.pathname.replace(/\/$/, '')}/v1/`;
  return { stream: `ws${root.slice(4)}stream?key=${key}`, collect: `${root}collect?key=${key}` };
}

/** Exit-intent threshold multiplier for `init`'s `sensitivity`. */
export const sensitivityFactor = (sensitivity: InitOptions['sensitivity']): number =>
  sensitivity === 'low' ? 0.5 : sensitivity === 'high' ? 2 : 1;
