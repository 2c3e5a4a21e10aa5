/**
 * Every error a client can see, with a stable code. Throw `AppError`; the app's one error handler
 * turns it (and validation failures) into `{ error: { code, message } }` with its status.
 */
export const errorCodes = {
  WB_ERR_BAD_REQUEST: 400,
  WB_ERR_VALIDATION: 400,
  WB_ERR_UNAUTHORIZED: 401,
  /** No valid admin session: no cookie, or an unknown, expired or logged-out one. */
  WB_ERR_UNAUTHENTICATED: 401,
  /** An admin login with a store id and secret that do not match a live store. */
  WB_ERR_BAD_CREDENTIALS: 401,
  WB_ERR_FORBIDDEN: 403,
  /** An admin write (or the live feed's upgrade) that did not come from the admin's own origin. */
  WB_ERR_CROSS_ORIGIN: 403,
  WB_ERR_NOT_FOUND: 404,
  WB_ERR_CONFLICT: 409,
  WB_ERR_PAYLOAD_TOO_LARGE: 413,
  WB_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  WB_ERR_RATE_LIMITED: 429,
  WB_ERR_INTERNAL: 500,
  WB_ERR_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.statusCode = errorCodes[code];
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** A command was called wrongly or a required setting is missing: one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
