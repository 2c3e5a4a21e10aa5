import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring tokens for the links in recovery messages: the recovery link (`/r/:token`),
 * the open pixel (`/o/:token`) and the unsubscribe link (`/u/:token`).
 *
 * A token is 72 URL-safe characters (base64url of 54 bytes, no padding):
 *
 *   version (1) | purpose (1) | message uuid (16) | expiry, Unix seconds, uint32 BE (4) | MAC (32)
 *
 * The MAC is HMAC-SHA256 over a fixed context string and the first 22 bytes, so a token made for
 * another use of the same secret can never pass as one of these, and a token for one purpose
 * (an open pixel) can never be used for another (an unsubscribe). The token carries nothing about
 * the shopper: only the send ledger row's uuid, which means nothing without the database.
 *
 * Secrets rotate: sign with the current one, verify with `[current, ...previous]` until the
 * longest-lived token signed with a previous one has expired.
 *
 * @example
 *   const token = signToken(secret, { purpose: 'recover', messageId, expiresAt });
 *   verifyToken([secret, oldSecret], token, 'recover'); // { purpose, messageId, expiresAt } or null
 */
export type TokenPurpose = 'recover' | 'open' | 'unsubscribe';

export interface TokenClaims {
  purpose: TokenPurpose;
  /** The send ledger row (`messages.id`) the link belongs to. */
  messageId: string;
  /** Whole seconds: a fraction of a second is dropped when signing. */
  expiresAt: Date;
}

/** Shorter secrets are refused: an HMAC key should have at least 128 bits of entropy. */
export const minSecretLength = 16;

const VERSION = 1;
const CONTEXT = Buffer.from('winback:link-token:v1\0', 'utf8');
const PURPOSE_CODES: Readonly<Record<TokenPurpose, number>> = {
  recover: 1,
  open: 2,
  unsubscribe: 3,
};
const PAYLOAD_BYTES = 1 + 1 + 16 + 4;
const MAC_BYTES = 32;
const TOKEN_BYTES = PAYLOAD_BYTES + MAC_BYTES;
/** 54 bytes are exactly 72 base64url characters, with no padding and no spare bits. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{72}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_EXPIRY_SECONDS = 0xffff_ffff;

function mac(secret: string, payload: Buffer): Buffer {
  return createHmac('sha256', secret).update(CONTEXT).update(payload).digest();
}

function checkSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < minSecretLength) {
    throw new RangeError(`a token secret must be at least ${minSecretLength} characters long`);
  }
}

function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Makes a token for one link of one message. Throws on a secret shorter than `minSecretLength`,
 * a `messageId` that is not a uuid, an unknown purpose, or an expiry outside 1970–2106.
 */
export function signToken(secret: string, claims: TokenClaims): string {
  checkSecret(secret);
  if (!Object.hasOwn(PURPOSE_CODES, claims.purpose)) throw new RangeError('unknown token purpose');
  const purpose = PURPOSE_CODES[claims.purpose];
  if (!UUID_PATTERN.test(claims.messageId)) throw new RangeError('messageId must be a uuid');
  const expiresAt = Math.floor(claims.expiresAt.getTime() / 1000);
  if (!Number.isInteger(expiresAt) || expiresAt < 0 || expiresAt > MAX_EXPIRY_SECONDS) {
    throw new RangeError('expiresAt must be a valid date between 1970 and 2106');
  }

  const token = Buffer.alloc(TOKEN_BYTES);
  token.writeUInt8(VERSION, 0);
  token.writeUInt8(purpose, 1);
  uuidToBytes(claims.messageId).copy(token, 2);
  token.writeUInt32BE(expiresAt, 18);
  mac(secret, token.subarray(0, PAYLOAD_BYTES)).copy(token, PAYLOAD_BYTES);
  return token.toString('base64url');
}

/**
 * The claims of a token that is well formed, made for `purpose`, signed with one of `secret`
 * (the current secret first, then previous ones) and not expired at `now`; otherwise null.
 * It never throws for a bad token, only for a bad secret (a configuration error).
 */
export function verifyToken(
  secret: string | readonly string[],
  token: string,
  purpose: TokenPurpose,
  now: Date = new Date(),
): TokenClaims | null {
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0) throw new RangeError('at least one token secret is needed');
  for (const candidate of secrets) checkSecret(candidate);

  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return null;
  const bytes = Buffer.from(token, 'base64url');
  // Node's decoder skips what it cannot read; only the canonical spelling of the bytes counts.
  if (bytes.length !== TOKEN_BYTES || bytes.toString('base64url') !== token) return null;

  const payload = bytes.subarray(0, PAYLOAD_BYTES);
  const signature = bytes.subarray(PAYLOAD_BYTES);
  // Every secret is tried, so the time taken does not tell which one (if any) matched.
  let authentic = false;
  for (const candidate of secrets) {
    if (timingSafeEqual(mac(candidate, payload), signature)) authentic = true;
  }
  if (!authentic) return null;

  if (payload.readUInt8(0) !== VERSION) return null;
  if (payload.readUInt8(1) !== PURPOSE_CODES[purpose]) return null;
  const expiresAt = new Date(payload.readUInt32BE(18) * 1000);
  if (Number.isNaN(now.getTime()) || now.getTime() >= expiresAt.getTime()) return null;
  return { purpose, messageId: bytesToUuid(payload.subarray(2, 18)), expiresAt };
}
