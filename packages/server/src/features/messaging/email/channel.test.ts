import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelError,
  classifyError,
  createEmailChannel,
  type EmailChannel,
  type OutgoingEmail,
} from './channel.js';
import { defaultTemplates, renderEmail } from './render.js';

const recipient = 'maya.shopper@example.net';

function outgoing(changes: Partial<OutgoingEmail> = {}): OutgoingEmail {
  return {
    to: recipient,
    from: 'Sunrise Ceramics <recovery@shop.example>',
    subject: 'You left something in your cart',
    html: '<p>Your <b>cart</b> is waiting.</p>',
    text: 'Your cart is waiting.',
    unsubscribeUrl: 'https://winback.example/u/unsubscribe-token',
    messageId: randomUUID(),
    ...changes,
  };
}

interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

interface TestServer {
  url: string;
  received: Received[];
  /** Every RCPT TO the server was asked, refused or not. */
  rcptAttempts: string[];
  connections: number;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

/** A real SMTP server on 127.0.0.1, with hooks to refuse or stall. */
async function startServer(
  hooks: Partial<Pick<SMTPServerOptions, 'onRcptTo' | 'onData' | 'onAuth'>> & {
    requireAuth?: boolean;
    queueId?: string;
  } = {},
): Promise<TestServer> {
  const received: Received[] = [];
  const rcptAttempts: string[] = [];
  let connections = 0;
  const server = new SMTPServer({
    authOptional: !hooks.requireAuth,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 100,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    onAuth:
      hooks.onAuth ??
      ((auth, _session, callback) => {
        if (auth.username === 'mailer' && auth.password === 's3cret') {
          callback(null, { user: auth.username });
        } else {
          callback(new Error('bad credentials'));
        }
      }),
    onRcptTo(address, session, callback) {
      rcptAttempts.push(address.address);
      if (hooks.onRcptTo) hooks.onRcptTo(address, session, callback);
      else callback();
    },
    onData:
      hooks.onData ??
      ((stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', async () => {
          const raw = Buffer.concat(chunks);
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw,
            parsed: await simpleParser(raw),
          });
          callback(null, `Ok: queued as ${hooks.queueId ?? 'QUEUE123'}`);
        });
      }),
  });
  server.on('error', () => {
    // A client hanging up (the timeout tests) is expected.
  });
  const port = await listen(server.server);
  const close = () => new Promise<void>((done) => server.close(() => done()));
  cleanups.push(close);
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    rcptAttempts,
    get connections() {
      return connections;
    },
    close,
  };
}

function channelFor(smtpUrl: string, timeoutMs?: number): EmailChannel {
  const channel = createEmailChannel(
    timeoutMs === undefined ? { smtpUrl } : { smtpUrl, timeoutMs },
  );
  cleanups.push(() => channel.close());
  return channel;
}

async function sendFailure(channel: EmailChannel, mail: OutgoingEmail): Promise<ChannelError> {
  const error = await channel.send(mail).then(
    () => {
      throw new Error('expected the send to fail');
    },
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ChannelError);
  const channelError = error as ChannelError;
  // Nothing personal or from the mail reaches a log line or the ledger.
  const everything = `${channelError.message} ${channelError.stack} ${JSON.stringify(channelError)} ${String(channelError.cause)}`;
  expect(everything).not.toContain(recipient);
  expect(everything).not.toContain('maya');
  expect(everything).not.toContain(mail.subject);
  return channelError;
}

function refuse(code: number, message: string) {
  return (_address: unknown, _session: unknown, callback: (error?: Error | null) => void) =>
    callback(Object.assign(new Error(message), { responseCode: code }));
}

