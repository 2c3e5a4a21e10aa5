import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../../db/schema.js';
import { type CampaignStep, isTemplateId } from '../../../domain/campaign.js';
import { issueDiscount } from '../../../domain/discount.js';
import { AppError } from '../../../errors.js';
import {
  defaultTemplates,
  type EmailTemplateSource,
  type EmailView,
  renderEmail,
  TemplateError,
} from '../../messaging/email/render.js';
import { readStoreSettings } from '../../stores/settings.js';

/** A rendered email as the admin page shows it. */
export const renderedEmail = z.object({
  subject: z.string(),
  html: z.string(),
  text: z.string(),
  /** Which cart filled it: a real one of the store, or the sample when the store has none yet. */
  cart: z.object({ id: z.uuid().nullable(), externalId: z.string().nullable() }),
});

const sampleCart: EmailView['cart'] = {
  currency: 'EUR',
  subtotalMinor: 5_400,
  lines: [
    { title: 'Sunrise mug', variant: 'Blue', quantity: 2, unitPriceMinor: 1_800, imageUrl: null },
    { title: 'Tea towel', variant: null, quantity: 1, unitPriceMinor: 1_800, imageUrl: null },
  ],
};

/** Where a preview's links point: nowhere real, and plainly so. */
const previewLinks = {
  recovery: 'https://preview.invalid/r',
  unsubscribe: 'https://preview.invalid/u',
  openPixel: 'https://preview.invalid/o',
};

/** A step's template: a built-in one by key, or the store's own by id. */
export async function stepTemplate(
  db: Kysely<Database>,
  storeId: string,
  template: string,
): Promise<EmailTemplateSource> {
  if (!isTemplateId(template)) {
    // Own keys only: `constructor` or `toString` are no templates.
    const builtIn = Object.hasOwn(defaultTemplates, template)
      ? defaultTemplates[template as keyof typeof defaultTemplates]
      : undefined;
    if (!builtIn) throw new AppError('WB_ERR_NOT_FOUND', `no template ${JSON.stringify(template)}`);
    return builtIn;
  }
  const row = await db
    .selectFrom('templates')
    .select(['subject', 'html', 'text'])
    .where('store_id', '=', storeId)
    .where('id', '=', template)
    .executeTakeFirst();
  if (!row) throw new AppError('WB_ERR_NOT_FOUND', 'no such template in this store');
  return { subject: row.subject ?? '', html: row.html ?? '', text: row.text ?? '' };
}

/**
 * `template` rendered for a real cart of the store (`cartId`, else its most recently active
 * cart with lines, else a sample), with the step's discount as it would be issued now.
 */
export async function previewEmail(
  db: Kysely<Database>,
  storeId: string,
  step: Pick<CampaignStep, 'template' | 'discount'> | { source: EmailTemplateSource },
  cartId?: string,
): Promise<z.infer<typeof renderedEmail>> {
  const store = await db
    .selectFrom('stores')
    .select(['name', 'postal_address', 'settings'])
    .where('id', '=', storeId)
    .executeTakeFirstOrThrow();
  const settings = readStoreSettings(store.settings);
  let query = db
    .selectFrom('carts as c')
    .leftJoin('shoppers as s', 's.id', 'c.shopper_id')
    .select([
      'c.id',
      'c.external_id',
      'c.snapshot',
      'c.currency',
      'c.value_minor',
      's.first_name',
      's.locale',
    ])
    .where('c.store_id', '=', storeId);
  query = cartId
    ? query.where('c.id', '=', cartId)
    : query.where('c.line_count', '>', 0).orderBy('c.last_activity_at', 'desc').limit(1);
  const cart = await query.executeTakeFirst();
  if (cartId && !cart) throw new AppError('WB_ERR_NOT_FOUND', 'no such cart in this store');

  const lines = cart ? snapshotLines(cart.snapshot) : [];
  const real = cart?.currency && lines.length > 0 ? cart : undefined;
  const viewCart: EmailView['cart'] = real?.currency
    ? { currency: real.currency, subtotalMinor: real.value_minor, lines }
    : sampleCart;
  const policy = 'source' in step ? undefined : step.discount;
  const terms = policy
    ? issueDiscount(
        policy,
        { subtotalMinor: viewCart.subtotalMinor, currency: viewCart.currency },
        new Date(),
      )
    : null;
  const template = 'source' in step ? step.source : await stepTemplate(db, storeId, step.template);
  try {
    const email = await renderEmail(template, {
      store: {
        name: store.name,
        postalAddress: store.postal_address ?? '(postal address not set yet)',
      },
      shopper: { firstName: cart?.first_name ?? null },
      cart: viewCart,
      discount: terms
        ? { code: 'PREVIEW-CODE', kind: terms.kind, value: terms.value, expiresAt: terms.expiresAt }
        : null,
      links: previewLinks,
      locale: cart?.locale ?? settings.locale,
      timeZone: settings.timezone,
    });
    return {
      ...email,
      cart: {
        id: viewCart === sampleCart ? null : (cart?.id ?? null),
        externalId: viewCart === sampleCart ? null : (cart?.external_id ?? null),
      },
    };
  } catch (error) {
    if (error instanceof TemplateError) throw new AppError('WB_ERR_VALIDATION', error.message);
    throw error;
  }
}

function snapshotLines(snapshot: Record<string, unknown>): EmailView['cart']['lines'] {
  const lines = Array.isArray(snapshot.lines) ? snapshot.lines : [];
  return lines.flatMap((line: Record<string, unknown>) =>
    typeof line?.title === 'string' &&
    Number.isInteger(line.quantity) &&
    Number.isInteger(line.unitPrice)
      ? [
          {
            title: line.title,
            variant: typeof line.variant === 'string' ? line.variant : null,
            quantity: line.quantity as number,
            unitPriceMinor: line.unitPrice as number,
            imageUrl: typeof line.imageUrl === 'string' ? line.imageUrl : null,
          },
        ]
      : [],
  );
}
