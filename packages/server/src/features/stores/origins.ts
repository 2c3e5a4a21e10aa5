import { AppError } from '../../errors.js';

// What an allowed origin may look like before the URL parser sees it. The WHATWG parser is
// lenient (it drops tabs and newlines, accepts `https:host`, backslashes and numeric IPv4
// shorthands), and an allow-list should accept only what a browser would send back in an
// Origin header, give or take letter case, a default port and a trailing slash.
const originShape = /^(https?):\/\/([^/?#@\\\s]+)\/?$/i;
const hostAndPort = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::([0-9]{1,5}))?$/i;
const dnsLabel = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const dnsName = new RegExp(`^${dnsLabel}(?:\\.${dnsLabel})*$`);
const plainHttpHosts = new Set(['localhost', '127.0.0.1']);
const maxLength = 300;

function invalid(input: string, problem: string): AppError {
  const shown = input.length > 80 ? `${input.slice(0, 80)}...` : input;
  return new AppError('WB_ERR_VALIDATION', `origin ${JSON.stringify(shown)} ${problem}`);
}

/**
 * Checks one allowed origin and returns it in the form browsers send in the Origin header:
 * `scheme://host[:port]`, lower case, punycode host, no default port, no path. Plain http is
 * allowed only for localhost and 127.0.0.1 (development). Throws `WB_ERR_VALIDATION` otherwise.
 *
 * @example
 *   normalizeOrigin('https://Shop.Example:443/'); // 'https://shop.example'
 */
export function normalizeOrigin(input: string): string {
  const trimmed = input.trim();
  if (trimmed.length === 0) throw invalid(input, 'is empty');
  if (trimmed.length > maxLength) throw invalid(input, `is longer than ${maxLength} characters`);
  const shape = originShape.exec(trimmed);
  if (!shape) {
    throw invalid(
      input,
      'must be a bare origin such as https://shop.example (scheme, host and optional port; no path, query or user)',
    );
  }
  const scheme = (shape[1] ?? '').toLowerCase();
  const parts = hostAndPort.exec(shape[2] ?? '');
  if (!parts) throw invalid(input, 'has a malformed host or port');
  const rawHost = (parts[1] ?? '').toLowerCase();
  const rawPort = parts[2];
  if (rawPort !== undefined && !/^[1-9][0-9]*$/.test(rawPort)) {
    throw invalid(input, 'has a malformed port');
  }
  if (rawPort !== undefined && Number(rawPort) > 65535) {
    throw invalid(input, 'has a port above 65535');
  }

  let url: URL;
  try {
    url = new URL(`${scheme}://${rawHost}${rawPort === undefined ? '' : `:${rawPort}`}`);
  } catch {
    throw invalid(input, 'has an invalid host');
  }
  // An ASCII host must come out of the parser unchanged (no IPv4 shorthands, no IPv6
  // re-spellings); a non-ASCII one is converted to punycode, as browsers do.
  const isAscii = /^[\x21-\x7e]*$/.test(rawHost);
  if (isAscii && url.hostname !== rawHost)
    throw invalid(input, 'has a host in a non-standard form');
  if (!url.hostname.startsWith('[') && !dnsName.test(url.hostname)) {
    throw invalid(input, 'has an invalid host name');
  }
  if (url.hostname.length > 253) throw invalid(input, 'has a host name that is too long');
  if (scheme === 'http' && !plainHttpHosts.has(url.hostname)) {
    throw invalid(
      input,
      'must use https:// (plain http is allowed only for localhost and 127.0.0.1)',
    );
  }
  return url.origin;
}

/** Normalises every origin (see `normalizeOrigin`) and drops duplicates, keeping order. */
export function normalizeOrigins(inputs: readonly string[]): string[] {
  return [...new Set(inputs.map(normalizeOrigin))];
}
