import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions, REDACTED, scrub } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = pino(loggerOptions({ logLevel: 'info', logPretty: false }), stream);
  return { logger, output: () => lines.join('') };
}

describe('log redaction', () => {
  it('masks emails, phones and keys inside free text', () => {
    const text = scrub(
      'mail jane.doe+shop@example.co.uk, call +44 20 7946 0958, key pk_live_abcdefgh12345678 and Bearer abc.def',
    );
    expect(text).not.toMatch(/jane|7946|pk_live|abc\.def/);
    expect(text.match(new RegExp(REDACTED.replace(/[[\]]/g, '\\$&'), 'g'))).toHaveLength(4);
  });

  it('keeps ordinary text, ids and numbers', () => {
    expect(scrub('cart 01HZX3 abandoned after 1800 s, value 4599')).toBe(
      'cart 01HZX3 abandoned after 1800 s, value 4599',
    );
  });

  it('never lets an email address through, wherever it is logged', () => {
    fc.assert(
      fc.property(
        fc.emailAddress().filter((email) => /\.[A-Za-z]{2,}$/.test(email)),
        fc.string(),
        (email, noise) => {
          const { logger, output } = capture();
          logger.info({ shopper: { email }, note: `${noise} ${email}` }, `identified ${email}`);
          logger.warn(`${email} bounced`);
          return !output().includes(email);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('censors secret fields and credentials in URLs', () => {
    const { logger, output } = capture();
    logger.info(
      {
        phone: '07700 900123',
        store: { adminSecret: 'sk_topsecretvalue123', token: 't' },
        url: 'postgres://app:hunter2@db/winback',
      },
      'started',
    );
    expect(output()).not.toMatch(/07700|topsecret|hunter2/);
    expect(output()).toContain('postgres://app:[redacted]@db/winback');
  });

  it('logs request paths without their query strings', () => {
    const { logger, output } = capture();
    logger.info({ req: { method: 'GET', url: '/r/abc?email=a%40b.co' } }, 'request');
    expect(output()).toContain('"path":"/r/abc"');
    expect(output()).not.toContain('email=');
  });
});
