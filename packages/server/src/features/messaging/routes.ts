import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Config } from '../../config.js';
import { restoreUrl } from '../../domain/restore-url.js';
import { readStoreSettings, storefrontOrigin } from '../stores/settings.js';
import { createMessageLinks, linkSecrets } from './links.js';
import { addressHash } from './send.js';

/*
 * The links inside recovery messages. Each carries a signed, expiring token naming only the
 * ledger row (no personal data):
 * - GET  /r/:token  records the click and redirects to the storefront with the cart rebuilt
 *                   (and the step's discount code applied where the platform takes it in the URL);
 * - GET  /o/:token  records the open and answers a 1x1 transparent GIF, whatever the token;
 * - GET  /u/:token  shows a confirmation page and never unsubscribes by itself (mail scanners
 *                   follow links);
 * - POST /u/:token  unsubscribes (RFC 8058 one-click: no login, any body, idempotent).
 */

// The smallest transparent GIF.
const pixel = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export const messagingRoutes: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const links = createMessageLinks(config.publicUrl, linkSecrets(config, app.log));
  const db = app.db;

  // One-click unsubscribe posts `List-Unsubscribe=One-Click` as a form; nothing in the body
  // matters, so every body type is accepted and ignored here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 16 * 1024 }, (_req, _body, done) =>
    done(null, undefined),
  );

  app.get<{ Params: { token: string } }>('/r/:token', async (request, reply) => {
    const messageId = links.verify(request.params.token, 'recover');
    if (!messageId) return linkPage(reply, 404, 'This link has expired', expiredText);
    const row = await db
      .selectFrom('messages as m')
      .innerJoin('carts as c', 'c.id', 'm.cart_id')
      .innerJoin('stores as s', 's.id', 'm.store_id')
      .leftJoin('discounts as d', 'd.id', 'm.discount_id')
      .select([
        'm.id',
        'c.external_id',
        'c.snapshot',
        's.settings',
        's.allowed_origins',
        'd.code',
        'd.expires_at',
        'd.used_at',
      ])
      .where('m.id', '=', messageId)
      .executeTakeFirst();
    if (!row) return linkPage(reply, 404, 'This link has expired', expiredText);
    const settings = readStoreSettings(row.settings);
    const origin = storefrontOrigin(settings, row.allowed_origins);
    if (!origin) return linkPage(reply, 404, 'This link has expired', expiredText);
    const now = new Date();
    await db
      .updateTable('messages')
      .set((eb) => ({
        clicked_at: eb.fn.coalesce('clicked_at', eb.val(now)),
        // A click means it was opened, whether or not the pixel loaded.
        opened_at: eb.fn.coalesce('opened_at', eb.val(now)),
      }))
      .where('id', '=', messageId)
      .execute();
    const usable = row.code && !row.used_at && (!row.expires_at || row.expires_at > now);
    const snapshot = row.snapshot as {
      lines?: { variantId?: string; productId?: string; sku?: string; quantity: number }[];
    };
    const target = restoreUrl(
      { storeUrl: origin, cartRestore: settings.cartRestore },
      {
        lines: (snapshot.lines ?? []).map((line) => ({
          ...(line.variantId ? { variantId: line.variantId } : {}),
          ...(line.productId ? { productId: line.productId } : {}),
          ...(line.sku ? { sku: line.sku } : {}),
          quantity: line.quantity,
        })),
        externalCartId: row.external_id,
        discountCode: usable ? row.code : null,
      },
    );
    return reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .redirect(target, 302);
  });

  app.get<{ Params: { token: string } }>('/o/:token', async (request, reply) => {
    const messageId = links.verify(request.params.token, 'open');
    if (messageId) {
      await db
        .updateTable('messages')
        .set((eb) => ({ opened_at: eb.fn.coalesce('opened_at', eb.val(new Date())) }))
        .where('id', '=', messageId)
        .where('status', '=', 'sent')
        .execute();
    }
    return reply.header('cache-control', 'no-store').type('image/gif').send(pixel);
  });

  app.get<{ Params: { token: string } }>('/u/:token', async (request, reply) => {
    if (!links.verify(request.params.token, 'unsubscribe')) {
      return linkPage(reply, 404, 'This link has expired', expiredText);
    }
    return linkPage(
      reply,
      200,
      'Unsubscribe',
      'You will no longer receive reminders about carts you left.',
      // Posting to the same URL: the confirmation is one click, and nothing happens on a GET.
      '<form method="post"><button type="submit">Unsubscribe</button></form>',
    );
  });

  app.post<{ Params: { token: string } }>('/u/:token', async (request, reply) => {
    const messageId = links.verify(request.params.token, 'unsubscribe');
    if (!messageId) return linkPage(reply, 404, 'This link has expired', expiredText);
    await unsubscribe(db, messageId);
    return linkPage(
      reply,
      200,
      'You are unsubscribed',
      'You will not receive any more reminders about carts you left.',
    );
  });
};

const expiredText = 'The link you followed is no longer valid.';

/**
 * Opts the message's shopper out, once: consent withdrawn (logged), the address on the
 * suppression list, and every step not yet sent to them cancelled. Repeating it changes nothing.
 */
async function unsubscribe(db: import('../../db/index.js').Db, messageId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('messages as m')
      .innerJoin('carts as c', 'c.id', 'm.cart_id')
      .innerJoin('shoppers as s', 's.id', 'c.shopper_id')
      .select(['m.store_id', 's.id as shopper_id', 's.email'])
      .where('m.id', '=', messageId)
      .executeTakeFirst();
    if (!row) return;
    const now = new Date();
    const changed = await trx
      .updateTable('shoppers')
      .set({ opted_out_at: now, email_consent: false, updated_at: now })
      .where('id', '=', row.shopper_id)
      .where('opted_out_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    if (changed) {
      await trx
        .insertInto('consent_log')
        .values({
          store_id: row.store_id,
          shopper_id: row.shopper_id,
          channel: 'email',
          granted: false,
          source: 'unsubscribe',
          text_version: null,
        })
        .execute();
    }
    if (row.email) {
      await trx
        .insertInto('suppressions')
        .values({
          store_id: row.store_id,
          channel: 'email',
          address_hash: addressHash('email', row.email),
          reason: 'unsubscribe',
        })
        .onConflict((oc) => oc.columns(['store_id', 'channel', 'address_hash']).doNothing())
        .execute();
    }
    await trx
      .updateTable('messages')
      .set({ status: 'cancelled', suppress_reason: 'opted_out', updated_at: now })
      .where('store_id', '=', row.store_id)
      .where('status', '=', 'scheduled')
      .where('cart_id', 'in', (eb) =>
        eb
          .selectFrom('carts')
          .select('id')
          .where('store_id', '=', row.store_id)
          .where('shopper_id', '=', row.shopper_id),
      )
      .execute();
  });
}

function linkPage(
  reply: FastifyReply,
  status: number,
  title: string,
  text: string,
  extra = '',
): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; form-action 'self'")
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head><body><main><h1>${title}</h1><p>${text}</p>${extra}</main></body></html>`,
    );
}
