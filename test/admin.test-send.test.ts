import type { AddressInfo } from 'node:net';
import { buildApp, createStore, loadConfig } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ORIGIN, collect, signIn } from './helpers/admin.js';
import { cartUpdated, eventId } from './helpers/ingest.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';

// A template's test send through the real app, Postgres and a real SMTP server: it goes to the
// merchant's own address only, rendered for the store's real cart, marked as a test, audited,
// limited to a few a minute, and never reachable from another store's session.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

type App = Awaited<ReturnType<typeof buildApp>>;

interface Delivery {
  /** Every RCPT TO of the envelope. */
  recipients: string[];
  parsed: ParsedMail;
}

/** An SMTP server keeping whole envelopes; it refuses RCPT TO any address starting `refused`. */
async function startRecorder() {
  const deliveries: Delivery[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('refused')) {
        callback(Object.assign(new Error('no such mailbox'), { responseCode: 550 }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          deliveries.push({
            recipients: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            parsed,
          });
          callback();
        },
        (error: unknown) => callback(error as Error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(!pgUrl)('template test sends', () => {
  let db: Db;
  let app: App;
  let bare: App;
  let smtp: Awaited<ReturnType<typeof startRecorder>>;

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    smtp = await startRecorder();
    const config = {
      DATABASE_URL: database.url,
      LOG_LEVEL: 'silent',
      PUBLIC_URL: ADMIN_ORIGIN,
      MAIL_FROM: 'Winback <recovery@winback.test>',
    };
    app = await buildApp(loadConfig({ ...config, SMTP_URL: smtp.url }));
    // The same database behind a server with no mail server configured.
    bare = await buildApp(loadConfig(config), { db });
  });
  afterAll(async () => {
    await app?.close();
    await bare?.close();
    await smtp?.close();
    await db?.destroy();
  });

  async function merchant(on: App = app) {
    const name = uniqueName('Shop');
    const origin = `https://${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
    const { store, adminSecret } = await createStore(db, {
      name,
      allowedOrigins: [origin],
      postalAddress: '1 Test Street, 12345 Testville',
    });
    const { cookie } = await signIn(on, store.id, adminSecret);
    const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
      on.inject({
        method,
        url,
        headers: { origin: ADMIN_ORIGIN, cookie },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    return { store, call };
  }

  const template = {
    name: 'Teapot reminder',
    subject: 'Still thinking about it, {{ shopper.first_name }}?',
    html: '<p>Your {{ cart.lines[0].title }} waits at {{ store.name }}.</p><a href="{{ links.recovery }}">Back to it</a>',
    text: 'Your {{ cart.lines[0].title }} waits at {{ store.name }}: {{ links.recovery }}',
  };

  const testSendsOf = (storeId: string) =>
    db
      .selectFrom('audit_log')
      .select(['action', 'subject', 'detail', 'actor'])
      .where('store_id', '=', storeId)
      .where('action', '=', 'template.test_send')
      .orderBy('id')
      .execute();

  it('sends the template, rendered for the store’s real cart, to the merchant’s address only', async () => {
    const { store, call } = await merchant();
    const created = (await call('POST', '/admin/api/templates', template)).json();
    await collect(app, store, [
      { ...cartUpdated('Moonlight teapot'), cartId: 'cart-teapot', id: eventId() },
    ]);

    const before = smtp.deliveries.length;
    const unset = await call('POST', `/admin/api/templates/${created.id}/test-send`, {});
    expect(unset.statusCode).toBe(409);
    expect(unset.json().error).toMatchObject({ code: 'WB_ERR_CONFLICT' });
    expect(unset.json().error.message).toMatch(/sender\.replyTo/);

    const saved = await call('PATCH', '/admin/api/store', {
      settings: { sender: { name: 'Moonlight Teas', replyTo: 'owner@moonlight.example' } },
    });
    expect(saved.statusCode).toBe(200);

    // The request names no recipient, and cannot.
    const steered = await call('POST', `/admin/api/templates/${created.id}/test-send`, {
      to: 'stranger@elsewhere.example',
    });
    expect(steered.statusCode).toBe(400);
    expect(steered.json().error.code).toBe('WB_ERR_VALIDATION');

    const response = await call('POST', `/admin/api/templates/${created.id}/test-send`, {});
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      sentTo: 'owner@moonlight.example',
      subject: '[Test] Still thinking about it, there?',
      cart: { externalId: 'cart-teapot' },
    });
    expect(smtp.deliveries).toHaveLength(before + 1);
    const mail = smtp.deliveries.at(-1)!;
    expect(mail.recipients).toEqual(['owner@moonlight.example']);
    expect(mail.parsed.to).toMatchObject({ value: [{ address: 'owner@moonlight.example' }] });
    expect(mail.parsed.cc).toBeUndefined();
    expect(mail.parsed.bcc).toBeUndefined();
    expect(mail.parsed.from?.value).toEqual([
      { name: 'Moonlight Teas', address: 'recovery@winback.test' },
    ]);
    expect(mail.parsed.subject).toBe('[Test] Still thinking about it, there?');
    expect(String(mail.parsed.html)).toContain(`Your Moonlight teapot waits at ${store.name}.`);
    expect(mail.parsed.text).toContain(`Your Moonlight teapot waits at ${store.name}:`);
    expect(mail.parsed.text).toContain('1 Test Street, 12345 Testville');

    const audited = await testSendsOf(store.id);
    expect(audited).toEqual([
      expect.objectContaining({ subject: created.id, detail: { outcome: 'sent' } }),
    ]);
    expect(JSON.stringify(audited)).not.toContain('owner@moonlight.example');
  });

  it('sends unsaved template text and built-in templates, and refuses broken ones', async () => {
    const { call } = await merchant();
    await call('PATCH', '/admin/api/store', {
      settings: { sender: { name: null, replyTo: 'draft@shop.example' } },
    });
    const { name: _name, ...draft } = template;
    const unsaved = await call('POST', '/admin/api/templates/test-send', draft);
    expect(unsaved.statusCode).toBe(200);
    const mail = smtp.deliveries.at(-1)!;
    expect(mail.recipients).toEqual(['draft@shop.example']);
    // No store name set: MAIL_FROM as it is.
    expect(mail.parsed.from?.value).toEqual([
      { name: 'Winback', address: 'recovery@winback.test' },
    ]);
    // No cart yet: the sample one.
    expect(String(mail.parsed.html)).toContain('Your Sunrise mug waits');

    const builtIn = await call('POST', '/admin/api/templates/reminder/test-send', {});
    expect(builtIn.statusCode).toBe(200);
    expect(builtIn.json().subject).toMatch(/^\[Test\] /);

    const count = smtp.deliveries.length;
    const broken = await call('POST', '/admin/api/templates/test-send', {
      ...draft,
      html: '<p>{% if cart %}</p>',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('WB_ERR_VALIDATION');
    for (const key of ['noSuchTemplate', 'constructor', '00000000-0000-4000-8000-000000000000']) {
      const missing = await call('POST', `/admin/api/templates/${key}/test-send`, {});
      expect(missing.statusCode, key).toBe(404);
      expect(missing.json().error.code).toBe('WB_ERR_NOT_FOUND');
    }
    expect(smtp.deliveries).toHaveLength(count);
  });

  it('lets no store’s session test-send another store’s template or cart', async () => {
    const mine = await merchant();
    const theirs = await merchant();
    await mine.call('PATCH', '/admin/api/store', {
      settings: { sender: { name: null, replyTo: 'mine@shop.example' } },
    });
    const theirTemplate = (await theirs.call('POST', '/admin/api/templates', template)).json();
    await collect(app, theirs.store, [
      { ...cartUpdated('Their teapot'), cartId: 'their-cart', id: eventId() },
    ]);
    const [theirCart] = (await theirs.call('POST', '/admin/api/carts/search', {})).json().carts;
    const count = smtp.deliveries.length;

    const template404 = await mine.call(
      'POST',
      `/admin/api/templates/${theirTemplate.id}/test-send`,
      {},
    );
    expect(template404.statusCode).toBe(404);
    const cart404 = await mine.call('POST', '/admin/api/templates/reminder/test-send', {
      cartId: theirCart.id,
    });
    expect(cart404.statusCode).toBe(404);
    expect(smtp.deliveries).toHaveLength(count);
    expect(await testSendsOf(mine.store.id)).toEqual([]);
    expect(await testSendsOf(theirs.store.id)).toEqual([]);
  });

  it('allows a few test sends a minute per store', async () => {
    const { store, call } = await merchant();
    await call('PATCH', '/admin/api/store', {
      settings: { sender: { name: null, replyTo: 'busy@shop.example' } },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      statuses.push((await call('POST', '/admin/api/templates/reminder/test-send', {})).statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await call('POST', '/admin/api/templates/reminder/test-send', {});
    expect(limited.json().error.code).toBe('WB_ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(
      smtp.deliveries.filter((mail) => mail.recipients[0] === 'busy@shop.example'),
    ).toHaveLength(5);
    expect(await testSendsOf(store.id)).toHaveLength(5);
    // Another store's allowance is its own.
    const other = await merchant();
    await other.call('PATCH', '/admin/api/store', {
      settings: { sender: { name: null, replyTo: 'calm@shop.example' } },
    });
    expect(
      (await other.call('POST', '/admin/api/templates/reminder/test-send', {})).statusCode,
    ).toBe(200);
  });

  it('says so when the mail server refuses the address, and records the failure', async () => {
    const { store, call } = await merchant();
    await call('PATCH', '/admin/api/store', {
      settings: { sender: { name: null, replyTo: 'refused@shop.example' } },
    });
    const response = await call('POST', '/admin/api/templates/reminder/test-send', {});
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'WB_ERR_BAD_REQUEST' });
    expect(response.json().error.message).toMatch(/smtp_550/);
    expect((await testSendsOf(store.id)).map((row) => row.detail)).toEqual([
      { outcome: 'failed', error: 'smtp_550' },
    ]);
  });

  it('refuses with a 409 when the server has no mail server', async () => {
    const { call } = await merchant(bare);
    await call('PATCH', '/admin/api/store', {
      settings: { sender: { name: null, replyTo: 'owner@shop.example' } },
    });
    const response = await call('POST', '/admin/api/templates/reminder/test-send', {});
    expect(response.statusCode).toBe(409);
    expect(response.json().error).toMatchObject({ code: 'WB_ERR_CONFLICT' });
    expect(response.json().error.message).toMatch(/SMTP_URL/);
  });

  it('needs a session, and the admin’s own origin', async () => {
    const anonymous = await app.inject({
      method: 'POST',
      url: '/admin/api/templates/reminder/test-send',
      headers: { origin: ADMIN_ORIGIN },
      payload: {},
    });
    expect(anonymous.statusCode).toBe(401);
    const name = uniqueName('Shop');
    const { store, adminSecret } = await createStore(db, {
      name,
      allowedOrigins: ['https://cross.example'],
    });
    const { cookie } = await signIn(app, store.id, adminSecret);
    const crossSite = await app.inject({
      method: 'POST',
      url: '/admin/api/templates/test-send',
      headers: { origin: 'https://evil.example', cookie },
      payload: { subject: 's', html: '<p>h</p>', text: 't' },
    });
    expect(crossSite.statusCode).toBe(403);
  });
});
