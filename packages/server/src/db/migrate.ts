import { type Kysely, type MigrationResultSet, Migrator, NO_MIGRATIONS } from 'kysely';
import { migrationProvider } from './migrations/index.js';

/** A migration run that failed; `migration` names the one that broke, when one did. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';

  constructor(
    message: string,
    readonly migration: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the migrator works below the app's table types
export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: migrationProvider });
}

/**
 * Applies every pending migration and returns their names in order (empty when up to date).
 * Kysely runs the batch in one transaction, so a failure leaves the schema as it was; the
 * `MigrationError` names the migration that failed.
 *
 * @example
 *   const { applied } = await migrateToLatest(db);
 */
// biome-ignore lint/suspicious/noExplicitAny: the migrator works below the app's table types
export async function migrateToLatest(db: Kysely<any>): Promise<{ applied: string[] }> {
  const names = settle(await createMigrator(db).migrateToLatest(), 'up');
  return { applied: names };
}

/** Reverts every migration, newest first. For tests and for tearing a database down. */
// biome-ignore lint/suspicious/noExplicitAny: the migrator works below the app's table types
export async function migrateToNothing(db: Kysely<any>): Promise<{ reverted: string[] }> {
  const names = settle(await createMigrator(db).migrateTo(NO_MIGRATIONS), 'down');
  return { reverted: names };
}

/** Names of the migrations this code knows that the database has not run yet. */
// biome-ignore lint/suspicious/noExplicitAny: the migrator works below the app's table types
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const all = await createMigrator(db).getMigrations();
  return all.filter((migration) => migration.executedAt === undefined).map((m) => m.name);
}

function settle(resultSet: MigrationResultSet, direction: 'up' | 'down'): string[] {
  const results = resultSet.results ?? [];
  if (resultSet.error === undefined) {
    return results.filter((result) => result.status === 'Success').map((r) => r.migrationName);
  }
  const cause = resultSet.error;
  const reason = describeDatabaseError(cause);
  const failed = results.find((result) => result.status === 'Error')?.migrationName;
  if (failed === undefined) {
    throw new MigrationError(`migrating the database ${direction} failed: ${reason}`, undefined, {
      cause,
    });
  }
  const batch =
    results.length > 1 ? `; the batch of ${results.length} was rolled back, none applied` : '';
  throw new MigrationError(`migration ${failed} (${direction}) failed: ${reason}${batch}`, failed, {
    cause,
  });
}

/**
 * One readable line for a database failure. node-postgres reports a refused connection to a
 * name with several addresses (localhost: ::1 and 127.0.0.1) as an AggregateError with an empty
 * message, so the first inner error or the code stands in.
 */
export function describeDatabaseError(error: unknown): string {
  if (error instanceof MigrationError && error.migration === undefined && error.cause) {
    return describeDatabaseError(error.cause);
  }
  if (error instanceof AggregateError && error.message === '' && error.errors.length > 0) {
    return describeDatabaseError(error.errors[0]);
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return error.message || (typeof code === 'string' ? code : error.name);
  }
  return String(error);
}
