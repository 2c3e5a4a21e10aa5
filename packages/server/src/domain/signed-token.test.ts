import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  minSecretLength,
  signToken,
  type TokenClaims,
  type TokenPurpose,
  verifyToken,
} from './signed-token.js';

const secret = 'current-secret-0123456789abcdef';
const oldSecret = 'previous-secret-0123456789abcdef';
const purposes: TokenPurpose[] = ['recover', 'open', 'unsubscribe'];
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const now = new Date('2026-11-20T12:00:00Z');

const claims: TokenClaims = {
  purpose: 'recover',
  messageId: '0b7f3c1e-5d2a-4f6b-9c8d-1e2f3a4b5c6d',
  expiresAt: new Date('2026-12-20T12:00:00Z'),
};

const claimsArbitrary = fc.record({
  purpose: fc.constantFrom(...purposes),
  messageId: fc.uuid(),
  // From now to 2106, in whole seconds.
  expiresAt: fc
    .integer({ min: now.getTime() / 1000 + 1, max: 0xffff_ffff })
    .map((seconds) => new Date(seconds * 1000)),
});
const secretArbitrary = fc.string({ minLength: minSecretLength, maxLength: 64 });

describe('signed link tokens', () => {
  it('round-trips any claims, compactly and URL-safely', () => {
    fc.assert(
      fc.property(secretArbitrary, claimsArbitrary, (key, tokenClaims) => {
        const token = signToken(key, tokenClaims);
        expect(token).toMatch(/^[A-Za-z0-9_-]{72}$/);
        expect(verifyToken(key, token, tokenClaims.purpose, now)).toEqual({
          ...tokenClaims,
          messageId: tokenClaims.messageId.toLowerCase(),
        });
      }),
    );
  });

  it('carries the message uuid and nothing readable about the shopper', () => {
    const token = signToken(secret, claims);
    const bytes = Buffer.from(token, 'base64url');
    expect(bytes.subarray(2, 18).toString('hex')).toBe(claims.messageId.replaceAll('-', ''));
    expect(bytes.length).toBe(54);
  });

  it('drops a fraction of a second of the expiry', () => {
    const token = signToken(secret, { ...claims, expiresAt: new Date('2026-12-20T12:00:00.999Z') });
    expect(verifyToken(secret, token, 'recover', now)?.expiresAt).toEqual(
      new Date('2026-12-20T12:00:00Z'),
    );
  });

  it('refuses a token for another purpose', () => {
    for (const signedFor of purposes) {
      const token = signToken(secret, { ...claims, purpose: signedFor });
      for (const askedFor of purposes) {
        const result = verifyToken(secret, token, askedFor, now);
        if (askedFor === signedFor) expect(result).not.toBeNull();
        else expect(result).toBeNull();
      }
    }
  });

  it('refuses a token at and after its expiry', () => {
    const token = signToken(secret, claims);
    expect(
      verifyToken(secret, token, 'recover', new Date(claims.expiresAt.getTime() - 1)),
    ).not.toBe(null);
    expect(verifyToken(secret, token, 'recover', claims.expiresAt)).toBeNull();
    expect(verifyToken(secret, token, 'recover', new Date('2030-01-01T00:00:00Z'))).toBeNull();
    expect(verifyToken(secret, token, 'recover', new Date(Number.NaN))).toBeNull();
  });

  it('refuses a token signed with another secret', () => {
    fc.assert(
      fc.property(secretArbitrary, secretArbitrary, claimsArbitrary, (a, b, tokenClaims) => {
        fc.pre(a !== b);
        expect(verifyToken(b, signToken(a, tokenClaims), tokenClaims.purpose, now)).toBeNull();
      }),
    );
  });

  it('accepts tokens of previous secrets while they are listed, and signs with the first', () => {
    const oldToken = signToken(oldSecret, claims);
    expect(verifyToken([secret, oldSecret], oldToken, 'recover', now)).not.toBeNull();
    expect(verifyToken([secret], oldToken, 'recover', now)).toBeNull();
    expect(verifyToken(secret, oldToken, 'recover', now)).toBeNull();
    const newToken = signToken(secret, claims);
    expect(verifyToken([secret, oldSecret], newToken, 'recover', now)).not.toBeNull();
  });

  it('refuses any single-character change of a token', () => {
    fc.assert(
      fc.property(
        claimsArbitrary,
        fc.nat(71),
        fc.constantFrom(...alphabet, '=', '.', '+', '/', ' ', '%', 'é', '\0'),
        (tokenClaims, position, replacement) => {
          const token = signToken(secret, tokenClaims);
          fc.pre(token[position] !== replacement);
          const changed = token.slice(0, position) + replacement + token.slice(position + 1);
          expect(verifyToken(secret, changed, tokenClaims.purpose, now)).toBeNull();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a truncated or extended token', () => {
    fc.assert(
      fc.property(claimsArbitrary, fc.nat(71), fc.string(), (tokenClaims, length, extra) => {
        const token = signToken(secret, tokenClaims);
        expect(verifyToken(secret, token.slice(0, length), tokenClaims.purpose, now)).toBeNull();
        if (extra !== '') {
          expect(verifyToken(secret, token + extra, tokenClaims.purpose, now)).toBeNull();
        }
      }),
    );
  });

  it('never verifies nor throws on arbitrary strings', () => {
    const anyToken = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom(...alphabet), minLength: 72, maxLength: 72 }),
      fc
        .uint8Array({ minLength: 54, maxLength: 54 })
        .map((b) => Buffer.from(b).toString('base64url')),
    );
    fc.assert(
      fc.property(anyToken, fc.constantFrom(...purposes), (token, purpose) => {
        expect(verifyToken([secret, oldSecret], token, purpose, now)).toBeNull();
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses to sign bad claims or with a weak secret', () => {
    expect(() => signToken('short', claims)).toThrow(RangeError);
    expect(() => signToken(secret, { ...claims, messageId: 'not-a-uuid' })).toThrow(RangeError);
    expect(() => signToken(secret, { ...claims, expiresAt: new Date(Number.NaN) })).toThrow(
      RangeError,
    );
    expect(() => signToken(secret, { ...claims, expiresAt: new Date('2200-01-01') })).toThrow(
      RangeError,
    );
    expect(() =>
      signToken(secret, { ...claims, purpose: 'other' as unknown as TokenPurpose }),
    ).toThrow(RangeError);
    expect(() => verifyToken([], signToken(secret, claims), 'recover', now)).toThrow(RangeError);
    expect(() => verifyToken('short', signToken(secret, claims), 'recover', now)).toThrow(
      RangeError,
    );
  });
});
