import { buildApp, createStore, loadConfig } from '@winback/server';
import { createDb, type Db, migrateToLatest } from '@winback/server/db';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ORIGIN, signIn } from './helpers/admin.js';
import { needs, uniqueName, useFreshDatabase } from './helpers/services.js';

// A campaign's on-site step through the admin API, the real app and Postgres: it is created,
// read, changed and removed with the campaign; bad steps are refused whole with a 400 that names
// the field, leaving the stored campaign as it was; and one store's session can neither read nor
// change another store's.

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);

type App = Awaited<ReturnType<typeof buildApp>>;

const steps = [{ delayMinutes: 30, channel: 'email', template: 'reminder' }];
const discount = { kind: 'percent', value: 15, validHours: 24 };

describe.skipIf(!pgUrl)('admin API: campaign on-site steps', () => {
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

  async function merchant() {
    const name = uniqueName('Shop');
    const origin = `https://${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
    const { store, adminSecret } = await createStore(db, { name, allowedOrigins: [origin] });
    const { cookie } = await signIn(app, store.id, adminSecret);
    const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
      app.inject({
        method,
        url,
        headers: { origin: ADMIN_ORIGIN, cookie },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    return { store, call };
  }

  /** The campaign's row as stored: the on-site step exactly as written, and the version. */
  const storedRow = (storeId: string, id: string) =>
    db
      .selectFrom('campaigns')
      .selectAll()
      .where('store_id', '=', storeId)
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  it('creates, reads, changes and removes a campaign’s on-site step, bumping the version', async () => {
    const { store, call } = await merchant();
    const [starter] = (await call('GET', '/admin/api/campaigns')).json().campaigns;
    expect(starter.onsite).toBeNull();

    const created = await call('POST', '/admin/api/campaigns', {
      name: 'Big carts',
      priority: 5,
      triggerFilters: { minValueMinor: 10_000 },
      steps,
      onsite: { offer: { discount, minRisk: 0.4, maxPerDay: 30 } },
    });
    expect(created.statusCode).toBe(201);
    const campaign = created.json();
    const offer = { discount, minRisk: 0.4, minValueMinor: 0, maxPerDay: 30 };
    expect(campaign).toMatchObject({ version: 1, onsite: { offer } });
    expect((await call('GET', `/admin/api/campaigns/${campaign.id}`)).json()).toEqual(campaign);
    const listed = (await call('GET', '/admin/api/campaigns')).json().campaigns;
    expect(listed.map((row: { onsite: unknown }) => row.onsite)).toEqual([{ offer }, null]);
    expect((await storedRow(store.id, campaign.id)).onsite).toEqual({ offer });

    // "No discount for these carts" is a step of its own, stored as such.
    const none = await call('PATCH', `/admin/api/campaigns/${campaign.id}`, {
      onsite: { offer: null },
    });
    expect(none.statusCode).toBe(200);
    expect(none.json()).toMatchObject({ version: 2, onsite: { offer: null }, steps });
    expect((await storedRow(store.id, campaign.id)).onsite).toEqual({ offer: null });

    // Other edits keep the step as it is.
    const renamed = (
      await call('PATCH', `/admin/api/campaigns/${campaign.id}`, { name: 'Large carts' })
    ).json();
    expect(renamed).toMatchObject({ name: 'Large carts', version: 2, onsite: { offer: null } });

    // Null removes the step: the store's own offer applies again.
    const removed = (
      await call('PATCH', `/admin/api/campaigns/${campaign.id}`, { onsite: null })
    ).json();
    expect(removed).toMatchObject({ version: 3, onsite: null });
    expect((await storedRow(store.id, campaign.id)).onsite).toBeNull();

    const fixed = { kind: 'fixed', value: 500, minSubtotalMinor: 4_000, validHours: 48 };
    const again = (
      await call('PATCH', `/admin/api/campaigns/${campaign.id}`, {
        onsite: { offer: { discount: fixed, minRisk: 0, minValueMinor: 4_000, maxPerDay: 1 } },
      })
    ).json();
    expect(again).toMatchObject({
      version: 4,
      onsite: { offer: { discount: fixed, minRisk: 0, minValueMinor: 4_000, maxPerDay: 1 } },
    });

    const audit = await db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('store_id', '=', store.id)
      .where('subject', '=', campaign.id)
      .orderBy('id')
      .execute();
    expect(audit).toEqual([
      { action: 'campaign.create', detail: {} },
      { action: 'campaign.update', detail: { fields: ['onsite'] } },
      { action: 'campaign.update', detail: { fields: ['name'] } },
      { action: 'campaign.update', detail: { fields: ['onsite'] } },
      { action: 'campaign.update', detail: { fields: ['onsite'] } },
    ]);
  });

  it('shows a stored step that no longer parses as "no discount", as the exit modal reads it', async () => {
    const { store, call } = await merchant();
    const [campaign] = (await call('GET', '/admin/api/campaigns')).json().campaigns;
    await db
      .updateTable('campaigns')
      .set({ onsite: JSON.stringify({ offer: { discount: { kind: 'percent' } } }) })
      .where('store_id', '=', store.id)
      .where('id', '=', campaign.id)
      .execute();
    expect((await call('GET', `/admin/api/campaigns/${campaign.id}`)).json().onsite).toEqual({
      offer: null,
    });
  });

  const validOffer = fc.record(
    {
      discount: fc.constant(discount),
      minRisk: fc.double({ min: 0, max: 1, noNaN: true }),
      minValueMinor: fc.nat(1_000_000),
      maxPerDay: fc.integer({ min: 1, max: 1_000_000 }),
    },
    { requiredKeys: ['discount'] },
  );
  const notAnObject = fc.oneof(
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.array(fc.nat(), { maxLength: 2 }),
  );
  /** On-site steps the API must refuse: each breaks one rule of a valid step. */
  const badStep = fc.oneof(
    notAnObject,
    fc.constant({}),
    fc.record({ offer: notAnObject }),
    validOffer.map((offer) => ({ offer, exitModal: { enabled: false } })),
    validOffer.map((offer) => ({ offer: { ...offer, perShopper: 1 } })),
    validOffer.map(({ discount: _, ...offer }) => ({ offer })),
    fc
      .oneof(
        fc.double({ min: 1.000_001, max: 1e6, noNaN: true }),
        fc.double({ min: -1e6, max: -0.000_001, noNaN: true }),
        fc.string(),
      )
      .chain((minRisk) => validOffer.map((offer) => ({ offer: { ...offer, minRisk } }))),
    fc
      .oneof(fc.integer({ max: -1 }), fc.double({ min: 0.1, max: 0.9, noNaN: true }))
      .chain((minValueMinor) =>
        validOffer.map((offer) => ({ offer: { ...offer, minValueMinor } })),
      ),
    fc
      .oneof(fc.integer({ max: 0 }), fc.integer({ min: 1_000_001 }), fc.constant(2.5))
      .chain((maxPerDay) => validOffer.map((offer) => ({ offer: { ...offer, maxPerDay } }))),
    fc
      .oneof(
        fc.record({ kind: fc.constant('percent'), value: fc.integer({ min: 101 }) }),
        fc.record({ kind: fc.constant('percent'), value: fc.integer({ max: 0 }) }),
        fc.record({ kind: fc.constant('fixed'), value: fc.integer({ max: 0 }) }),
        fc.record({ kind: fc.constant('free_shipping'), value: fc.integer({ min: 1 }) }),
        fc.record({ kind: fc.constantFrom('bogo', ''), value: fc.nat(100) }),
      )
      .chain((bad) =>
        validOffer.map((offer) => ({
          offer: { ...offer, discount: { ...bad, validHours: 24 } },
        })),
      ),
    fc
      .oneof(fc.integer({ max: 0 }), fc.integer({ min: 721 }))
      .chain((validHours) =>
        validOffer.map((offer) => ({ offer: { ...offer, discount: { ...discount, validHours } } })),
      ),
  );

  it('refuses bad on-site steps whole with a 400 naming the field, and keeps the campaign as it was', async () => {
    const { store, call } = await merchant();
    const campaign = (
      await call('POST', '/admin/api/campaigns', {
        name: 'Kept',
        steps,
        onsite: { offer: { discount, minRisk: 0.5 } },
      })
    ).json();
    const before = await storedRow(store.id, campaign.id);
    const count = async () =>
      (await call('GET', '/admin/api/campaigns')).json().campaigns.length as number;
    const campaigns = await count();

    await fc.assert(
      fc.asyncProperty(badStep, fc.boolean(), async (onsite, create) => {
        const response = create
          ? await call('POST', '/admin/api/campaigns', { name: 'Refused', steps, onsite })
          : await call('PATCH', `/admin/api/campaigns/${campaign.id}`, {
              name: 'Refused',
              onsite,
            });
        expect(response.statusCode).toBe(400);
        const body = response.json();
        expect(body).toEqual({
          error: { code: 'WB_ERR_VALIDATION', message: expect.any(String) },
        });
        expect(body.error.message).toMatch(/^body\/onsite/);
      }),
      { numRuns: 60 },
    );
    expect(await storedRow(store.id, campaign.id)).toEqual(before);
    expect(await count()).toBe(campaigns);
  });

  it('lets one store’s session neither read nor change another store’s on-site step', async () => {
    const mine = await merchant();
    const theirs = await merchant();
    const offer = { discount, minRisk: 0.3, minValueMinor: 0, maxPerDay: 5 };
    const theirCampaign = (
      await theirs.call('POST', '/admin/api/campaigns', {
        name: 'Theirs',
        status: 'active',
        steps,
        onsite: { offer },
      })
    ).json();
    const before = await storedRow(theirs.store.id, theirCampaign.id);

    const read = await mine.call('GET', `/admin/api/campaigns/${theirCampaign.id}`);
    expect(read.statusCode).toBe(404);
    expect(read.body).not.toContain('maxPerDay');
    const listed = (await mine.call('GET', '/admin/api/campaigns')).json().campaigns;
    expect(listed.map((row: { id: string }) => row.id)).not.toContain(theirCampaign.id);
    for (const onsite of [null, { offer: null }, { offer: { discount, minRisk: 0 } }]) {
      const changed = await mine.call('PATCH', `/admin/api/campaigns/${theirCampaign.id}`, {
        onsite,
      });
      expect(changed.statusCode).toBe(404);
      expect(changed.json().error.code).toBe('WB_ERR_NOT_FOUND');
    }

    expect(await storedRow(theirs.store.id, theirCampaign.id)).toEqual(before);
    expect(
      (await theirs.call('GET', `/admin/api/campaigns/${theirCampaign.id}`)).json().onsite,
    ).toEqual({ offer });
    const audit = await db
      .selectFrom('audit_log')
      .select('store_id')
      .where('subject', '=', theirCampaign.id)
      .execute();
    expect(audit).toEqual([{ store_id: theirs.store.id }]);
  });

  it('describes the on-site step in the OpenAPI document', async () => {
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    const create = document.paths['/admin/api/campaigns'].post;
    const body = create.requestBody.content['application/json'].schema;
    expect(body.properties.onsite).toBeDefined();
    expect(JSON.stringify(body.properties.onsite)).toContain('maxPerDay');
    const answer = create.responses['201'].content['application/json'].schema;
    expect(answer.properties.onsite).toBeDefined();
  });
});
