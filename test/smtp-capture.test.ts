import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SmtpCapture, startSmtpCapture } from '@winback/server/embedded';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'winback-smtp-'));
  cleanups.push(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

async function capture(dataDir: string, maxMessageBytes?: number): Promise<SmtpCapture> {
  const started = await startSmtpCapture({
    dataDir,
    ...(maxMessageBytes ? { maxMessageBytes } : {}),
  });
  cleanups.push(() => started.close());
  return started;
}

function transport(smtp: SmtpCapture, auth?: { user: string; pass: string }) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: smtp.port,
    secure: false,
    ignoreTLS: true,
    ...(auth ? { auth } : {}),
  });
}

describe('SMTP capture', () => {
  it('keeps every mail as an .eml file, lists it and reads it back', async () => {
    const dataDir = await tempFolder();
    const smtp = await capture(dataDir);
    expect(smtp.url).toBe(`smtp://127.0.0.1:${smtp.port}`);

    const info = await transport(smtp).sendMail({
      from: 'Shop <shop@example.test>',
      to: 'shopper@example.test',
      bcc: 'audit@example.test',
      subject: 'You left something in your cart',
      text: 'Your Sunrise mug is waiting.',
    });
    expect(info.rejected).toEqual([]);

    const mails = await smtp.list();
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail).toMatchObject({
      subject: 'You left something in your cart',
      from: 'Shop <shop@example.test>',
      to: 'shopper@example.test',
    });
    expect(await readdir(join(dataDir, 'mail'))).toEqual([`${mail?.id}.eml`]);

    const raw = (await smtp.read(mail?.id ?? ''))?.toString('utf8') ?? '';
    expect(raw).toContain('Your Sunrise mug is waiting.');
    // The envelope is kept too, so a Bcc recipient is visible.
    expect(raw).toContain('Delivered-To: audit@example.test');
    expect(raw).toMatch(/^Return-Path: <shop@example\.test>\r\n/);
  });

  it('accepts mail with any credentials, as well as without', async () => {
    const smtp = await capture(await tempFolder());
    await transport(smtp, { user: 'anyone', pass: 'anything' }).sendMail({
      from: 'shop@example.test',
      to: 'shopper@example.test',
      subject: 'with auth',
      text: 'hello',
    });
    await transport(smtp).sendMail({
      from: 'shop@example.test',
      to: 'shopper@example.test',
      subject: 'without auth',
      text: 'hello',
    });
    const subjects = (await smtp.list()).map((mail) => mail.subject).sort();
    expect(subjects).toEqual(['with auth', 'without auth']);
  });

  it('lists the newest first and keeps mails across restarts', async () => {
    const dataDir = await tempFolder();
    const first = await capture(dataDir);
    for (const subject of ['one', 'two', 'three']) {
      await transport(first).sendMail({ from: 'a@example.test', to: 'b@example.test', subject });
    }
    await first.close();

    const second = await capture(dataDir);
    expect((await second.list()).map((mail) => mail.subject)).toEqual(['three', 'two', 'one']);
  });

  it('refuses a message over the size limit and keeps nothing of it', async () => {
    const smtp = await capture(await tempFolder(), 2_048);
    await expect(
      transport(smtp).sendMail({
        from: 'a@example.test',
        to: 'b@example.test',
        subject: 'too big',
        text: 'x'.repeat(10_000),
      }),
    ).rejects.toMatchObject({ responseCode: 552 });
    await transport(smtp).sendMail({
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'small',
      text: 'fits',
    });
    expect((await smtp.list()).map((mail) => mail.subject)).toEqual(['small']);
  });

  it('reads only ids it handed out', async () => {
    const dataDir = await tempFolder();
    const smtp = await capture(dataDir);
    expect(await smtp.read('../postgres/PG_VERSION')).toBeNull();
    expect(await smtp.read('does-not-exist')).toBeNull();
  });
});