describe('email channel over SMTP', () => {
  it('sends multipart/alternative with Message-ID, List-Unsubscribe and the ledger id', async () => {
    const server = await startServer({ queueId: 'A1B2C3' });
    const channel = channelFor(server.url);
    const mail = outgoing();

    const { providerId } = await channel.send(mail);

    expect(providerId).toBe('250 Ok: queued as A1B2C3');
    expect(server.received).toHaveLength(1);
    const { parsed, from, to, raw } = server.received[0]!;
    expect(from).toBe('recovery@shop.example');
    expect(to).toEqual([recipient]);
    expect(parsed.messageId).toBe(`<${mail.messageId}@shop.example>`);
    expect(parsed.headers.get('x-winback-message')).toBe(mail.messageId);
    const headerLines = new Map(parsed.headerLines.map(({ key, line }) => [key, line]));
    expect(headerLines.get('list-unsubscribe')).toBe(`List-Unsubscribe: <${mail.unsubscribeUrl}>`);
    expect(headerLines.get('list-unsubscribe-post')).toBe(
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    );
    expect(parsed.subject).toBe(mail.subject);
    expect(parsed.from?.value).toEqual([
      { name: 'Sunrise Ceramics', address: 'recovery@shop.example' },
    ]);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.text?.trim()).toBe(mail.text);
    expect(parsed.html).toBe(mail.html);
    // Text first, then HTML: clients show the last alternative they can.
    const rawText = raw.toString('utf8');
    expect(rawText.indexOf('text/plain')).toBeLessThan(rawText.indexOf('text/html'));
  });

  it('authenticates with the credentials of the URL', async () => {
    const server = await startServer({ requireAuth: true });
    const url = new URL(server.url);
    url.username = 'mailer';
    url.password = 's3cret';
    await channelFor(url.toString()).send(outgoing());
    expect(server.received).toHaveLength(1);

    url.password = 'wrong';
    const error = await sendFailure(channelFor(url.toString()), outgoing());
    expect(error).toMatchObject({ code: 'smtp_535', permanent: false });
  });

  it('verifies the settings', async () => {
    const server = await startServer();
    await expect(channelFor(server.url).verify()).resolves.toBeUndefined();
  });

  it('reports a 550 as permanent and does not try again', async () => {
    const server = await startServer({
      onRcptTo: (address, _session, callback) =>
        address.address === recipient
          ? refuse(550, 'mailbox unavailable')(address, _session, callback)
          : callback(),
    });
    const channel = channelFor(server.url);

    const error = await sendFailure(channel, outgoing());
    expect(error).toMatchObject({ code: 'smtp_550', permanent: true });

    // The channel goes on working; the refused mail was asked for once and never again.
    await channel.send(outgoing({ to: 'someone.else@example.net' }));
    await channel.send(outgoing({ to: 'a.third@example.net' }));
    expect(server.rcptAttempts).toEqual([
      recipient,
      'someone.else@example.net',
      'a.third@example.net',
    ]);
    expect(server.received.map((mail) => mail.to)).toEqual([
      ['someone.else@example.net'],
      ['a.third@example.net'],
    ]);
  });

  it('reports a 451 as transient, without trying again itself', async () => {
    const server = await startServer({ onRcptTo: refuse(451, 'try again later') });
    const channel = channelFor(server.url);
    const error = await sendFailure(channel, outgoing());
    expect(error).toMatchObject({ code: 'smtp_451', permanent: false });
    await sendFailure(channel, outgoing({ to: 'someone.else@example.net' }));
    expect(server.rcptAttempts).toEqual([recipient, 'someone.else@example.net']);
  });

  it('reports a 552 after the data as permanent', async () => {
    const server = await startServer({
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () =>
          callback(Object.assign(new Error('too big'), { responseCode: 552 })),
        );
      },
    });
    const error = await sendFailure(channelFor(server.url), outgoing());
    expect(error).toMatchObject({ code: 'smtp_552', permanent: true });
  });

  it('reports a server that never answers the data as a transient timeout', async () => {
    const stalled: (() => void)[] = [];
    const server = await startServer({
      onData(stream, _session, callback) {
        stream.resume();
        // Answer only when the test ends, long after the channel gave up.
        stream.on('end', () => stalled.push(() => callback()));
      },
    });
    cleanups.push(() => {
      for (const answer of stalled) answer();
    });
    const error = await sendFailure(channelFor(server.url, 200), outgoing());
    expect(error).toMatchObject({ code: 'timeout', permanent: false });
    expect(server.connections).toBe(1);
  });

  it('reports a server that never greets as a transient timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    const port = await listen(silent);
    cleanups.push(
      () =>
        new Promise<void>((done) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => done());
        }),
    );
    const channel = channelFor(`smtp://127.0.0.1:${port}`, 200);
    const error = await sendFailure(channel, outgoing());
    expect(error).toMatchObject({ code: 'timeout', permanent: false });
    await expect(channel.verify()).rejects.toMatchObject({ code: 'timeout', permanent: false });
  });

  it('reports nothing listening as a transient connection error', async () => {
    const probe = createServer();
    const port = await listen(probe);
    await new Promise<void>((done) => probe.close(() => done()));
    const channel = channelFor(`smtp://127.0.0.1:${port}`);
    const error = await sendFailure(channel, outgoing());
    expect(error).toMatchObject({ code: 'connection', permanent: false });
    await expect(channel.verify()).rejects.toMatchObject({
      code: 'connection',
      permanent: false,
    });
  });

  it('refuses a message id that is not a ledger uuid, before connecting', async () => {
    const server = await startServer();
    const error = await sendFailure(channelFor(server.url), outgoing({ messageId: 'abc' }));
    expect(error).toMatchObject({ code: 'invalid_message', permanent: true });
    expect(server.connections).toBe(0);
  });

  it('sends a rendered default template that reads back with its lines and prices', async () => {
    const server = await startServer();
    const links = {
      recovery: 'https://winback.example/r/recovery-token',
      unsubscribe: 'https://winback.example/u/unsubscribe-token',
      openPixel: 'https://winback.example/o/open-token',
    };
    const email = await renderEmail(defaultTemplates.discount, {
      store: { name: 'Sunrise Ceramics & Co', postalAddress: '1 Harbour Road\nBristol BS1 4XX' },
      shopper: { firstName: 'Maya' },
      cart: {
        currency: 'GBP',
        subtotalMinor: 4_750,
        lines: [
          {
            title: 'Sunrise mug <large>',
            variant: 'Blue',
            quantity: 2,
            unitPriceMinor: 1_800,
            imageUrl: 'https://shop.example/mug.jpg',
          },
          {
            title: 'Tea towel',
            variant: null,
            quantity: 1,
            unitPriceMinor: 1_150,
            imageUrl: null,
          },
        ],
      },
      discount: {
        code: 'THANKS5',
        kind: 'fixed',
        value: 500,
        expiresAt: new Date('2026-12-24T23:59:00Z'),
      },
      links,
      locale: 'en-GB',
    });
    const mail = outgoing({ ...email, unsubscribeUrl: links.unsubscribe });

    await channelFor(server.url).send(mail);

    const { parsed } = server.received[0]!;
    expect(parsed.subject).toBe('A gift for your cart at Sunrise Ceramics & Co: £5.00 off');
    for (const part of [parsed.text ?? '', parsed.html || '']) {
      expect(part).toContain('Hi Maya,');
      expect(part).toContain('Blue');
      expect(part).toContain('Tea towel');
      expect(part).toContain('£18.00');
      expect(part).toContain('£36.00');
      expect(part).toContain('£11.50');
      expect(part).toContain('£47.50');
      expect(part).toContain('THANKS5');
      expect(part).toContain(links.recovery);
      expect(part).toContain(links.unsubscribe);
      expect(part).toContain('1 Harbour Road, Bristol BS1 4XX');
    }
    expect(parsed.text).toContain('Sunrise mug <large>');
    expect(parsed.html).toContain('Sunrise mug &lt;large&gt;');
    expect(parsed.html).toContain(`<img src="${links.openPixel}" width="1" height="1" alt=""`);
  });
});

