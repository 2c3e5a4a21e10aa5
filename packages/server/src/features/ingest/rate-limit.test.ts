import { describe, expect, it } from 'vitest';
import { createMemoryRateLimiter, ingestThrottle, type RateRule } from './rate-limit.js';

const rule: RateRule = { limit: 5, windowMs: 1_000 };

function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('createMemoryRateLimiter', () => {
  it('allows up to the limit in a window and refuses beyond it, with the time left', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter({ now: time.now });
    for (let i = 0; i < 5; i += 1) {
      expect(await limiter.take('a', 1, rule)).toEqual({ allowed: true });
    }
    time.advance(300);
    expect(await limiter.take('a', 1, rule)).toEqual({ allowed: false, retryAfterMs: 700 });
  });

  it('counts costs, and a refused take counts nothing', async () => {
    const limiter = createMemoryRateLimiter({ now: clock().now });
    expect((await limiter.take('a', 3, rule)).allowed).toBe(true);
    expect((await limiter.take('a', 3, rule)).allowed).toBe(false);
    expect((await limiter.take('a', 2, rule)).allowed).toBe(true);
    expect((await limiter.take('a', 1, rule)).allowed).toBe(false);
  });

  it('lets a take bigger than the whole limit through an empty window only', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter({ now: time.now });
    expect((await limiter.take('a', 50, rule)).allowed).toBe(true);
    expect((await limiter.take('a', 1, rule)).allowed).toBe(false);
    time.advance(1_000);
    expect((await limiter.take('a', 50, rule)).allowed).toBe(true);
  });

  it('refills when the window ends', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter({ now: time.now });
    for (let i = 0; i < 5; i += 1) await limiter.take('a', 1, rule);
    expect((await limiter.take('a', 1, rule)).allowed).toBe(false);
    time.advance(999);
    expect((await limiter.take('a', 1, rule)).allowed).toBe(false);
    time.advance(1);
    for (let i = 0; i < 5; i += 1) {
      expect((await limiter.take('a', 1, rule)).allowed).toBe(true);
    }
    expect((await limiter.take('a', 1, rule)).allowed).toBe(false);
  });

  it('keeps keys apart', async () => {
    const limiter = createMemoryRateLimiter({ now: clock().now });
    expect((await limiter.take('a', 5, rule)).allowed).toBe(true);
    expect((await limiter.take('a', 1, rule)).allowed).toBe(false);
    expect((await limiter.take('b', 5, rule)).allowed).toBe(true);
  });

  it('drops ended windows and never holds more than maxKeys', async () => {
    const time = clock();
    const limiter = createMemoryRateLimiter({ now: time.now, maxKeys: 100 });
    for (let i = 0; i < 1_000; i += 1) {
      await limiter.take(`key-${i}`, 1, rule);
      expect(limiter.size).toBeLessThanOrEqual(100);
    }
    // The newest keys are kept, the oldest evicted first.
    expect((await limiter.take('key-999', 5, rule)).allowed).toBe(false);
    time.advance(1_000);
    await limiter.take('fresh', 1, rule);
    expect(limiter.size).toBe(1);
  });
});

describe('ingestThrottle', () => {
  it('counts frames per IP and events per key, each with its own limit', async () => {
    const time = clock();
    const throttle = ingestThrottle(createMemoryRateLimiter({ now: time.now }), {
      eventsPerSecondPerKey: 10,
      framesPerSecondPerIp: 2,
    });
    expect(await throttle.frame('10.0.0.1')).toBeNull();
    expect(await throttle.frame('10.0.0.1')).toBeNull();
    expect(await throttle.frame('10.0.0.1')).toBe(1_000);
    expect(await throttle.frame('10.0.0.2')).toBeNull();
    for (const local of ['127.0.0.1', '::1', '::ffff:127.0.0.1', 'unknown']) {
      for (let i = 0; i < 5; i += 1) expect(await throttle.frame(local)).toBeNull();
    }
    expect(await throttle.events('pk_a', 10)).toBeNull();
    time.advance(250);
    expect(await throttle.events('pk_a', 1)).toBe(750);
    expect(await throttle.events('pk_b', 1)).toBeNull();
  });
});
