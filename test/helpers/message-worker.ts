import {
  createEmailChannel,
  createLogger,
  createMessageLinks,
  type JobPayload,
  type JobQueue,
  type SendDeps,
  type SendOutcome,
  sendMessage,
} from '@winback/server';
import type { Db, SendLockKeeper } from '@winback/server/db';
import { LINK_SECRET, PUBLIC_URL } from './recovery.js';

export type { SendDeps, SendOutcome };
export { sendMessage };

/** One `schedule` call a `RecordingQueue` saw. */
export interface ScheduledJob {
  kind: string;
  id: string;
  runAt: Date;
  payload: JobPayload;
}

/** A queue that only records what is armed on it, so a suite runs each job by hand. */
export interface RecordingQueue extends JobQueue {
  scheduled: ScheduledJob[];
}

export function recordingQueue(): RecordingQueue {
  const scheduled: ScheduledJob[] = [];
  return {
    driver: 'local',
    scheduled,
    async schedule(kind, id, runAt, payload) {
      scheduled.push({ kind, id, runAt, payload });
    },
    async cancel() {},
    process() {},
    async ping() {},
    async close() {},
  };
}

/**
 * What `sendMessage` needs, wired as the message worker wires it: a real SMTP channel to
 * `smtpUrl`, the send locks on `locks`, links signed with the suites' secret. Close `email` when
 * done.
 */
export function sendDeps(
  db: Db,
  smtpUrl: string,
  locks: SendLockKeeper,
  overrides: Partial<SendDeps> = {},
): SendDeps & { email: NonNullable<SendDeps['email']> } {
  return {
    db,
    queue: recordingQueue(),
    locks,
    email: createEmailChannel({ smtpUrl }),
    links: createMessageLinks(PUBLIC_URL, [LINK_SECRET]),
    mailFrom: 'Recovery Shop <shop@recovery.example>',
    logger: createLogger({ logLevel: 'silent', logPretty: false }),
    ...overrides,
  } as SendDeps & { email: NonNullable<SendDeps['email']> };
}
