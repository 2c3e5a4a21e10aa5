import type { Config } from '../config.js';
import { redactUrl } from '../config.js';
import { createDb } from '../db/index.js';
import { describeDatabaseError, MigrationError, migrateToLatest } from '../db/migrate.js';
import { ensureEventPartitions } from '../db/partitions.js';
import { UsageError } from '../errors.js';

/**
 * `winback migrate`: applies pending migrations, then makes sure the events partitions for this
 * month and the next two exist. Prints one line per migration applied.
 */
export async function migrateCommand(
  config: Config,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const databaseUrl = config.databaseUrl;
  if (!databaseUrl) throw new UsageError('DATABASE_URL is required for `winback migrate`');
  const db = createDb(databaseUrl, 1);
  try {
    const { applied } = await migrateToLatest(db).catch((error: unknown) => {
      throw withTarget(error, databaseUrl);
    });
    for (const name of applied) out.write(`applied ${name}\n`);
    out.write(
      applied.length === 0
        ? 'database schema is already up to date\n'
        : `database schema is up to date (${applied.length} applied)\n`,
    );
    const partitions = await ensureEventPartitions(db);
    out.write(`events partitions ready: ${partitions.join(', ')}\n`);
  } finally {
    await db.destroy();
  }
}

// A failed migration already names itself; anything else (a refused connection, say) would
// otherwise give no hint of which database was meant.
function withTarget(error: unknown, databaseUrl: string): unknown {
  if (error instanceof MigrationError && error.migration !== undefined) return error;
  const reason = describeDatabaseError(error);
  return new Error(`cannot migrate the database at ${redactUrl(databaseUrl)}: ${reason}`, {
    cause: error,
  });
}
