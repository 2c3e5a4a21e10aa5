import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../../db/schema.js';
import {
  type CampaignStep,
  campaignOnsite,
  campaignSteps,
  isTemplateId,
  readCampaignOnsite,
} from '../../../domain/campaign.js';
import { triggerFilters } from '../../../domain/segments.js';
import { AppError } from '../../../errors.js';
import { defaultTemplates } from '../../messaging/email/render.js';
import { adminOf } from '../auth.js';
import { audit } from './audit.js';
import { previewEmail, renderedEmail } from './preview.js';
import { errorResponses } from './schemas.js';

/*
 * Campaigns as the merchant edits them: list, create, edit (filters, steps, on-site step,
 * priority), pause and resume, and a preview of each step rendered for a real recent cart. An
 * edit of what the campaign does to carts bumps its version; carts already enrolled keep the
 * steps they enrolled with (the ledger holds each step's definition), so a change reaches only
 * carts abandoned after it. The on-site step is read live by the exit modal's offer decision,
 * so its change reaches shoppers on the site within seconds.
 */

const campaignStatus = z.enum(['draft', 'active', 'paused']);

const campaignView = z.object({
  id: z.uuid(),
  name: z.string(),
  status: campaignStatus,
  priority: z.number().int(),
  triggerFilters: z.record(z.string(), z.unknown()),
  steps: z.array(z.record(z.string(), z.unknown())),
  onsite: z
    .object({ offer: z.record(z.string(), z.unknown()).nullable() })
    .nullable()
    .describe(
      'The on-site step: the exit modal’s discount rule for this campaign’s carts (offer null: no discount); null: none, the store’s onsite.offer applies',
    ),
  version: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const campaignInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  status: campaignStatus.default('draft'),
  priority: z.number().int().min(-1000).max(1000).default(0),
  triggerFilters: triggerFilters.default({}),
  steps: campaignSteps,
  /** Null (or left out): no on-site step, the store's offer applies to this campaign's carts. */
  onsite: campaignOnsite.nullable().default(null),
});

const campaignPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    status: campaignStatus.optional(),
    priority: z.number().int().min(-1000).max(1000).optional(),
    triggerFilters: triggerFilters.optional(),
    steps: campaignSteps.optional(),
    onsite: campaignOnsite.nullable().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to change');

const idParams = z.object({ id: z.uuid() });

type CampaignRow = {
  id: string;
  name: string;
  status: 'draft' | 'active' | 'paused';
  priority: number;
  trigger_filters: Record<string, unknown>;
  steps: unknown[];
  onsite: Record<string, unknown> | null;
  version: number;
  created_at: Date;
  updated_at: Date;
};

const columns = [
  'id',
  'name',
  'status',
  'priority',
  'trigger_filters',
  'steps',
  'onsite',
  'version',
  'created_at',
  'updated_at',
] as const;

