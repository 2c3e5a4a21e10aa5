import type { Kysely } from 'kysely';
import type { Database, StoreRow } from '../../db/schema.js';
import { AppError } from '../../errors.js';
import { createDefaultCampaign } from '../campaigns/repository.js';
import {
  adminSecretMatches,
  generateAdminSecret,
  generatePublicKey,
  hashAdminSecret,
  publicKeyPattern,
} from './keys.js';
import { normalizeOrigins } from './origins.js';

/** A store as the app sees it: every column except the secret's digest, which stays in SQL. */
export type Store = Omit<StoreRow, 'secret_hash'>;

export interface NewStore {
  name: string;
  /** Origins the storefront runs on; normalised and checked (see `normalizeOrigin`). */
  allowedOrigins: readonly string[];
  /** The sender's postal address every recovery email carries; none are sent until it is set. */
  postalAddress?: string;
}

const storeColumns = [
  'id',
  'name',
  'public_key',
  'allowed_origins',
  'settings',
  'postal_address',
  'revoked_at',
  'created_at',
  'updated_at',
] as const;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const maxNameLength = 200;
const maxAddressLength = 500;

/**
 * Creates a store with a fresh public key and admin secret, and the default campaign. Only a digest of the secret is
 * stored, so `adminSecret` is returned this once and can never be shown again.
 *
 * @example
 *   const { store, adminSecret } = await createStore(db, {
 *     name: 'My Shop',
 *     allowedOrigins: ['https://shop.example'],
 *   });
 */
export async function createStore(
  db: Kysely<Database>,
  input: NewStore,
): Promise<{ store: Store; adminSecret: string }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > maxNameLength) {
    throw new AppError('WB_ERR_VALIDATION', `store name must be 1 to ${maxNameLength} characters`);
  }
  const allowedOrigins = normalizeOrigins(input.allowedOrigins);
  const postalAddress = input.postalAddress?.trim() || null;
  if (postalAddress !== null && postalAddress.length > maxAddressLength) {
    throw new AppError(
      'WB_ERR_VALIDATION',
      `postal address must be at most ${maxAddressLength} characters`,
    );
  }
  const adminSecret = generateAdminSecret();
  // 144 random bits: a public key collision is not a case worth a retry loop; the unique
  // constraint would turn one into an error rather than a shared key.
  const store = await db.transaction().execute(async (trx) => {
    const created = await trx
      .insertInto('stores')
      .values({
        name,
        public_key: generatePublicKey(),
        secret_hash: hashAdminSecret(adminSecret),
        allowed_origins: allowedOrigins,
        postal_address: postalAddress,
      })
      .returning(storeColumns)
      .executeTakeFirstOrThrow();
    // Every store starts with a working recovery sequence the merchant can then edit.
    await createDefaultCampaign(trx, created.id);
    return created;
  });
  return { store, adminSecret };
}

/** The live (not revoked) store a storefront key belongs to, if any. */
export async function findStoreByPublicKey(
  db: Kysely<Database>,
  publicKey: string,
): Promise<Store | undefined> {
  // Anything that cannot be a key is turned away without a query; this runs on every connect.
  if (!publicKeyPattern.test(publicKey)) return undefined;
  return db
    .selectFrom('stores')
    .select(storeColumns)
    .where('public_key', '=', publicKey)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

/** A store by id, revoked or not (the admin still needs to see revoked stores). */
export async function findStoreById(db: Kysely<Database>, id: string): Promise<Store | undefined> {
  // A malformed id would make Postgres raise an error; to callers it is simply no store.
  if (!uuidPattern.test(id)) return undefined;
  return db.selectFrom('stores').select(storeColumns).where('id', '=', id).executeTakeFirst();
}

/** Whether `secret` is the admin secret of the live store `storeId`. */
export async function verifyAdminSecret(
  db: Kysely<Database>,
  storeId: string,
  secret: string,
): Promise<boolean> {
  if (!uuidPattern.test(storeId)) return false;
  const row = await db
    .selectFrom('stores')
    .select('secret_hash')
    .where('id', '=', storeId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined && adminSecretMatches(secret, row.secret_hash);
}

/**
 * Revokes a store: its public key stops resolving and its admin secret stops verifying.
 * Idempotent; a second call keeps the first revocation time. Undefined if there is no such store.
 */
export async function revokeStore(
  db: Kysely<Database>,
  storeId: string,
): Promise<Store | undefined> {
  if (!uuidPattern.test(storeId)) return undefined;
  return db
    .updateTable('stores')
    .set((eb) => ({
      revoked_at: eb.fn.coalesce('revoked_at', eb.fn<Date>('now')),
      updated_at: eb.fn<Date>('now'),
    }))
    .where('id', '=', storeId)
    .returning(storeColumns)
    .executeTakeFirst();
}

/**
 * Replaces a store's allowed origins with `origins`, normalised and checked like on creation.
 * Undefined if there is no such store.
 */
export async function updateAllowedOrigins(
  db: Kysely<Database>,
  storeId: string,
  origins: readonly string[],
): Promise<Store | undefined> {
  const allowedOrigins = normalizeOrigins(origins);
  if (!uuidPattern.test(storeId)) return undefined;
  return db
    .updateTable('stores')
    .set((eb) => ({ allowed_origins: allowedOrigins, updated_at: eb.fn<Date>('now') }))
    .where('id', '=', storeId)
    .returning(storeColumns)
    .executeTakeFirst();
}

/** Stores oldest first; revoked ones only when asked for. */
export async function listStores(
  db: Kysely<Database>,
  options: { includeRevoked?: boolean } = {},
): Promise<Store[]> {
  let query = db.selectFrom('stores').select(storeColumns).orderBy('created_at').orderBy('id');
  if (!options.includeRevoked) query = query.where('revoked_at', 'is', null);
  return query.execute();
}
