// The database surface other packages (tests, tools) may use: `@winback/server/db`.
export { createDb, type Db } from './index.js';
export {
  createMigrator,
  MigrationError,
  migrateToLatest,
  migrateToNothing,
  pendingMigrations,
} from './migrate.js';
export { migrations } from './migrations/index.js';
export { ensureEventPartitions, ulidTimePrefix } from './partitions.js';
export type { Database } from './schema.js';
export {
  createSendLockKeeper,
  lockForTransaction,
  type SendLease,
  type SendLockKeeper,
  sendLockKey,
} from './send-locks.js';
