import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import { AppError } from '../../../errors.js';
import {
  defaultTemplates,
  maxTemplateChars,
  validateTemplate,
} from '../../messaging/email/render.js';
import { adminOf } from '../auth.js';
import { audit } from './audit.js';
import { previewEmail, renderedEmail } from './preview.js';
import { errorResponses } from './schemas.js';

/*
 * Email templates in Liquid: the built-in ones (read-only, referred to by key from campaign
 * steps) and the store's own (by id). A template is checked before it is saved: it must parse,
 * use only known variables and filters, and render for a sample cart with and without a
 * discount.
 */

/** The three Liquid parts of a template as a request carries them. */
export const templateFields = {
  subject: z.string().min(1).max(1_000),
  html: z.string().min(1).max(maxTemplateChars),
  text: z.string().min(1).max(maxTemplateChars),
};

/** Room for the three parts at their longest, and the rest of the body. */
export const templateBodyLimit = 3 * maxTemplateChars + 4096;

const templateInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  ...templateFields,
  locale: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 tag like en or de-DE')
    .default('en'),
});

const templatePatch = templateInput
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to change');

const templateView = z.object({
  id: z.uuid(),
  name: z.string(),
  subject: z.string(),
  html: z.string(),
  text: z.string(),
  locale: z.string(),
  updatedAt: z.iso.datetime(),
});

const columns = ['id', 'name', 'subject', 'html', 'text', 'locale', 'updated_at'] as const;

function view(row: {
  id: string;
  name: string;
  subject: string | null;
  html: string | null;
  text: string | null;
  locale: string;
  updated_at: Date;
}): z.infer<typeof templateView> {
  return {
    id: row.id,
    name: row.name,
    subject: row.subject ?? '',
    html: row.html ?? '',
    text: row.text ?? '',
    locale: row.locale,
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Refuses (400) a template that does not parse, or uses unknown variables or filters. */
export function checkedTemplate(template: { subject: string; html: string; text: string }): void {
  const result = validateTemplate(template);
  if (!result.ok) throw new AppError('WB_ERR_VALIDATION', result.message);
}

export const templateRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app;

  app.get(
    '/admin/api/templates',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'The built-in email templates and the store’s own',
        tags: ['templates'],
        response: {
          200: z.object({
            builtIn: z.array(
              z.object({
                key: z.string(),
                subject: z.string(),
                html: z.string(),
                text: z.string(),
              }),
            ),
            templates: z.array(templateView),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const rows = await db
        .selectFrom('templates')
        .select(columns)
        .where('store_id', '=', adminOf(request).storeId)
        .where('channel', '=', 'email')
        .orderBy('name')
        .execute();
      return {
        builtIn: Object.entries(defaultTemplates).map(([key, template]) => ({ key, ...template })),
        templates: rows.map(view),
      };
    },
  );

  app.post(
    '/admin/api/templates',
    {
      onRequest: app.requireAdmin,
      bodyLimit: templateBodyLimit,
      schema: {
        summary: 'Save a new email template (checked first)',
        tags: ['templates'],
        body: templateInput,
        response: { 201: templateView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const admin = adminOf(request);
      const input = request.body;
      checkedTemplate(input);
      const row = await db.transaction().execute(async (trx) => {
        const created = await trx
          .insertInto('templates')
          .values({
            store_id: admin.storeId,
            name: input.name,
            channel: 'email',
            subject: input.subject,
            html: input.html,
            text: input.text,
            locale: input.locale,
          })
          .returning(columns)
          .executeTakeFirstOrThrow();
        await audit(trx, {
          storeId: admin.storeId,
          sessionId: admin.sessionId,
          action: 'template.create',
          subject: created.id,
        });
        return created;
      });
      return reply.code(201).send(view(row));
    },
  );

  app.patch(
    '/admin/api/templates/:id',
    {
      onRequest: app.requireAdmin,
      bodyLimit: templateBodyLimit,
      schema: {
        summary: 'Change a template (checked as a whole before it is saved)',
        tags: ['templates'],
        params: z.object({ id: z.uuid() }),
        body: templatePatch,
        response: { 200: templateView, ...errorResponses },
      },
    },
    async (request) => {
      const admin = adminOf(request);
      const patch = request.body;
      const row = await db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('templates')
          .select(columns)
          .where('store_id', '=', admin.storeId)
          .where('id', '=', request.params.id)
          .where('channel', '=', 'email')
          .forUpdate()
          .executeTakeFirst();
        if (!current) throw new AppError('WB_ERR_NOT_FOUND', 'no such template in this store');
        const next = { ...view(current), ...patch };
        checkedTemplate(next);
        const updated = await trx
          .updateTable('templates')
          .set({
            name: next.name,
            subject: next.subject,
            html: next.html,
            text: next.text,
            locale: next.locale,
            updated_at: sql<Date>`now()`,
          })
          .where('store_id', '=', admin.storeId)
          .where('id', '=', current.id)
          .returning(columns)
          .executeTakeFirstOrThrow();
        await audit(trx, {
          storeId: admin.storeId,
          sessionId: admin.sessionId,
          action: 'template.update',
          subject: current.id,
          detail: { fields: Object.keys(patch) },
        });
        return updated;
      });
      return view(row);
    },
  );

  app.post(
    '/admin/api/templates/preview',
    {
      onRequest: app.requireAdmin,
      bodyLimit: templateBodyLimit,
      schema: {
        summary: 'Render unsaved template text for a real recent cart (or `cartId`)',
        tags: ['templates'],
        body: z.strictObject({ ...templateFields, cartId: z.uuid().optional() }),
        response: { 200: renderedEmail, ...errorResponses },
      },
    },
    async (request) => {
      const { cartId, ...template } = request.body;
      checkedTemplate(template);
      return previewEmail(db, adminOf(request).storeId, { source: template }, cartId);
    },
  );
};
