/**
 * Whether the shopper of cart `alias` counts as returning: the same shopper has another cart,
 * from another session, first seen earlier. One definition for the score (ingest), the campaign
 * segments (abandonment) and the on-site offer's campaign choice, so they never disagree. SQL
 * text over a table alias, for statements built as text and for kysely's `sql.raw`.
 */
export function returningShopperSql(alias: string): string {
  if (!/^[a-z_]+$/.test(alias)) throw new Error(`returningShopperSql: bad alias ${alias}`);
  return `exists (
      select 1 from carts earlier
      where earlier.store_id = ${alias}.store_id and earlier.shopper_id = ${alias}.shopper_id
        and earlier.id <> ${alias}.id and earlier.session_id is distinct from ${alias}.session_id
        and earlier.first_seen_at < ${alias}.first_seen_at
    )`;
}