describe('classifyError', () => {
  it('sorts SMTP replies: 5xx permanent, 4xx and session problems transient', () => {
    const reply = (responseCode: number, code = 'EENVELOPE') =>
      classifyError(Object.assign(new Error(`x ${recipient}`), { responseCode, code }));
    for (const code of [550, 551, 552, 553, 554, 521, 556]) {
      expect(reply(code)).toMatchObject({ code: `smtp_${code}`, permanent: true });
    }
    for (const code of [421, 450, 451, 452, 454, 503, 530, 534, 535, 538]) {
      expect(reply(code)).toMatchObject({ code: `smtp_${code}`, permanent: false });
    }
  });

  it('sorts failures without a reply by what went wrong', () => {
    const failure = (code: string) => classifyError(Object.assign(new Error(recipient), { code }));
    expect(failure('ETIMEDOUT')).toMatchObject({ code: 'timeout', permanent: false });
    for (const code of ['ECONNECTION', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET']) {
      expect(failure(code)).toMatchObject({ code: 'connection', permanent: false });
    }
    expect(failure('ETLS')).toMatchObject({ code: 'tls', permanent: false });
    expect(failure('EAUTH')).toMatchObject({ code: 'auth', permanent: false });
    expect(failure('EENVELOPE')).toMatchObject({ code: 'invalid_address', permanent: true });
    expect(failure('EMESSAGE')).toMatchObject({ code: 'message_rejected', permanent: true });
    expect(failure('ESOMETHING')).toMatchObject({ code: 'unknown', permanent: false });
    expect(classifyError('not even an error')).toMatchObject({ code: 'unknown' });
    expect(failure('EENVELOPE').message).toBe('email not sent: invalid_address (permanent)');
  });
});
