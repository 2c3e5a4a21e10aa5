import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import { signToken, type TokenPurpose, verifyToken } from '../../domain/signed-token.js';

/** How long each kind of link in a message keeps working after the message is sent. */
const lifetimeDays: Record<TokenPurpose, number> = {
  recover: 30,
  open: 180,
  // Unsubscribing must keep working long after the mail was read.
  unsubscribe: 365,
};

const paths: Record<TokenPurpose, string> = { recover: '/r/', open: '/o/', unsubscribe: '/u/' };

export interface MessageLinks {
  /** The signed URL of `purpose` for ledger row `messageId`, valid from `now`. */
  url(purpose: TokenPurpose, messageId: string, now: Date): string;
  /** The ledger row a token names, or null for a token that is bad, expired or for another use. */
  verify(token: string, purpose: TokenPurpose, now?: Date): string | null;
}

let processSecret: string | undefined;

/**
 * The secrets that sign links: `LINK_SECRET` (first signs, all verify). Without it, one random
 * secret for this process, with a warning: links then stop working when it restarts, and other
 * processes cannot read them.
 */
export function linkSecrets(config: Config, logger: FastifyBaseLogger): readonly string[] {
  if (config.linkSecrets && config.linkSecrets.length > 0) return config.linkSecrets;
  if (!processSecret) {
    processSecret = randomBytes(32).toString('base64url');
    logger.warn(
      'LINK_SECRET is not set: links in messages are signed with a random secret that lasts only as long as this process',
    );
  }
  return [processSecret];
}

export function createMessageLinks(publicUrl: string, secrets: readonly string[]): MessageLinks {
  const [current] = secrets;
  if (!current) throw new Error('at least one link secret is needed');
  return {
    url(purpose, messageId, now) {
      const expiresAt = new Date(now.getTime() + lifetimeDays[purpose] * 86_400_000);
      return `${publicUrl}${paths[purpose]}${signToken(current, { purpose, messageId, expiresAt })}`;
    },
    verify(token, purpose, now = new Date()) {
      return verifyToken(secrets, token, purpose, now)?.messageId ?? null;
    },
  };
}
