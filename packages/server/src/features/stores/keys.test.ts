import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adminSecretMatches,
  adminSecretPattern,
  generateAdminSecret,
  generatePublicKey,
  hashAdminSecret,
  publicKeyPattern,
} from './keys.js';

describe('store keys', () => {
  it('have the documented shapes and do not repeat', () => {
    const publicKeys = new Set<string>();
    const secrets = new Set<string>();
    for (let i = 0; i < 200; i += 1) {
      const publicKey = generatePublicKey();
      const secret = generateAdminSecret();
      expect(publicKey).toMatch(publicKeyPattern);
      expect(publicKey.length).toBeGreaterThanOrEqual(3 + 24);
      expect(secret).toMatch(adminSecretPattern);
      expect(secret.length).toBeGreaterThanOrEqual(3 + 32);
      publicKeys.add(publicKey);
      secrets.add(secret);
    }
    expect(publicKeys.size).toBe(200);
    expect(secrets.size).toBe(200);
  });

  it('store a digest that does not contain the secret and matches only it', () => {
    const secret = generateAdminSecret();
    const digest = hashAdminSecret(secret);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(digest).not.toContain(secret.slice(3));
    expect(adminSecretMatches(secret, digest)).toBe(true);
    fc.assert(
      fc.property(fc.string(), (other) => {
        fc.pre(other !== secret);
        expect(adminSecretMatches(other, digest)).toBe(false);
      }),
    );
  });

  it('never match a damaged or foreign digest', () => {
    const secret = generateAdminSecret();
    for (const stored of [
      '',
      'sha256:',
      'sha256:abcd',
      hashAdminSecret(secret).slice(7),
      'scrypt:00',
    ]) {
      expect(adminSecretMatches(secret, stored)).toBe(false);
    }
  });
});
