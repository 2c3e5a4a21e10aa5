import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { redactUrl } from '../config.js';
import { createDb } from '../db/index.js';
import { describeDatabaseError, pendingMigrations } from '../db/migrate.js';
import { AppError, UsageError } from '../errors.js';
import { normalizeOrigins } from '../features/stores/origins.js';
import { createStore } from '../features/stores/repository.js';

const usage =
  'usage: winback store create --name "My Shop" --origin https://shop.example [--origin ...]';

/**
 * `winback store create`: makes a store and prints its public key and admin secret once.
 *
 * It does not migrate on its own: it refuses when the schema is behind and asks for
 * `winback migrate`, because changing a production schema should be a deliberate step, not a
 * side effect of adding a store.
 */
export async function storeCreateCommand(
  config: Config,
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const { name, origins } = parseStoreCreateArgs(argv);
  if (!config.databaseUrl) {
    throw new UsageError('DATABASE_URL is required for `winback store create`');
  }
  const db = createDb(config.databaseUrl, 1);
  try {
    let pending: string[];
    try {
      pending = await pendingMigrations(db);
    } catch (error) {
      const reason = describeDatabaseError(error);
      throw new Error(`cannot read the database at ${redactUrl(config.databaseUrl)}: ${reason}`, {
        cause: error,
      });
    }
    if (pending.length > 0) {
      throw new UsageError(
        `the database schema is behind (${pending.length} pending migration${pending.length === 1 ? '' : 's'}); run \`winback migrate\` first`,
      );
    }
    const { store, adminSecret } = await createStore(db, { name, allowedOrigins: origins });
    out.write(
      [
        `store: ${store.name} (${store.id})`,
        `allowed origins: ${store.allowed_origins.join(', ')}`,
        `public key: ${store.public_key}`,
        `admin secret: ${adminSecret} (shown once; store it now)`,
        '',
      ].join('\n'),
    );
  } finally {
    await db.destroy();
  }
}

/** Parses and checks the arguments before anything touches the database. */
export function parseStoreCreateArgs(argv: string[]): { name: string; origins: string[] } {
  let values: { name?: string | undefined; origin?: string[] | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        name: { type: 'string' },
        origin: { type: 'string', multiple: true },
      },
    }));
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`store create: ${reason}; ${usage}`);
  }
  const name = values.name?.trim() ?? '';
  if (name === '') throw new UsageError(`store create needs --name; ${usage}`);
  const origins = values.origin ?? [];
  if (origins.length === 0)
    throw new UsageError(`store create needs at least one --origin; ${usage}`);
  try {
    return { name, origins: normalizeOrigins(origins) };
  } catch (error) {
    if (error instanceof AppError) throw new UsageError(`store create: ${error.message}`);
    throw error;
  }
}
