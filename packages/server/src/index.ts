export { type AppOptions, buildApp } from './app.js';
export { type Config, ConfigError, loadConfig, withOverrides } from './config.js';
export { createDb, type Db } from './db/index.js';
export { AppError, type ErrorCode, errorCodes } from './errors.js';
export {
  type SeedOptions,
  type SeedSummary,
  seedDemoStore,
} from './features/demo-seed/index.js';
export {
  type BatchWriter,
  type BatchWriterOptions,
  createBatchWriter,
  type WriteResult,
  WriterBusyError,
} from './features/ingest/batch-writer.js';
export {
  type EventsStoredListener,
  type IngestFeatureOptions,
  ingestFeature,
  type StoredBatch,
  websocketOptions,
} from './features/ingest/index.js';
export {
  ChannelError,
  createEmailChannel,
  type EmailChannel,
} from './features/messaging/email/channel.js';
export { createMessageLinks, type MessageLinks } from './features/messaging/links.js';
export { type SendDeps, type SendOutcome, sendMessage } from './features/messaging/send.js';
export {
  createStore,
  findStoreById,
  findStoreByPublicKey,
  listStores,
  revokeStore,
  type Store,
  updateAllowedOrigins,
  verifyAdminSecret,
} from './features/stores/repository.js';
export { type JobContext, type JobModule, type JobRunner, startJobs } from './jobs.js';
export { createLogger, scrub } from './logger.js';
export {
  type BusMessage,
  createLiveBus,
  type LiveBus,
  type LiveBusOptions,
  type LiveMessage,
} from './plugins/live.js';
export {
  createQueue,
  createReconciler,
  type DueJob,
  type Job,
  type JobHandler,
  type JobPayload,
  type JobQueue,
  type ProcessOptions,
  type Reconciler,
  type ReconcileSource,
} from './queue/index.js';