function view(row: CampaignRow): z.infer<typeof campaignView> {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    priority: row.priority,
    triggerFilters: row.trigger_filters,
    steps: row.steps as Record<string, unknown>[],
    // As the offer decision reads it: a document that no longer parses offers no discount.
    onsite: readCampaignOnsite(row.onsite),
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Every step's template must exist: a built-in key, or an email template of this store. */
async function checkTemplates(
  db: Kysely<Database>,
  storeId: string,
  steps: readonly CampaignStep[],
): Promise<void> {
  const ids = steps.map((step) => step.template).filter(isTemplateId);
  const known = ids.length
    ? new Set(
        (
          await db
            .selectFrom('templates')
            .select('id')
            .where('store_id', '=', storeId)
            .where('channel', '=', 'email')
            .where('id', 'in', ids)
            .execute()
        ).map((row) => row.id),
      )
    : new Set<string>();
  steps.forEach((step, index) => {
    const exists = isTemplateId(step.template)
      ? known.has(step.template.toLowerCase())
      : Object.hasOwn(defaultTemplates, step.template);
    if (!exists) {
      throw new AppError(
        'WB_ERR_VALIDATION',
        `steps.${index}.template: no template ${JSON.stringify(step.template)} in this store`,
      );
    }
    if (step.channel !== 'email') {
      throw new AppError(
        'WB_ERR_VALIDATION',
        `steps.${index}.channel: only email steps can be sent yet`,
      );
    }
  });
}

export const campaignRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app;

  app.get(
    '/admin/api/campaigns',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'The store’s campaigns, highest priority first',
        tags: ['campaigns'],
        response: { 200: z.object({ campaigns: z.array(campaignView) }), ...errorResponses },
      },
    },
    async (request) => {
      const rows = await db
        .selectFrom('campaigns')
        .select(columns)
        .where('store_id', '=', adminOf(request).storeId)
        .orderBy('priority', 'desc')
        .orderBy('created_at')
        .execute();
      return { campaigns: rows.map(view) };
    },
  );

  app.get(
    '/admin/api/campaigns/:id',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'One campaign',
        tags: ['campaigns'],
        params: idParams,
        response: { 200: campaignView, ...errorResponses },
      },
    },
    async (request) => view(await findCampaign(db, adminOf(request).storeId, request.params.id)),
  );

  app.post(
    '/admin/api/campaigns',
    {
      onRequest: app.requireAdmin,
      bodyLimit: 64 * 1024,
      schema: {
        summary: 'Create a campaign (a draft unless told otherwise)',
        tags: ['campaigns'],
        body: campaignInput,
        response: { 201: campaignView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const admin = adminOf(request);
      const input = request.body;
      await checkTemplates(db, admin.storeId, input.steps);
      const row = await db.transaction().execute(async (trx) => {
        const created = await trx
          .insertInto('campaigns')
          .values({
            store_id: admin.storeId,
            name: input.name,
            status: input.status,
            priority: input.priority,
            trigger_filters: JSON.stringify(input.triggerFilters),
            steps: JSON.stringify(input.steps),
            onsite: storedOnsite(input.onsite),
          })
          .returning(columns)
          .executeTakeFirstOrThrow();
        await audit(trx, {
          storeId: admin.storeId,
          sessionId: admin.sessionId,
          action: 'campaign.create',
          subject: created.id,
        });
        return created;
      });
      return reply.code(201).send(view(row));
    },
  );

  app.patch(
    '/admin/api/campaigns/:id',
    {
      onRequest: app.requireAdmin,
      bodyLimit: 64 * 1024,
      schema: {
        summary: 'Edit, pause (status paused) or resume (status active) a campaign',
        description:
          'Carts already enrolled keep the steps they enrolled with; the change reaches carts abandoned from now on.',
        tags: ['campaigns'],
        params: idParams,
        body: campaignPatch,
        response: { 200: campaignView, ...errorResponses },
      },
    },
    async (request) => {
      const admin = adminOf(request);
      const patch = request.body;
      if (patch.steps) await checkTemplates(db, admin.storeId, patch.steps);
      const changesSequence =
        patch.steps !== undefined ||
        patch.triggerFilters !== undefined ||
        patch.onsite !== undefined;
      const row = await db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('campaigns')
          .set({
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(patch.status !== undefined ? { status: patch.status } : {}),
            ...(patch.priority !== undefined ? { priority: patch.priority } : {}),
            ...(patch.triggerFilters
              ? { trigger_filters: JSON.stringify(patch.triggerFilters) }
              : {}),
            ...(patch.steps ? { steps: JSON.stringify(patch.steps) } : {}),
            ...(patch.onsite !== undefined ? { onsite: storedOnsite(patch.onsite) } : {}),
            ...(changesSequence ? { version: sql<number>`version + 1` } : {}),
            updated_at: sql<Date>`now()`,
          })
          .where('store_id', '=', admin.storeId)
          .where('id', '=', request.params.id)
          .returning(columns)
          .executeTakeFirst();
        if (!updated) throw new AppError('WB_ERR_NOT_FOUND', 'no such campaign in this store');
        await audit(trx, {
          storeId: admin.storeId,
          sessionId: admin.sessionId,
          action: 'campaign.update',
          subject: updated.id,
          detail: { fields: Object.keys(patch) },
        });
        return updated;
      });
      return view(row);
    },
  );

  app.post(
    '/admin/api/campaigns/:id/preview',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'A step rendered as its email, for a real recent cart of the store',
        description:
          'The cart is `cartId` when given, else the store’s most recently active cart with lines; a sample cart when the store has none. Links point nowhere.',
        tags: ['campaigns'],
        params: idParams,
        body: z.strictObject({
          step: z.number().int().min(0).max(9),
          cartId: z.uuid().optional(),
        }),
        response: { 200: renderedEmail, ...errorResponses },
      },
    },
    async (request) => {
      const storeId = adminOf(request).storeId;
      const campaign = await findCampaign(db, storeId, request.params.id);
      const parsed = campaignSteps.safeParse(campaign.steps);
      const step = parsed.success ? parsed.data[request.body.step] : undefined;
      if (!step) throw new AppError('WB_ERR_NOT_FOUND', 'the campaign has no such step');
      return previewEmail(db, storeId, step, request.body.cartId);
    },
  );
};

/** The `campaigns.onsite` value: SQL null for no on-site step (never a JSON `null`). */
function storedOnsite(onsite: z.infer<typeof campaignOnsite> | null): string | null {
  return onsite === null ? null : JSON.stringify(onsite);
}

async function findCampaign(
  db: Kysely<Database>,
  storeId: string,
  id: string,
): Promise<CampaignRow> {
  const row = await db
    .selectFrom('campaigns')
    .select(columns)
    .where('store_id', '=', storeId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new AppError('WB_ERR_NOT_FOUND', 'no such campaign in this store');
  return row;
}
