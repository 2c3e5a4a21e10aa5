import { buildApp, createStore, loadConfig, type Store } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import type { TrackedEvent } from '@winback/shared';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ORIGIN, collect, signIn } from './helpers/admin.js';
import { cartUpdated, eventId } from './helpers/ingest.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';

// The admin API through the real app and Postgres: what a signed-in merchant may read and
// change, that every write is audited, and that one store's session reaches nothing of another.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

type App = Awaited<ReturnType<typeof buildApp>>;

describe.skipIf(!pgUrl)('admin API', () => {
  let db: Db;
  let app: App;

  beforeAll(async () => {
    db = createDb(database.url, 4);
    await migrateToLatest(db);
    app = await buildApp(
      loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', PUBLIC_URL: ADMIN_ORIGIN }),
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  async function merchant(name = uniqueName('Shop')) {
    const origin = `https://${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
    const { store, adminSecret } = await createStore(db, { name, allowedOrigins: [origin] });
    const { cookie } = await signIn(app, store.id, adminSecret);
    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
      app.inject({
        method,
        url,
        headers: { origin: ADMIN_ORIGIN, cookie },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    return { store, adminSecret, cookie, origin, call };
  }

  const auditOf = (store: Store) =>
    db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('store_id', '=', store.id)
      .where('action', 'like', 'store.%')
      .orderBy('id')
      .execute();

  it('shows the store with every setting filled in', async () => {
    const { store, call } = await merchant();
    const response = await call('GET', '/admin/api/store');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      id: store.id,
      name: store.name,
      publicKey: store.public_key,
      allowedOrigins: store.allowed_origins,
      postalAddress: null,
    });
    expect(body.settings).toMatchObject({
      idleThresholdMinutes: 30,
      quietHours: { start: '21:00', end: '08:00' },
      onsite: { exitModal: { enabled: true }, dismissCooldownDays: 7 },
    });
    expect(JSON.stringify(body)).not.toMatch(/secret|sk_/);
  });

  it('changes only the given settings, and records who changed what', async () => {
    const { store, call } = await merchant();
    const response = await call('PATCH', '/admin/api/store', {
      postalAddress: '1 Market Street, Springfield',
      settings: { idleThresholdMinutes: 45, onsite: { dismissCooldownDays: 2 } },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().settings).toMatchObject({
      idleThresholdMinutes: 45,
      attributionWindowDays: 5,
      onsite: { dismissCooldownDays: 2, exitModal: { minRisk: 0.3 } },
    });
    const again = await call('PATCH', '/admin/api/store', {
      settings: { timezone: 'Europe/Berlin' },
    });
    expect(again.json().settings).toMatchObject({
      idleThresholdMinutes: 45,
      timezone: 'Europe/Berlin',
    });
    expect(again.json().postalAddress).toBe('1 Market Street, Springfield');
    expect(await auditOf(store)).toEqual([
      {
        action: 'store.update',
        detail: { fields: ['postalAddress'], settings: ['idleThresholdMinutes', 'onsite'] },
      },
      { action: 'store.update', detail: { fields: [], settings: ['timezone'] } },
    ]);
  });

  it('refuses a bad change whole, with a 400 that says what is wrong, and keeps what was there', async () => {
    const { store, call } = await merchant();
    const before = (await call('GET', '/admin/api/store')).json();
    const badPatches = fc.oneof(
      fc.record({
        settings: fc.record({
          idleThresholdMinutes: fc.oneof(
            fc.integer({ max: 0 }),
            fc.integer({ min: 10_081 }),
            fc.string(),
          ),
        }),
      }),
      fc.record({
        settings: fc.record({
          quietHours: fc.record({ start: fc.string(), end: fc.constant('08:00') }),
        }),
      }),
      fc.record({
        settings: fc.record({ timezone: fc.string().map((text) => `No/Such Zone ${text}`) }),
      }),
      fc.record({
        settings: fc.record({
          onsite: fc.record({
            exitModal: fc.record({ minRisk: fc.double({ min: 1.01, max: 1e9, noNaN: true }) }),
          }),
        }),
      }),
      fc.record({
        settings: fc.dictionary(
          fc
            .string()
            .filter(
              (key) =>
                ![
                  'idleThresholdMinutes',
                  'timezone',
                  'attributionWindowDays',
                  'quietHours',
                  'frequencyCapHours',
                  'storeUrl',
                  'cartRestore',
                  'locale',
                  'onsite',
                  'sender',
                ].includes(key),
            ),
          fc.jsonValue(),
          { minKeys: 1 },
        ),
      }),
      fc.record({
        allowedOrigins: fc.array(
          fc.string().filter((text) => !/^https?:\/\//.test(text)),
          { minLength: 1, maxLength: 3 },
        ),
      }),
      fc.record({ name: fc.constant('   ') }),
      fc.constant({}),
      fc.constant({
        settings: { cartRestore: { kind: 'template', url: 'https://evil.example/cart/{lines}' } },
      }),
    );
    await fc.assert(
      fc.asyncProperty(badPatches, async (patch) => {
        const response = await call('PATCH', '/admin/api/store', patch);
        expect(response.statusCode).toBe(400);
        // A `__proto__` key is refused by the JSON parser itself, before validation.
        expect(response.json().error.code).toMatch(/^WB_ERR_(VALIDATION|BAD_REQUEST)$/);
      }),
      { numRuns: 60 },
    );
    expect((await call('GET', '/admin/api/store')).json()).toEqual(before);
    expect(await auditOf(store)).toEqual([]);
  });

  it('keeps the sender, the on-site offer, texts, consent and logo, the cap, the store URL and its restore link', async () => {
    const { store, call } = await merchant();
    const settings = {
      sender: { name: 'Sunrise Ceramics', replyTo: 'owner@sunrise.example' },
      frequencyCapHours: { email: 48, sms: 24, push: 12 },
      storeUrl: 'https://sunrise.example',
      cartRestore: {
        kind: 'template',
        url: 'https://sunrise.example/cart/restore?id={cart_id}&code={discount}',
      },
      onsite: {
        offer: {
          discount: { kind: 'percent', value: 15, validHours: 24 },
          minRisk: 0.7,
          minValueMinor: 2_500,
          maxPerDay: 50,
        },
        texts: { en: { exitTitle: 'Before you go' }, de: { checkout: 'Zur Kasse' } },
        consent: { text: 'Yes, email me about my cart.', version: 'sunrise-2' },
        theme: { primary: '#aa3300', logoUrl: 'https://sunrise.example/logo.svg', radius: 6 },
      },
    };
    const response = await call('PATCH', '/admin/api/store', { settings });
    expect(response.statusCode).toBe(200);
    expect(response.json().settings).toMatchObject(settings);
    expect((await call('GET', '/admin/api/store')).json().settings).toMatchObject(settings);
    const cleared = await call('PATCH', '/admin/api/store', {
      settings: { sender: { name: null, replyTo: null }, storeUrl: null },
    });
    expect(cleared.statusCode).toBe(400);
    expect(cleared.json().error.message).toMatch(/cartRestore\.url/);
    const unset = await call('PATCH', '/admin/api/store', {
      settings: { sender: { name: null, replyTo: null }, onsite: { offer: null, consent: null } },
    });
    expect(unset.json().settings).toMatchObject({
      sender: { name: null, replyTo: null },
      onsite: { offer: null, consent: null, texts: {} },
    });
    const texts = await call('GET', '/admin/api/store/overlay-texts');
    expect(texts.statusCode).toBe(200);
    expect(texts.json().locales).toEqual(['en', 'de', 'fr', 'es']);
    expect(texts.json().keys).toContain('exitTitle');
    expect(texts.json().defaults.en.exitTitle).toBeTruthy();
    expect((await auditOf(store)).map((row) => row.detail)).toEqual([
      {
        fields: [],
        settings: ['frequencyCapHours', 'storeUrl', 'cartRestore', 'onsite', 'sender'],
      },
      { fields: [], settings: ['onsite', 'sender'] },
    ]);
  });

  it('refuses bad sender, offer, texts, consent, logo, cap, store URL and restore settings whole', async () => {
    const { store, call } = await merchant();
    const good = await call('PATCH', '/admin/api/store', {
      settings: {
        sender: { name: 'Good Shop', replyTo: 'owner@good.example' },
        onsite: {
          offer: {
            discount: { kind: 'fixed', value: 500, validHours: 48 },
            minRisk: 0.5,
            minValueMinor: 0,
            maxPerDay: 10,
          },
        },
      },
    });
    expect(good.statusCode).toBe(200);
    const before = (await call('GET', '/admin/api/store')).json();
    const auditBefore = await auditOf(store);
    const withSettings = (settings: fc.Arbitrary<Record<string, unknown>>) =>
      settings.map((value) => ({ settings: value }));
    const onsite = (rules: fc.Arbitrary<Record<string, unknown>>) =>
      withSettings(rules.map((value) => ({ onsite: value })));
    const validOffer = {
      discount: { kind: 'percent', value: 10, validHours: 24 },
      minRisk: 0.6,
      minValueMinor: 0,
      maxPerDay: 200,
    };
    const notAnInteger = fc.double({ noNaN: true }).filter((value) => !Number.isInteger(value));
    const badEmail = fc.oneof(
      fc.string().filter((text) => !text.includes('@')),
      fc.constantFrom(
        'owner@shop.example\r\nBcc: victim@else.example',
        'owner@shop.example, victim@else.example',
        'Owner <owner@shop.example>',
        '@shop.example',
        'owner@',
        `${'a'.repeat(250)}@shop.example`,
      ),
    );
    const badName = fc.oneof(
      fc
        .tuple(
          fc.string(),
          fc.constantFrom('"', '\\', '<', '>', '\r\n', '\n', '\u0000'),
          fc.string(),
        )
        // Inside the name: what surrounds it is trimmed away (and so harmless) before the check.
        .map(([a, b, c]) => `x${a}${b}${c}x`),
      fc.constantFrom('', '   ', 'x'.repeat(101)),
    );
    const badPatches = fc.oneof(
      withSettings(
        fc.oneof(
          fc.record({ sender: fc.record({ name: fc.constant(null), replyTo: badEmail }) }),
          fc.record({ sender: fc.record({ name: badName, replyTo: fc.constant(null) }) }),
          fc.record({
            sender: fc.constantFrom({ name: 'Shop' }, { replyTo: 'a@b.example' }, null, 'Shop'),
          }),
          fc.record({
            sender: fc.record({
              name: fc.constant(null),
              replyTo: fc.constant(null),
              bcc: fc.constant('victim@else.example'),
            }),
          }),
          fc.record({
            frequencyCapHours: fc.record({
              email: fc.oneof(
                fc.integer({ max: -1 }),
                fc.integer({ min: 721 }),
                notAnInteger,
                fc.string(),
              ),
              sms: fc.constant(24),
              push: fc.constant(12),
            }),
          }),
          fc.record({ frequencyCapHours: fc.constant({ email: 12 }) }),
          fc.record({
            storeUrl: fc.oneof(
              fc.string().map((text) => `ftp://${text}`),
              fc.constantFrom('javascript:alert(1)', 'not a url', '//shop.example', ''),
            ),
          }),
          fc.record({
            cartRestore: fc.oneof(
              fc
                .string()
                .filter((kind) => !['shopify', 'template', 'none'].includes(kind))
                .map((kind) => ({ kind })),
              fc
                .stringMatching(/^[a-z_]{1,12}$/)
                .filter((name) => !['cart_id', 'discount', 'lines'].includes(name))
                .map((name) => ({
                  kind: 'template',
                  url: `https://good.example/cart?x={${name}}`,
                })),
              fc.constant({ kind: 'template', url: 'javascript:alert(1)' }),
              fc.constant({ kind: 'shopify', url: 'https://good.example/cart' }),
            ),
          }),
        ),
      ),
      onsite(
        fc.oneof(
          fc.record({
            offer: fc.oneof(
              fc.record({
                ...Object.fromEntries(
                  Object.entries(validOffer).map(([k, v]) => [k, fc.constant(v)]),
                ),
                discount: fc.oneof(
                  fc.record({
                    kind: fc.constant('percent'),
                    value: fc.oneof(fc.integer({ min: 101 }), fc.integer({ max: 0 })),
                    validHours: fc.constant(24),
                  }),
                  fc.record({
                    kind: fc.constant('fixed'),
                    value: fc.integer({ max: 0 }),
                    validHours: fc.constant(24),
                  }),
                  fc.record({
                    kind: fc.constant('percent'),
                    value: fc.constant(10),
                    validHours: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 721 })),
                  }),
                ),
              }),
              fc.record({
                ...Object.fromEntries(
                  Object.entries(validOffer).map(([k, v]) => [k, fc.constant(v)]),
                ),
                minRisk: fc.oneof(
                  fc.double({ min: 1.0001, max: 1e9, noNaN: true }),
                  fc.double({ min: -1e9, max: -0.0001, noNaN: true }),
                ),
              }),
              fc.record({
                ...Object.fromEntries(
                  Object.entries(validOffer).map(([k, v]) => [k, fc.constant(v)]),
                ),
                maxPerDay: fc.oneof(fc.integer({ max: 0 }), notAnInteger),
              }),
              fc.record({
                ...Object.fromEntries(
                  Object.entries(validOffer).map(([k, v]) => [k, fc.constant(v)]),
                ),
                minValueMinor: fc.oneof(fc.integer({ max: -1 }), notAnInteger),
              }),
              fc.constant({ minRisk: 0.5 }),
            ),
          }),
          fc.record({
            texts: fc.oneof(
              fc
                .string()
                .filter((locale) => !['en', 'de', 'fr', 'es'].includes(locale))
                .map((locale) => ({ [locale]: { exitTitle: 'Hi' } })),
              fc
                .string()
                .filter((key) => !/^[a-z][A-Za-z_]*$/.test(key))
                .map((key) => ({ en: { [key]: 'Hi' } })),
              fc
                .string({ minLength: 501, maxLength: 600 })
                .map((text) => ({ en: { exitTitle: text } })),
              fc.constant({ en: { exitTitle: 42 } }),
            ),
          }),
          fc.record({
            consent: fc.oneof(
              fc.record({ text: fc.constant(''), version: fc.constant('v1') }),
              fc.record({
                text: fc.string({ minLength: 1001, maxLength: 1100 }),
                version: fc.constant('v1'),
              }),
              fc.record({
                text: fc.constant('Yes, email me.'),
                version: fc.oneof(fc.constant(''), fc.string({ minLength: 65, maxLength: 80 })),
              }),
              fc.constant({ text: 'Yes, email me.' }),
            ),
          }),
          fc.record({
            theme: fc.record({
              logoUrl: fc.oneof(
                fc.constantFrom(
                  'javascript:alert(1)',
                  'data:image/svg+xml,<svg onload=alert(1)>',
                  '//evil.example/logo.png',
                  'http://evil.example/logo.png',
                  '',
                  'https://shop.example/logo with space.png',
                ),
                fc.string().map((text) => `vbscript:${text}`),
              ),
            }),
          }),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(badPatches, async (patch) => {
        const response = await call('PATCH', '/admin/api/store', patch);
        expect(response.statusCode, JSON.stringify(patch)).toBe(400);
        const body = response.json();
        expect(body.error.code).toBe('WB_ERR_VALIDATION');
        expect(body.error.message).toEqual(expect.any(String));
      }),
      { numRuns: 150 },
    );
    expect((await call('GET', '/admin/api/store')).json()).toEqual(before);
    expect(await auditOf(store)).toEqual(auditBefore);
  });

  it('rotates the public key: the new one is taken, the old one refused', async () => {
    const { store, call, origin } = await merchant();
    const response = await call('POST', '/admin/api/store/public-key');
    expect(response.statusCode).toBe(200);
    const { publicKey } = response.json();
    expect(publicKey).toMatch(/^pk_/);
    expect(publicKey).not.toBe(store.public_key);
    const send = (key: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/collect?key=${encodeURIComponent(key)}`,
        headers: { 'content-type': 'text/plain', origin },
        body: JSON.stringify({ t: 'batch', seq: 1, events: [{ ...cartUpdated(), id: eventId() }] }),
      });
    expect((await send(store.public_key)).statusCode).toBe(401);
    expect((await send(publicKey)).statusCode).toBe(200);
    expect((await auditOf(store)).map((row) => row.action)).toEqual(['store.rotate_public_key']);
  });

  it('rotates the admin secret: shown once, the old one refused, other sessions signed out', async () => {
    const { store, adminSecret, call } = await merchant();
    const other = await signIn(app, store.id, adminSecret);
    const response = await call('POST', '/admin/api/store/admin-secret');
    expect(response.statusCode).toBe(200);
    const { adminSecret: fresh } = response.json();
    expect(fresh).toMatch(/^sk_/);
    await expect(signIn(app, store.id, adminSecret)).rejects.toThrow(/401/);
    await signIn(app, store.id, fresh);
    const stale = await app.inject({
      method: 'GET',
      url: '/admin/api/store',
      headers: { origin: ADMIN_ORIGIN, cookie: other.cookie },
    });
    expect(stale.statusCode).toBe(401);
    // This session goes on.
    expect((await call('GET', '/admin/api/store')).statusCode).toBe(200);
    const stored = await db
      .selectFrom('audit_log')
      .select('detail')
      .where('store_id', '=', store.id)
      .where('action', '=', 'store.rotate_admin_secret')
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(fresh);
  });

  it('searches carts with filters and pages through them by cursor', async () => {
    const { store, call } = await merchant();
    const events: TrackedEvent[] = [];
    for (let i = 0; i < 5; i += 1) {
      const event = cartUpdated(`Mug ${i}`);
      events.push({
        ...event,
        id: eventId(),
        ts: Date.UTC(2026, 10, 20, 12, i),
        anonymousId: `anon_search_${i}`,
        sessionId: `sess_search_${i}`,
        cartId: `cart-${i}`,
        ...(event.type === 'cart_updated'
          ? {
              cart: {
                ...event.cart,
                subtotal: 1_000 * (i + 1),
                lines: [{ id: 'l', title: `Mug ${i}`, quantity: i + 1, unitPrice: 1_000 }],
              },
            }
          : {}),
      } as TrackedEvent);
    }
    await collect(app, store, events);

    const first = await call('POST', '/admin/api/carts/search', { limit: 2 });
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.carts.map((cart: { externalId: string }) => cart.externalId)).toHaveLength(2);
    const seen = [...page1.carts];
    let cursor = page1.nextCursor;
    while (cursor) {
      const next = (await call('POST', '/admin/api/carts/search', { limit: 2, cursor })).json();
      seen.push(...next.carts);
      cursor = next.nextCursor;
    }
    expect(seen.map((cart) => cart.externalId).sort()).toEqual([
      'cart-0',
      'cart-1',
      'cart-2',
      'cart-3',
      'cart-4',
    ]);

    // Carts active within one millisecond, microseconds apart: paging one at a time skips none.
    await sql`
      update carts set last_activity_at = timestamptz '2026-11-20 12:00:00.123400+00'
        + (right(external_id, 1)::int * interval '1 microsecond')
      where store_id = ${store.id}`.execute(db);
    const one: string[] = [];
    let next: string | null = null;
    do {
      const page: { carts: { externalId: string }[]; nextCursor: string | null } = (
        await call('POST', '/admin/api/carts/search', {
          limit: 1,
          ...(next ? { cursor: next } : {}),
        })
      ).json();
      one.push(...page.carts.map((cart) => cart.externalId));
      next = page.nextCursor;
    } while (next);
    expect(one).toEqual(['cart-4', 'cart-3', 'cart-2', 'cart-1', 'cart-0']);

    const big = (await call('POST', '/admin/api/carts/search', { minValueMinor: 4_000 })).json();
    expect(big.carts.map((cart: { externalId: string }) => cart.externalId).sort()).toEqual([
      'cart-3',
      'cart-4',
    ]);
    const bad = await call('POST', '/admin/api/carts/search', { cursor: 'not-a-cursor' });
    expect(bad.statusCode).toBe(400);
  });

  it('shows a cart’s timeline', async () => {
    const { store, call } = await merchant();
    await collect(app, store, [
      { ...cartUpdated('Timeline mug'), cartId: 'cart-t', id: eventId() },
    ]);
    const [cart] = (await call('POST', '/admin/api/carts/search', { externalId: 'cart-t' })).json()
      .carts;
    const response = await call('GET', `/admin/api/carts/${cart.id}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.cart).toMatchObject({ externalId: 'cart-t', status: 'active', lineCount: 1 });
    expect(body.cart.lines[0]).toMatchObject({ title: 'Timeline mug' });
    expect(body.timeline).toEqual([
      expect.objectContaining({ kind: 'event', type: 'cart_updated' }),
    ]);
    expect(body.eventsTruncated).toBe(false);
  });

  it('creates, edits, pauses and resumes campaigns, refusing steps that cannot run', async () => {
    const { store, call } = await merchant();
    const listed = (await call('GET', '/admin/api/campaigns')).json().campaigns;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      name: 'Abandoned cart recovery',
      status: 'active',
      version: 1,
    });

    const steps = [
      { delayMinutes: 30, channel: 'email', template: 'reminder' },
      {
        delayMinutes: 120,
        channel: 'email',
        template: 'discount',
        discount: { kind: 'percent', value: 15, validHours: 24 },
      },
    ];
    const created = await call('POST', '/admin/api/campaigns', {
      name: 'Big carts',
      priority: 5,
      triggerFilters: { minValueMinor: 10_000 },
      steps,
    });
    expect(created.statusCode).toBe(201);
    const campaign = created.json();
    expect(campaign).toMatchObject({
      name: 'Big carts',
      status: 'draft',
      priority: 5,
      steps,
      version: 1,
    });

    for (const bad of [
      { steps: [{ ...steps[1] }, { ...steps[0] }] },
      { steps: [{ delayMinutes: 5, channel: 'email', template: 'noSuchTemplate' }] },
      {
        steps: [
          { delayMinutes: 5, channel: 'email', template: '00000000-0000-4000-8000-000000000000' },
        ],
      },
      { steps: [{ delayMinutes: 5, channel: 'sms', template: 'reminder' }] },
      { triggerFilters: { devices: [] } },
      { status: 'archived' },
      {},
    ]) {
      const response = await call('PATCH', `/admin/api/campaigns/${campaign.id}`, bad);
      expect(response.statusCode, JSON.stringify(bad)).toBe(400);
      expect(response.json().error.code).toBe('WB_ERR_VALIDATION');
    }

    const edited = (
      await call('PATCH', `/admin/api/campaigns/${campaign.id}`, {
        steps: [steps[0]],
        status: 'active',
      })
    ).json();
    expect(edited).toMatchObject({ status: 'active', version: 2, steps: [steps[0]] });
    const paused = (
      await call('PATCH', `/admin/api/campaigns/${campaign.id}`, { status: 'paused' })
    ).json();
    expect(paused).toMatchObject({ status: 'paused', version: 2 });
    const actions = await db
      .selectFrom('audit_log')
      .select('action')
      .where('store_id', '=', store.id)
      .where('subject', '=', campaign.id)
      .orderBy('id')
      .execute();
    expect(actions.map((row) => row.action)).toEqual([
      'campaign.create',
      'campaign.update',
      'campaign.update',
    ]);
  });

  it('previews a step with the store’s most recent real cart, and a sample before there is one', async () => {
    const { store, call } = await merchant();
    const [campaign] = (await call('GET', '/admin/api/campaigns')).json().campaigns;
    const sample = (
      await call('POST', `/admin/api/campaigns/${campaign.id}/preview`, { step: 0 })
    ).json();
    expect(sample.cart).toEqual({ id: null, externalId: null });
    expect(sample.html).toContain('Sunrise mug');

    await collect(app, store, [
      { ...cartUpdated('Moonlight teapot'), cartId: 'cart-preview', id: eventId() },
    ]);
    const real = await call('POST', `/admin/api/campaigns/${campaign.id}/preview`, { step: 2 });
    expect(real.statusCode).toBe(200);
    const email = real.json();
    expect(email.cart.externalId).toBe('cart-preview');
    expect(email.html).toContain('Moonlight teapot');
    expect(email.text).toContain('PREVIEW-CODE');
    expect(
      (await call('POST', `/admin/api/campaigns/${campaign.id}/preview`, { step: 7 })).statusCode,
    ).toBe(404);
  });

  it('checks a template before saving it, and lets a campaign step use it', async () => {
    const { call } = await merchant();
    const broken = await call('POST', '/admin/api/templates', {
      name: 'Broken',
      subject: 'Hi {{ shopper.first_name }}',
      html: '<p>{% if cart %}</p>',
      text: 'Your cart',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.message).toMatch(/^html/);
    const unknownVariable = await call('POST', '/admin/api/templates', {
      name: 'Unknown',
      subject: '{{ shopper.password }}',
      html: '<p>x</p>',
      text: 'x',
    });
    expect(unknownVariable.statusCode).toBe(400);

    const good = {
      name: 'Short reminder',
      subject: 'Still thinking it over, {{ shopper.first_name }}?',
      html: '<p>Your cart at {{ store.name }} is waiting.</p><a href="{{ links.recovery }}">Back to it</a>',
      text: 'Your cart at {{ store.name }} is waiting: {{ links.recovery }}',
    };
    const { name: _name, ...unsaved } = good;
    const preview = await call('POST', '/admin/api/templates/preview', unsaved);
    expect(preview.statusCode).toBe(200);
    expect(preview.json().subject).toMatch(/^Still thinking it over/);
    const created = await call('POST', '/admin/api/templates', good);
    expect(created.statusCode).toBe(201);
    const template = created.json();
    const [campaign] = (await call('GET', '/admin/api/campaigns')).json().campaigns;
    const edited = await call('PATCH', `/admin/api/campaigns/${campaign.id}`, {
      steps: [{ delayMinutes: 60, channel: 'email', template: template.id }],
    });
    expect(edited.statusCode).toBe(200);
    const listed = (await call('GET', '/admin/api/templates')).json();
    expect(listed.templates.map((row: { id: string }) => row.id)).toEqual([template.id]);
    expect(listed.builtIn.map((row: { key: string }) => row.key)).toEqual([
      'reminder',
      'lastChance',
      'discount',
    ]);
  });

  it('lets one store’s session read and change nothing of another store', async () => {
    const mine = await merchant();
    const theirs = await merchant();
    await collect(app, theirs.store, [
      { ...cartUpdated('Their mug'), cartId: 'their-cart', id: eventId() },
    ]);
    const [theirCart] = (await theirs.call('POST', '/admin/api/carts/search', {})).json().carts;

    expect((await mine.call('GET', `/admin/api/carts/${theirCart.id}`)).statusCode).toBe(404);
    expect(
      (await mine.call('POST', '/admin/api/carts/search', { externalId: 'their-cart' })).json()
        .carts,
    ).toEqual([]);
    expect((await mine.call('GET', '/admin/api/store')).json().id).toBe(mine.store.id);
    const [theirCampaign] = (await theirs.call('GET', '/admin/api/campaigns')).json().campaigns;
    expect((await mine.call('GET', `/admin/api/campaigns/${theirCampaign.id}`)).statusCode).toBe(
      404,
    );
    expect(
      (await mine.call('PATCH', `/admin/api/campaigns/${theirCampaign.id}`, { status: 'paused' }))
        .statusCode,
    ).toBe(404);
    expect(
      (await mine.call('POST', `/admin/api/campaigns/${theirCampaign.id}/preview`, { step: 0 }))
        .statusCode,
    ).toBe(404);
    expect(
      (
        await mine.call(
          'POST',
          `/admin/api/campaigns/${(await mine.call('GET', '/admin/api/campaigns')).json().campaigns[0].id}/preview`,
          { step: 0, cartId: theirCart.id },
        )
      ).statusCode,
    ).toBe(404);
    const theirTemplate = (
      await theirs.call('POST', '/admin/api/templates', {
        name: 'T',
        subject: 'S',
        html: '<p>h</p>',
        text: 't',
      })
    ).json();
    expect(
      (await mine.call('PATCH', `/admin/api/templates/${theirTemplate.id}`, { name: 'Mine now' }))
        .statusCode,
    ).toBe(404);
    expect((await mine.call('GET', '/admin/api/templates')).json().templates).toEqual([]);
    const [myCampaign] = (await mine.call('GET', '/admin/api/campaigns')).json().campaigns;
    expect(
      (
        await mine.call('PATCH', `/admin/api/campaigns/${myCampaign.id}`, {
          steps: [{ delayMinutes: 1, channel: 'email', template: theirTemplate.id }],
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (await theirs.call('GET', `/admin/api/campaigns/${theirCampaign.id}`)).json().status,
    ).toBe('active');
    await mine.call('PATCH', '/admin/api/store', { name: 'Renamed' });
    await mine.call('POST', '/admin/api/store/public-key');
    const after = (await theirs.call('GET', '/admin/api/store')).json();
    expect(after).toMatchObject({ name: theirs.store.name, publicKey: theirs.store.public_key });
  });

  it('refuses every admin route without a session, and writes from another origin', async () => {
    const routes: ['GET' | 'POST' | 'PATCH', string, unknown?][] = [
      ['GET', '/admin/api/store'],
      ['PATCH', '/admin/api/store', { name: 'x' }],
      ['POST', '/admin/api/store/public-key'],
      ['POST', '/admin/api/store/admin-secret'],
      ['POST', '/admin/api/carts/search', {}],
      ['GET', '/admin/api/carts/00000000-0000-4000-8000-000000000000'],
      ['GET', '/admin/api/campaigns'],
      ['GET', '/admin/api/campaigns/00000000-0000-4000-8000-000000000000'],
      ['POST', '/admin/api/campaigns', { name: 'x', steps: [] }],
      ['PATCH', '/admin/api/campaigns/00000000-0000-4000-8000-000000000000', { name: 'x' }],
      ['POST', '/admin/api/campaigns/00000000-0000-4000-8000-000000000000/preview', { step: 0 }],
      ['GET', '/admin/api/templates'],
      ['POST', '/admin/api/templates', { name: 'x' }],
      ['PATCH', '/admin/api/templates/00000000-0000-4000-8000-000000000000', { name: 'x' }],
      ['POST', '/admin/api/templates/preview', {}],
      ['GET', '/admin/api/store/overlay-texts'],
      ['POST', '/admin/api/templates/test-send', {}],
      ['POST', '/admin/api/templates/reminder/test-send', {}],
    ];
    const { cookie } = await merchant();
    for (const [method, url, payload] of routes) {
      const anonymous = await app.inject({
        method,
        url,
        headers: { origin: ADMIN_ORIGIN },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
      expect(anonymous.statusCode, `${method} ${url}`).toBe(401);
      if (method !== 'GET') {
        const crossSite = await app.inject({
          method,
          url,
          headers: { origin: 'https://evil.example', cookie },
          ...(payload === undefined ? {} : { payload: payload as object }),
        });
        expect(crossSite.statusCode, `${method} ${url}`).toBe(403);
      }
    }
  });

  it('refuses every route the OpenAPI document lists without a session', async () => {
    // Derived from the document, so a route added later is covered without touching this test.
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    const { cookie } = await merchant();
    const checked: string[] = [];
    for (const [path, operations] of Object.entries<Record<string, unknown>>(document.paths)) {
      if (!path.startsWith('/admin/api/')) continue;
      const url = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      for (const method of Object.keys(operations)) {
        const verb = method.toUpperCase() as 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
        if (!['GET', 'POST', 'PATCH', 'PUT', 'DELETE'].includes(verb)) continue;
        const payload = verb === 'GET' || verb === 'DELETE' ? {} : { payload: {} };
        const anonymous = await app.inject({
          method: verb,
          url,
          headers: { origin: ADMIN_ORIGIN },
          ...payload,
        });
        expect(anonymous.statusCode, `${verb} ${path}`).toBe(401);
        expect(anonymous.json().error.code, `${verb} ${path}`).toMatch(/^WB_ERR_/);
        if (verb !== 'GET') {
          const crossSite = await app.inject({
            method: verb,
            url,
            headers: { origin: 'https://evil.example', cookie },
            ...payload,
          });
          expect(crossSite.statusCode, `${verb} ${path}`).toBe(403);
        }
        checked.push(`${verb} ${path}`);
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'GET /admin/api/analytics/overview',
        'GET /admin/api/outbox',
        'POST /admin/api/templates/{id}/test-send',
        'PATCH /admin/api/campaigns/{id}',
      ]),
    );
  });

  it('publishes an OpenAPI document of the admin API', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/admin/api/store',
        '/admin/api/carts/search',
        '/admin/api/carts/{id}',
        '/admin/api/store/overlay-texts',
        '/admin/api/templates/test-send',
        '/admin/api/templates/{id}/test-send',
      ]),
    );
    expect(document.paths['/admin/api/store'].patch.requestBody).toBeDefined();
    const page = await app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
  });
});
