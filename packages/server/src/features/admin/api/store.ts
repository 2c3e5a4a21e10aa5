import { overlayLocales, overlayTextKeys, overlayTexts } from '@winback/shared/overlay';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import { restoreTemplateProblem } from '../../../domain/restore-url.js';
import { AppError } from '../../../errors.js';
import type { LiveBus } from '../../../plugins/live.js';
import { generateAdminSecret, generatePublicKey, hashAdminSecret } from '../../stores/keys.js';
import { normalizeOrigins } from '../../stores/origins.js';
import {
  readStoreSettings,
  type StoreSettings,
  storefrontOrigin,
  storeSettingsUpdate,
} from '../../stores/settings.js';
import { adminOf } from '../auth.js';
import { audit } from './audit.js';
import { errorResponses } from './schemas.js';

/*
 * The store as its merchant tunes it: name, allowed origins, postal address, settings, and the
 * two keys. Every write is one transaction with its `audit_log` row.
 */

const storeView = z.object({
  id: z.uuid(),
  name: z.string(),
  publicKey: z.string().describe('The storefront key (pk_...), for the script tag'),
  allowedOrigins: z.array(z.string()),
  postalAddress: z.string().nullable(),
  settings: z.record(z.string(), z.unknown()).describe('Every setting, defaults filled in'),
  createdAt: z.iso.datetime(),
});

const storePatch = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    allowedOrigins: z.array(z.string().max(300)).min(1).max(50).optional(),
    postalAddress: z.string().trim().min(1).max(500).nullable().optional(),
    /** Only the given keys change; each replaces the stored key whole. */
    settings: storeSettingsUpdate.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'nothing to change');

type StoreRow = {
  id: string;
  name: string;
  public_key: string;
  allowed_origins: string[];
  postal_address: string | null;
  settings: Record<string, unknown>;
  created_at: Date;
};

function view(row: StoreRow): z.infer<typeof storeView> {
  return {
    id: row.id,
    name: row.name,
    publicKey: row.public_key,
    allowedOrigins: row.allowed_origins,
    postalAddress: row.postal_address,
    settings: readStoreSettings(row.settings) as unknown as Record<string, unknown>,
    createdAt: row.created_at.toISOString(),
  };
}

const columns = [
  'id',
  'name',
  'public_key',
  'allowed_origins',
  'postal_address',
  'settings',
  'created_at',
] as const;

/** Problems that need two settings together: a restore template must be on the store's origin. */
function crossCheck(settings: StoreSettings, allowedOrigins: readonly string[]): void {
  if (settings.cartRestore.kind !== 'template') return;
  const origin = storefrontOrigin(settings, allowedOrigins);
  const problem = origin
    ? restoreTemplateProblem(settings.cartRestore.url, origin)
    : 'set storeUrl or an allowed origin first';
  if (problem) throw new AppError('WB_ERR_VALIDATION', `settings.cartRestore.url: ${problem}`);
}

export const storeRoutes: FastifyPluginAsyncZod<{ live: LiveBus }> = async (app, { live }) => {
  const { db } = app;

  app.get(
    '/admin/api/store',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'The signed-in store: keys, origins, address and every setting',
        tags: ['store'],
        response: { 200: storeView, ...errorResponses },
      },
    },
    async (request) => {
      const row = await db
        .selectFrom('stores')
        .select(columns)
        .where('id', '=', adminOf(request).storeId)
        .executeTakeFirstOrThrow();
      return view(row);
    },
  );

  app.get(
    '/admin/api/store/overlay-texts',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary:
          'The on-site overlays’ own wording, per language, that settings.onsite.texts overrides',
        tags: ['store'],
        response: {
          200: z.object({
            locales: z.array(z.string()),
            keys: z.array(z.string()),
            defaults: z.record(z.string(), z.record(z.string(), z.string())),
          }),
          ...errorResponses,
        },
      },
    },
    async () => ({
      locales: [...overlayLocales],
      keys: [...overlayTextKeys],
      defaults: overlayTexts,
    }),
  );

  app.patch(
    '/admin/api/store',
    {
      onRequest: app.requireAdmin,
      bodyLimit: 64 * 1024,
      schema: {
        summary: 'Change the store’s name, origins, postal address or settings',
        tags: ['store'],
        body: storePatch,
        response: { 200: storeView, ...errorResponses },
      },
    },
    async (request) => {
      const admin = adminOf(request);
      const patch = request.body;
      const allowedOrigins = patch.allowedOrigins && normalizeOrigins(patch.allowedOrigins);
      return db.transaction().execute(async (trx) => {
        // Locked, so two concurrent edits of different keys do not undo each other.
        const current = await trx
          .selectFrom('stores')
          .select(['settings', 'allowed_origins'])
          .where('id', '=', admin.storeId)
          .forUpdate()
          .executeTakeFirstOrThrow();
        const stored = { ...current.settings, ...(patch.settings ?? {}) };
        crossCheck(readStoreSettings(stored), allowedOrigins ?? current.allowed_origins);
        const row = await trx
          .updateTable('stores')
          .set({
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(allowedOrigins ? { allowed_origins: allowedOrigins } : {}),
            ...(patch.postalAddress !== undefined ? { postal_address: patch.postalAddress } : {}),
            ...(patch.settings ? { settings: JSON.stringify(stored) } : {}),
            updated_at: sql<Date>`now()`,
          })
          .where('id', '=', admin.storeId)
          .returning(columns)
          .executeTakeFirstOrThrow();
        await audit(trx, {
          storeId: admin.storeId,
          sessionId: admin.sessionId,
          action: 'store.update',
          detail: {
            fields: Object.keys(patch).filter((key) => key !== 'settings'),
            settings: Object.keys(patch.settings ?? {}),
          },
        });
        return view(row);
      });
    },
  );

  app.post(
    '/admin/api/store/public-key',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'Replace the storefront key; the old one is refused from now on',
        description:
          'Nodes that cached the old key refuse it within the ingest store cache TTL (30 s by default).',
        tags: ['store'],
        response: { 200: z.object({ publicKey: z.string() }), ...errorResponses },
      },
    },
    async (request) => {
      const admin = adminOf(request);
      const publicKey = generatePublicKey();
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('stores')
          .set({ public_key: publicKey, updated_at: sql<Date>`now()` })
          .where('id', '=', admin.storeId)
          .execute();
        await audit(trx, {
          storeId: admin.storeId,
          sessionId: admin.sessionId,
          action: 'store.rotate_public_key',
        });
      });
      return { publicKey };
    },
  );

  app.post(
    '/admin/api/store/admin-secret',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'Replace the admin secret and sign out every other session',
        description: 'The new secret is shown once, in this answer; only its hash is kept.',
        tags: ['store'],
        response: { 200: z.object({ adminSecret: z.string() }), ...errorResponses },
      },
    },
    async (request) => {
      const admin = adminOf(request);
      const adminSecret = generateAdminSecret();
      const ended = await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('stores')
          .set({ secret_hash: hashAdminSecret(adminSecret), updated_at: sql<Date>`now()` })
          .where('id', '=', admin.storeId)
          .execute();
        const others = await trx
          .deleteFrom('admin_sessions')
          .where('store_id', '=', admin.storeId)
          .where('id', '!=', admin.sessionId)
          .returning('id')
          .execute();
        await audit(trx, {
          storeId: admin.storeId,
          sessionId: admin.sessionId,
          action: 'store.rotate_admin_secret',
          detail: { sessionsEnded: others.length },
        });
        return others;
      });
      for (const session of ended) live.endSession(admin.storeId, session.id);
      return { adminSecret };
    },
  );
};
