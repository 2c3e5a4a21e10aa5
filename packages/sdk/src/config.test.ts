import { describe, expect, it } from 'vitest';
import { endpoints } from './config.js';
import type { InitOptions } from './types.js';

const key = 'pk_live_0123456789abcdef';

describe('endpoints', () => {
  it('derives the stream and collect URLs', () => {
    expect(endpoints({ key, endpoint: 'https://winback.example.com' })).toEqual([
      `wss://winback.example.com/v1/stream?key=${key}`,
      `https://winback.example.com/v1/collect?key=${key}`,
    ]);
    expect(endpoints({ key, endpoint: 'http://127.0.0.1:8080/base/' })[0]).toBe(
      `ws://127.0.0.1:8080/base/v1/stream?key=${key}`,
    );
  });

  it('resolves a relative endpoint against the page', () => {
    expect(endpoints({ key, endpoint: '/' })[1]).toBe(`${location.origin}/v1/collect?key=${key}`);
  });

  it('throws on a missing or malformed key', () => {
    for (const bad of [undefined, '', 'sk_live_0123456789', 'pk_short', 'pk_0123456789 x']) {
      expect(() => endpoints({ key: bad, endpoint: 'https://w.example' } as InitOptions)).toThrow(
        /\[winback\] init: bad key/,
      );
    }
    expect(() => endpoints(undefined as unknown as InitOptions)).toThrow(/bad key/);
  });

  it('throws on a missing or non-http endpoint', () => {
    for (const bad of [undefined, '', 'ftp://w.example', 'javascript:alert(1)', 'http://']) {
      expect(() => endpoints({ key, endpoint: bad } as InitOptions)).toThrow(
        /\[winback\] init: bad endpoint/,
      );
    }
  });
});
