import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl, withOverrides } from './config.js';

describe('loadConfig', () => {
  it('has working defaults for the embedded demo', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      publicUrl: 'http://127.0.0.1:3000',
      databaseUrl: undefined,
      queue: 'local',
      dataDir: '.winback',
      rateLimitEventsPerSecond: 1000,
      rateLimitFramesPerIpPerSecond: 50,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads link secrets for rotation and never echoes a bad one', () => {
    const current = 'c'.repeat(32);
    const previous = 'p'.repeat(40);
    expect(loadConfig({ LINK_SECRET: `${current}, ${previous}` }).linkSecrets).toEqual([
      current,
      previous,
    ]);
    expect(loadConfig({}).linkSecrets).toBeUndefined();
    const short = 'too-short-secret-value';
    expect(() => loadConfig({ LINK_SECRET: short })).toThrow(/LINK_SECRET must be/);
    try {
      loadConfig({ LINK_SECRET: `${current},${short}` });
    } catch (error) {
      expect(String(error)).not.toContain(short);
    }
  });

  it('reads production settings', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      PUBLIC_URL: 'https://winback.example.com/',
      DATABASE_URL: 'postgres://app:pw@db.internal:5432/winback',
      REDIS_URL: 'redis://cache.internal:6379',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_EVENTS_PER_SECOND: '5000',
      RATE_LIMIT_FRAMES_PER_IP_PER_SECOND: '200',
    });
    expect(config).toMatchObject({
      rateLimitEventsPerSecond: 5000,
      rateLimitFramesPerIpPerSecond: 200,
      port: 8080,
      host: '0.0.0.0',
      publicUrl: 'https://winback.example.com',
      databaseUrl: 'postgres://app:pw@db.internal:5432/winback',
      redisUrl: 'redis://cache.internal:6379',
      queue: 'bullmq',
      logLevel: 'warn',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' })).toMatchObject({ port: 3000, queue: 'local' });
  });

  it('ignores variables that are not its own', () => {
    expect(() => loadConfig({ PATH: '/bin', HOME: 'x', PORT: '1' })).not.toThrow();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '3.5'],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['PUBLIC_URL', 'ftp://example.com'],
    ['LOG_LEVEL', 'loud'],
    ['SMTP_URL', 'mail.example.com'],
    ['DATABASE_POOL_MAX', '0'],
    ['RATE_LIMIT_EVENTS_PER_SECOND', '0'],
    ['RATE_LIMIT_FRAMES_PER_IP_PER_SECOND', 'many'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`^invalid configuration: ${name} `),
    );
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })).toThrow(/PORT .*; LOG_LEVEL /);
  });

  it('never echoes a database password in its error', () => {
    try {
      loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db/x' });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
  });

  it('either parses a PORT or names it, for any string', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        try {
          const { port } = loadConfig({ PORT: value });
          return Number.isInteger(port) && port >= 0 && port <= 65535;
        } catch (error) {
          return error instanceof ConfigError && error.message.includes('PORT');
        }
      }),
    );
  });

  it('switches the queue driver with the Redis URL when overridden', () => {
    const config = loadConfig({});
    expect(withOverrides(config, { redisUrl: 'redis://127.0.0.1:6379' }).queue).toBe('bullmq');
    expect(withOverrides(config, { databaseUrl: 'postgres://x@h/db' }).databaseUrl).toBe(
      'postgres://x@h/db',
    );
  });
});

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(redactUrl('no url')).toBe('no url');
  });
});
