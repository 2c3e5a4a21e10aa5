import nodemailer from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';

/**
 * The email channel: one rendered recovery email out over SMTP (nodemailer, pooled connections).
 *
 * Every mail is multipart/alternative (text, then HTML) and carries:
 * - `Message-ID: <ledger-row-uuid@domain-of-from>`, so replies and bounces can be traced to the
 *   send ledger row, and `X-Winback-Message: <ledger-row-uuid>` for the same reason;
 * - `List-Unsubscribe: <url>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
 *   (RFC 8058), which mailbox providers ask of bulk senders and show as an unsubscribe button.
 *
 * Failures become a `ChannelError` with a stable code and a `permanent` flag: the caller never
 * retries a permanent one (the recipient's server refused the message) and backs off on a
 * transient one. The channel itself never retries or re-queues a message, so a mail whose
 * outcome is unknown is not sent twice behind the caller's back. Error messages hold codes only,
 * never an address or any of the mail's content, so they can be logged and stored as they are.
 *
 * @example
 *   const channel = createEmailChannel({ smtpUrl: config.smtpUrl });
 *   const { providerId } = await channel.send(mail);
 *   channel.close(); // at shutdown
 */
export interface OutgoingEmail {
  to: string;
  /** `Name <address@domain>` or a bare address; its domain ends the Message-ID. */
  from: string;
  /** Where replies go (the merchant's own address), when the store has set one. */
  replyTo?: string | null;
  subject: string;
  html: string;
  text: string;
  /** The one-click unsubscribe URL (a POST to it must unsubscribe without further steps). */
  unsubscribeUrl: string;
  /** The send ledger row's uuid. */
  messageId: string;
}

export interface EmailChannel {
  /**
   * Sends one mail. `providerId` is the SMTP server's final reply to the message as nodemailer
   * reports it (`info.response`, e.g. `250 2.0.0 Ok: queued as 4XyZ12`), which names the queue
   * id under which the server's own logs and bounces refer to it.
   */
  send(mail: OutgoingEmail): Promise<{ providerId: string }>;
  /** Connects, greets and authenticates once, to check the settings; throws a `ChannelError`. */
  verify(): Promise<void>;
  /** Closes idle connections at once; a mail being sent is finished first. */
  close(): void;
}

/**
 * Codes: `smtp_NNN` (the server's reply code), `auth` (credentials missing or refused without a
 * reply code), `connection` (refused, reset, closed, DNS), `timeout`, `tls`, `invalid_address`,
 * `message_rejected` (refused by the client before sending, e.g. over the server's size limit),
 * `invalid_message` (not a mail this channel can send), `unknown`.
 */
export class ChannelError extends Error {
  override readonly name = 'ChannelError';

  constructor(
    readonly code: string,
    readonly permanent: boolean,
  ) {
    super(`email not sent: ${code} (${permanent ? 'permanent' : 'transient'})`);
  }
}

export interface EmailChannelOptions {
  /** `smtp://user:pass@host:port` or `smtps://...`. */
  smtpUrl: string;
  /** Applies to connecting, to the server's greeting and to each wait on the socket. Default 15 s. */
  timeoutMs?: number;
  /** Connections kept open to the server; mails beyond them wait for one. Default 5. */
  maxConnections?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reply codes that say something about this sender's session rather than about the message: a
 * bad sequence of commands (503, which a new connection clears) and authentication required,
 * too weak, refused or needing encryption (RFC 4954: 530, 534, 535, 538). Settings can fix
 * them, so giving up on the message for good would be wrong.
 */
const SESSION_REPLY_CODES = new Set([503, 530, 534, 535, 538]);

interface NodemailerFailure {
  code?: unknown;
  responseCode?: unknown;
}

/** Maps whatever nodemailer throws to a `ChannelError`, keeping nothing of its message. */
export function classifyError(error: unknown): ChannelError {
  if (error instanceof ChannelError) return error;
  const failure = (typeof error === 'object' && error !== null ? error : {}) as NodemailerFailure;
  const code = typeof failure.code === 'string' ? failure.code : '';
  const reply = typeof failure.responseCode === 'number' ? failure.responseCode : 0;

  if (reply >= 400 && reply < 600) {
    return new ChannelError(`smtp_${reply}`, reply >= 500 && !SESSION_REPLY_CODES.has(reply));
  }
  switch (code) {
    case 'ETIMEDOUT':
      return new ChannelError('timeout', false);
    case 'ECONNECTION':
    case 'ESOCKET':
    case 'EDNS':
    case 'EPROXY':
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
      return new ChannelError('connection', false);
    case 'ETLS':
    case 'EREQUIRETLS':
      return new ChannelError('tls', false);
    case 'EAUTH':
    case 'ENOAUTH':
    case 'EOAUTH2':
      return new ChannelError('auth', false);
    case 'EENVELOPE':
      return new ChannelError('invalid_address', true);
    case 'EMESSAGE':
      return new ChannelError('message_rejected', true);
    default:
      return new ChannelError('unknown', false);
  }
}

/** The domain of the sender's address, for the Message-ID; `localhost` if it has none. */
function senderDomain(from: string): string {
  for (const entry of addressparser(from, { flatten: true })) {
    const at = entry.address?.lastIndexOf('@') ?? -1;
    const domain = at >= 0 ? entry.address?.slice(at + 1).trim() : undefined;
    if (domain && /^[A-Za-z0-9.-]+$/.test(domain)) return domain.toLowerCase();
  }
  return 'localhost';
}

/**
 * @example
 *   createEmailChannel({ smtpUrl: 'smtp://user:pass@smtp.example.com:587', timeoutMs: 10_000 })
 */
export function createEmailChannel(options: EmailChannelOptions): EmailChannel {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError('timeoutMs must be a positive number of milliseconds');
  }
  const transport = nodemailer.createTransport({
    url: options.smtpUrl,
    pool: true,
    maxConnections: options.maxConnections ?? 5,
    maxMessages: 100,
    // A message whose connection drops mid-send may have been delivered: the caller decides
    // whether to try again, from the ledger, never the pool behind its back.
    maxRequeues: 0,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    logger: false,
    debug: false,
  });

  return {
    async send(mail) {
      if (!UUID_PATTERN.test(mail.messageId)) throw new ChannelError('invalid_message', true);
      const id = mail.messageId.toLowerCase();
      let info: { response?: unknown; messageId?: unknown };
      try {
        info = await transport.sendMail({
          from: mail.from,
          ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: `<${id}@${senderDomain(mail.from)}>`,
          list: { unsubscribe: mail.unsubscribeUrl },
          headers: {
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            'X-Winback-Message': id,
          },
          // The mail is text we made: nothing in it may make nodemailer read a file or a URL.
          disableFileAccess: true,
          disableUrlAccess: true,
        });
      } catch (error) {
        throw classifyError(error);
      }
      const response = typeof info.response === 'string' ? info.response.trim() : '';
      const providerId = response || (typeof info.messageId === 'string' ? info.messageId : '');
      return { providerId };
    },
    async verify() {
      try {
        await transport.verify();
      } catch (error) {
        throw classifyError(error);
      }
    },
    close() {
      transport.close();
    },
  };
}
