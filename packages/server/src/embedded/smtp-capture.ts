import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface SmtpCaptureOptions {
  /** Captured mails are kept as `.eml` files in `<dataDir>/mail/`, across runs. */
  dataDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Larger messages are refused with 552. Default 10 MiB. */
  maxMessageBytes?: number;
}

/** What the admin page shows of a captured mail without reading all of it. */
export interface CapturedMailSummary {
  /** File name without `.eml`; sorts in the order the mails arrived. */
  id: string;
  receivedAt: Date;
  sizeBytes: number;
  from: string | null;
  to: string | null;
  subject: string | null;
}

/** The part of the capture a page needs to show the mails. */
export interface CapturedMailbox {
  /** Newest first. */
  list(): Promise<CapturedMailSummary[]>;
  /** The raw message as received (with delivery headers added on top), or null if unknown. */
  read(id: string): Promise<Buffer | null>;
}

export interface SmtpCapture extends CapturedMailbox {
  /** `smtp://127.0.0.1:PORT`, ready for SMTP_URL. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
/** Enough of a file to find the headers the summary shows. */
const HEADER_PEEK_BYTES = 16 * 1024;
const ID_PATTERN = /^[0-9A-Za-z-]+$/;

/** Sorts by arrival: a fixed-width timestamp, then randomness for mails in the same millisecond. */
function newMailId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '').replace('T', '-').replace('Z', '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/** One header's value from a raw header block, unfolded; encoded words are left as they are. */
function headerValue(headerBlock: string, name: string): string | null {
  const match = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(headerBlock);
  return match?.[1] ? match[1].replace(/\r?\n[ \t]+/g, ' ').trim() : null;
}

function formatAddress(address: SMTPServerAddress | false): string {
  return address ? address.address : '';
}

/**
 * An SMTP server for the embedded demo: it accepts every mail (authentication optional, any
 * credentials) on 127.0.0.1 and keeps each one as a raw `.eml` file, so recovery emails can be
 * looked at in the admin page instead of reaching real inboxes.
 *
 * @example
 *   const capture = await startSmtpCapture({ dataDir: '.winback' });
 *   // SMTP_URL = capture.url; later: await capture.list()
 *   await capture.close();
 */
export async function startSmtpCapture(options: SmtpCaptureOptions): Promise<SmtpCapture> {
  const mailDir = join(resolve(options.dataDir), 'mail');
  await mkdir(mailDir, { recursive: true, mode: 0o700 });
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;

  const server = new SMTPServer({
    name: 'winback-smtp-capture',
    banner: 'Winback SMTP capture: mails are kept for the admin page, never delivered',
    authOptional: true,
    // Loopback only, so plain-text AUTH is fine and no certificate is needed.
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    size: maxMessageBytes,
    logger: false,
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onData(stream, session, callback) {
      const receivedAt = new Date();
      const id = newMailId(receivedAt);
      const partial = join(mailDir, `${id}.eml.part`);
      const file = createWriteStream(partial, { mode: 0o600 });
      // Like a mailbox at final delivery: the envelope goes on top as Return-Path/Delivered-To,
      // so recipients only in the envelope (Bcc) are still visible.
      const envelope = [
        `Return-Path: <${formatAddress(session.envelope.mailFrom)}>`,
        ...session.envelope.rcptTo.map((rcpt) => `Delivered-To: ${rcpt.address}`),
        '',
      ].join('\r\n');
      file.write(envelope);
      // Past the limit the rest of the message is read but no longer written.
      const withinLimit = async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) if (!stream.sizeExceeded) yield chunk;
      };
      pipeline(stream, withinLimit, file).then(
        async () => {
          if (stream.sizeExceeded) {
            await rm(partial, { force: true });
            const error = Object.assign(
              new Error(`message exceeds the ${maxMessageBytes} byte limit`),
              { responseCode: 552 },
            );
            callback(error);
            return;
          }
          await rename(partial, join(mailDir, `${id}.eml`));
          callback(null, `captured as ${id}`);
        },
        async (error: unknown) => {
          await rm(partial, { force: true });
          callback(error instanceof Error ? error : new Error(String(error)));
        },
      );
    },
  });
  server.on('error', () => {
    // Per-connection errors (a client hanging up mid-message) must not end the demo.
  });

  await new Promise<void>((done, fail) => {
    server.server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.server.off('error', fail);
      done();
    });
  });
  const { port } = server.server.address() as AddressInfo;

  const read = async (id: string): Promise<Buffer | null> => {
    if (!ID_PATTERN.test(id)) return null;
    return readFile(join(mailDir, `${id}.eml`)).catch(() => null);
  };

  const summarize = async (id: string): Promise<CapturedMailSummary | null> => {
    const path = join(mailDir, `${id}.eml`);
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(path, 'r');
      const [info, peek] = await Promise.all([
        stat(path),
        handle.read(Buffer.alloc(HEADER_PEEK_BYTES), 0, HEADER_PEEK_BYTES, 0),
      ]);
      const text = peek.buffer.subarray(0, peek.bytesRead).toString('utf8');
      const headerBlock = text.split(/\r?\n\r?\n/, 1)[0] ?? '';
      return {
        id,
        receivedAt: info.mtime,
        sizeBytes: info.size,
        from: headerValue(headerBlock, 'From'),
        to: headerValue(headerBlock, 'To'),
        subject: headerValue(headerBlock, 'Subject'),
      };
    } catch {
      // Removed between listing and reading.
      return null;
    } finally {
      await handle?.close();
    }
  };

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    read,
    async list() {
      const ids = (await readdir(mailDir))
        .filter((name) => name.endsWith('.eml'))
        .map((name) => name.slice(0, -'.eml'.length))
        .filter((id) => ID_PATTERN.test(id))
        .sort()
        .reverse();
      const summaries = await Promise.all(ids.map(summarize));
      return summaries.filter((summary): summary is CapturedMailSummary => summary !== null);
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
