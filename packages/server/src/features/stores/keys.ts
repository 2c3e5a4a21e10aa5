import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `pk_` + 24 url-safe characters (144 random bits): public, names a store to the storefront. */
export const publicKeyPattern = /^pk_[A-Za-z0-9_-]{24,}$/;
/** `sk_` + 43 url-safe characters (256 random bits): the store's admin secret. */
export const adminSecretPattern = /^sk_[A-Za-z0-9_-]{32,}$/;

const hashScheme = 'sha256:';

export function generatePublicKey(): string {
  return `pk_${randomBytes(18).toString('base64url')}`;
}

export function generateAdminSecret(): string {
  return `sk_${randomBytes(32).toString('base64url')}`;
}

/**
 * The digest stored in place of an admin secret. A plain SHA-256 is enough here: slow hashes
 * (scrypt, argon2) exist to make guessing low-entropy human passwords expensive, but this secret
 * is 256 random bits that no dictionary contains, so even a leaked digest cannot be reversed by
 * guessing, and checking it on every admin request stays cheap. The scheme prefix leaves room
 * to change algorithms later.
 */
export function hashAdminSecret(secret: string): string {
  return `${hashScheme}${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

/** Compares in constant time, so response timing says nothing about how much of it matched. */
export function adminSecretMatches(secret: string, storedHash: string): boolean {
  if (!storedHash.startsWith(hashScheme)) return false;
  const stored = Buffer.from(storedHash.slice(hashScheme.length), 'hex');
  const presented = createHash('sha256').update(secret, 'utf8').digest();
  // Both are 32-byte digests unless the stored value is damaged; timingSafeEqual needs equal
  // lengths, and a length check leaks nothing about the secret.
  if (stored.length !== presented.length) return false;
  return timingSafeEqual(stored, presented);
}
