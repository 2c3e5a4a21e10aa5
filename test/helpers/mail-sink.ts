import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string;
  parsed: ParsedMail;
}

export interface MailSinkOptions {
  /**
   * Called with each mail once it has been read in full, before the server answers 250: the
   * moment the mail counts as delivered. A thrown error or rejection answers 451 instead.
   */
  beforeAccept?: (mail: ReceivedMail) => void | Promise<void>;
  /** Refuse every mail with this SMTP reply code (e.g. 550) instead of accepting it. */
  refuseWith?: number;
}

export interface MailSink {
  url: string;
  /** What the server does with the next mails; tests may change it between mails. */
  behaviour: MailSinkOptions;
  /** The mails accepted (answered 250), in order. */
  mails: ReceivedMail[];
  /**
   * Every mail read in full, in order, whatever the answer: accepted, refused, or still held by
   * `beforeAccept` (a sender killed meanwhile never gets one).
   */
  received: ReceivedMail[];
  /** Resolves once `count` mails have been accepted in all. */
  waitFor(count: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 that keeps what it accepts, parsed, in memory. */
export async function startMailSink(options: MailSinkOptions = {}): Promise<MailSink> {
  const behaviour: MailSinkOptions = { ...options };
  const mails: ReceivedMail[] = [];
  const received: ReceivedMail[] = [];
  const waiters: { count: number; resolve: (mails: ReceivedMail[]) => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then(async (parsed) => {
          const mail = { to: session.envelope.rcptTo[0]?.address ?? '', parsed };
          received.push(mail);
          if (behaviour.refuseWith) {
            const error = Object.assign(new Error('refused by the test'), {
              responseCode: behaviour.refuseWith,
            });
            callback(error);
            return;
          }
          await behaviour.beforeAccept?.(mail);
          mails.push(mail);
          for (const waiter of waiters.filter((w) => mails.length >= w.count)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve([...mails]);
          }
          callback();
        })
        .catch((error: unknown) => {
          callback(Object.assign(new Error(String(error)), { responseCode: 451 }));
        });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    behaviour,
    mails,
    received,
    waitFor(count) {
      if (mails.length >= count) return Promise.resolve([...mails]);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The send ledger row a recovery mail was sent for (its `X-Winback-Message` header). */
export function ledgerRowOf(mail: ReceivedMail): string {
  return String(mail.parsed.headers.get('x-winback-message') ?? '');
}

/** How many of `mails` each ledger row has. */
export function mailsPerRow(mails: readonly ReceivedMail[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const mail of mails) {
    const row = ledgerRowOf(mail);
    counts.set(row, (counts.get(row) ?? 0) + 1);
  }
  return counts;
}
