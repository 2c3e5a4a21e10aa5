import { z } from 'zod';

/**
 * Every setting Winback reads, parsed once from the environment into a frozen object.
 * Nothing else in the server reads `process.env`; a bad value stops start-up with a message
 * that names the variable.
 */
const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.host !== '';
    } catch {
      return false;
    }
  }, 'must be a postgres:// or postgresql:// URL with a host');

const redisUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.host !== '';
    } catch {
      return false;
    }
  }, 'must be a redis:// or rediss:// URL with a host');

const httpUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL');

const port = z.coerce
  .number({ error: 'must be a whole number from 0 to 65535' })
  .int('must be a whole number from 0 to 65535')
  .min(0, 'must be a whole number from 0 to 65535')
  .max(65535, 'must be a whole number from 0 to 65535');

const positiveInt = z.coerce.number({ error: 'must be a positive whole number' }).int().positive();

const env = z.object({
  PORT: port.default(3000),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PUBLIC_URL: httpUrl.optional(),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: positiveInt.max(1000).default(10),
  REDIS_URL: redisUrl.optional(),
  QUEUE_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 characters of [A-Za-z0-9_.-]')
    .default('winback'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: booleanFlag.default(false),
  WINBACK_DATA_DIR: z.string().trim().min(1).default('.winback'),
  SMTP_URL: z
    .string()
    .trim()
    .refine((value) => {
      try {
        return ['smtp:', 'smtps:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'must be an smtp:// or smtps:// URL')
    .optional(),
  SMTP_MAX_CONNECTIONS: positiveInt.max(100).default(5),
  MAIL_FROM: z.string().trim().min(3).optional(),
  SEND_CONCURRENCY: positiveInt.max(1000).default(32),
  LINK_SECRET: z
    .string()
    .trim()
    .refine(
      (value) => value.split(',').every((secret) => secret.trim().length >= 32),
      'must be one or more comma-separated secrets of at least 32 characters',
    )
    .optional(),
  SHUTDOWN_TIMEOUT_MS: positiveInt.max(600_000).default(10_000),
  RECONCILE_INTERVAL_MS: positiveInt.min(1000).default(60_000),
  RATE_LIMIT_EVENTS_PER_SECOND: positiveInt.max(10_000_000).default(1_000),
  RATE_LIMIT_FRAMES_PER_IP_PER_SECOND: positiveInt.max(10_000_000).default(50),
});

const secretVariables = new Set(['LINK_SECRET']);

export type QueueDriver = 'bullmq' | 'local';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Base URL the outside world reaches this server at (recovery links, unsubscribe links). */
  readonly publicUrl: string;
  /** Absent only in the embedded demo, which starts its own Postgres and fills this in. */
  readonly databaseUrl: string | undefined;
  readonly databasePoolMax: number;
  readonly redisUrl: string | undefined;
  /** `bullmq` whenever REDIS_URL is set; `local` (in-process, single node) otherwise. */
  readonly queue: QueueDriver;
  /** Redis key prefix of the queue, so several deployments can share one Redis. */
  readonly queuePrefix: string;
  readonly logLevel: z.infer<typeof env>['LOG_LEVEL'];
  readonly logPretty: boolean;
  readonly dataDir: string;
  readonly smtpUrl: string | undefined;
  /** SMTP connections each worker process keeps open to the provider. */
  readonly smtpMaxConnections: number;
  /** Recovery steps each worker process has in flight at once. */
  readonly sendConcurrency: number;
  readonly mailFrom: string;
  /**
   * Sign the links in messages (recovery, open pixel, unsubscribe): the first signs, all verify,
   * so a secret can be rotated without breaking links already sent. Absent: a random secret per
   * process (the demo keeps one in its data folder), with a warning.
   */
  readonly linkSecrets: readonly string[] | undefined;
  readonly shutdownTimeoutMs: number;
  readonly reconcileIntervalMs: number;
  /** Ingest: events per second per store public key. */
  readonly rateLimitEventsPerSecond: number;
  /** Ingest: frames per second per client IP. */
  readonly rateLimitFramesPerIpPerSecond: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses the environment. Throws a `ConfigError` whose message names every bad variable.
 *
 * @example
 *   const config = loadConfig(process.env); // only the CLI passes process.env
 */
export function loadConfig(source: Record<string, string | undefined>): Config {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(
    Object.entries(source).filter(([key, value]) => key in env.shape && value !== ''),
  );
  const parsed = env.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      // A secret's value is never echoed, not even a wrong one.
      const shown = name in present && !secretVariables.has(name);
      return `${name} ${issue.message}${shown ? ` (got ${JSON.stringify(redactUrl(String(present[name])))})` : ''}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const v = parsed.data;
  return Object.freeze({
    port: v.PORT,
    host: v.HOST,
    publicUrl: (v.PUBLIC_URL ?? `http://${v.HOST}:${v.PORT}`).replace(/\/+$/, ''),
    databaseUrl: v.DATABASE_URL,
    databasePoolMax: v.DATABASE_POOL_MAX,
    redisUrl: v.REDIS_URL,
    queue: v.REDIS_URL ? 'bullmq' : 'local',
    queuePrefix: v.QUEUE_PREFIX,
    logLevel: v.LOG_LEVEL,
    logPretty: v.LOG_PRETTY,
    dataDir: v.WINBACK_DATA_DIR,
    smtpUrl: v.SMTP_URL,
    smtpMaxConnections: v.SMTP_MAX_CONNECTIONS,
    sendConcurrency: v.SEND_CONCURRENCY,
    mailFrom: v.MAIL_FROM ?? 'Winback <recovery@localhost>',
    linkSecrets: v.LINK_SECRET?.split(',').map((secret) => secret.trim()),
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    reconcileIntervalMs: v.RECONCILE_INTERVAL_MS,
    rateLimitEventsPerSecond: v.RATE_LIMIT_EVENTS_PER_SECOND,
    rateLimitFramesPerIpPerSecond: v.RATE_LIMIT_FRAMES_PER_IP_PER_SECOND,
  });
}

/** Returns a copy of `config` with some fields replaced (the demo fills in its own services). */
export function withOverrides(config: Config, overrides: Partial<Config>): Config {
  const merged = { ...config, ...overrides };
  return Object.freeze({ ...merged, queue: merged.redisUrl ? 'bullmq' : 'local' });
}

/** Keeps a URL's shape for error messages but never its password. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
}
