export { type AppOptions, buildApp } from './app.js';
export { type Config, ConfigError, loadConfig, withOverrides } from './config.js';
export { createDb, type Db } from './db/index.js';
export { AppError, type ErrorCode, errorCodes } from './errors.js';
export { createLogger, scrub } from './logger.js';
export { createQueue } from './queue/index.js';
export type { Job, JobHandler, JobPayload, JobQueue, ProcessOptions } from './queue/port.js';
