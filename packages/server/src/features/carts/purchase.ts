import { type Kysely, sql } from 'kysely';
import type { CartStatus, Database } from '../../db/schema.js';
import { attributePurchase } from '../../domain/attribution.js';
import type { StoreSettings } from '../stores/settings.js';

type Trx = Kysely<Database>;

/**
 * Settles a purchase inside the ingest transaction that stored it, after the cart's row has been
 * merged (`converted_at` and the order are already on it) and with the send locks held:
 * - the cart becomes `recovered` when one of its messages was opened or clicked within the
 *   store's attribution window before the purchase, attributed to the last such touch; otherwise
 *   it stays `converted` (bought without help);
 * - every step not yet sent is cancelled, for this cart and for every other cart of the same
 *   shopper: whoever has just bought is not reminded of anything.
 * - a discount code issued for the cart that the bought cart carries is marked used.
 * Repeating it (a resent or second purchase signal) changes nothing more. Returns the status.
 */
export async function settlePurchase(
  trx: Trx,
  storeId: string,
  cartId: string,
  settings: Pick<StoreSettings, 'attributionWindowDays'>,
): Promise<CartStatus> {
  const cart = await trx
    .selectFrom('carts')
    .select(['status', 'converted_at', 'shopper_id', 'snapshot'])
    .where('store_id', '=', storeId)
    .where('id', '=', cartId)
    .executeTakeFirstOrThrow();
  let status = cart.status;
  if (status === 'converted' && cart.converted_at) {
    const touches = await trx
      .selectFrom('messages')
      .select(['id as messageId', 'opened_at as openedAt', 'clicked_at as clickedAt'])
      .where('store_id', '=', storeId)
      .where('cart_id', '=', cartId)
      .where((eb) => eb.or([eb('opened_at', 'is not', null), eb('clicked_at', 'is not', null)]))
      .execute();
    const attribution = attributePurchase({
      purchasedAt: cart.converted_at,
      windowDays: settings.attributionWindowDays,
      touches,
    });
    if (attribution.outcome === 'recovered' && attribution.messageId) {
      await trx
        .updateTable('carts')
        .set({
          status: 'recovered',
          attributed_message_id: attribution.messageId,
          updated_at: sql<Date>`now()`,
        })
        .where('store_id', '=', storeId)
        .where('id', '=', cartId)
        .execute();
      status = 'recovered';
    }
  }
  // Codes issued for this cart that the bought cart carried are spent.
  const applied = (cart.snapshot as { discountCodes?: unknown }).discountCodes;
  const codes = Array.isArray(applied) ? applied.filter((c) => typeof c === 'string') : [];
  if (codes.length > 0 && cart.converted_at) {
    await trx
      .updateTable('discounts')
      .set({ used_at: cart.converted_at })
      .where('store_id', '=', storeId)
      .where('cart_id', '=', cartId)
      .where('used_at', 'is', null)
      .where(
        sql<string>`upper(code)`,
        'in',
        codes.map((code) => code.toUpperCase()),
      )
      .execute();
  }
  await cancelPendingSteps(trx, storeId, { cartId, shopperId: cart.shopper_id });
  return status;
}

/** Cancels the steps not yet sent of every cart of a shopper who has just bought. */
export async function stopShopperSequences(
  trx: Trx,
  storeId: string,
  shopperId: string,
): Promise<void> {
  await cancelPendingSteps(trx, storeId, { cartId: null, shopperId });
}

async function cancelPendingSteps(
  trx: Trx,
  storeId: string,
  { cartId, shopperId }: { cartId: string | null; shopperId: string | null },
): Promise<void> {
  await sql`
    update messages set status = 'cancelled', suppress_reason = 'purchased', updated_at = now()
    where store_id = ${storeId}::uuid and status = 'scheduled' and cart_id in (
      select id from carts
      where store_id = ${storeId}::uuid
        and (id = ${cartId}::uuid or (${shopperId}::uuid is not null and shopper_id = ${shopperId}::uuid))
    )
  `.execute(trx);
}
