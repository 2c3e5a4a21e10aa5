import pino, { type LoggerOptions } from 'pino';
import type { Config } from './config.js';

// Personal data and secrets never reach the logs: known fields are censored by path, and any
// string that looks like an email address, a phone number or a credential is masked wherever it
// appears (messages, error texts, nested values).
// Local part: RFC 5322 atext and dots.
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const PHONE = /\+\d[\d ().-]{6,18}\d/g;
const TOKEN =
  /\b(?:(?:pk|sk)_[A-Za-z0-9_-]{8,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+|Bearer\s+[A-Za-z0-9._~+/-]+=*)/g;
const URL_PASSWORD = /(\w+:\/\/[^:/\s@]+:)[^@\s/]+@/g;

export const REDACTED = '[redacted]';

const redactPaths = [
  'email',
  'phone',
  'token',
  'password',
  'secret',
  '*.email',
  '*.phone',
  '*.token',
  '*.password',
  '*.secret',
  '*.adminSecret',
  '*.secretHash',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-winback-key"]',
  'res.headers["set-cookie"]',
];

/** Masks emails, phone numbers, keys and bearer tokens inside free text. */
export function scrub(text: string): string {
  return text
    .replace(URL_PASSWORD, `$1${REDACTED}@`)
    .replace(TOKEN, REDACTED)
    .replace(EMAIL, REDACTED)
    .replace(PHONE, REDACTED);
}

function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = scrubValue(item, depth + 1);
  return out;
}

export function loggerOptions(config: Pick<Config, 'logLevel' | 'logPretty'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: redactPaths, censor: REDACTED },
    // Query strings may carry personal data: log the path only.
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({
        id: req.id,
        method: req.method,
        path: typeof req.url === 'string' ? scrub(req.url.split('?')[0] ?? '') : undefined,
      }),
      err: (err: Error) => scrubValue(pino.stdSerializers.err(err), 0),
    },
    formatters: {
      log: (object) => scrubValue(object, 0) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? scrub(arg) : arg)) as Parameters<
            typeof method
          >,
        );
      },
    },
    ...(config.logPretty ? { transport: { target: 'pino-pretty' } } : {}),
  };
}

export function createLogger(config: Pick<Config, 'logLevel' | 'logPretty'>) {
  return pino(loggerOptions(config));
}
