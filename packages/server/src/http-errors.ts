import type { FastifyError, FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { AppError, type ErrorCode, errorBody } from './errors.js';

const codeForStatus: Record<number, ErrorCode> = {
  400: 'WB_ERR_BAD_REQUEST',
  401: 'WB_ERR_UNAUTHORIZED',
  403: 'WB_ERR_FORBIDDEN',
  404: 'WB_ERR_NOT_FOUND',
  409: 'WB_ERR_CONFLICT',
  413: 'WB_ERR_PAYLOAD_TOO_LARGE',
  415: 'WB_ERR_UNSUPPORTED_MEDIA_TYPE',
  429: 'WB_ERR_RATE_LIMITED',
  503: 'WB_ERR_UNAVAILABLE',
};

/**
 * The app's one error handler: every failure leaves as `{ error: { code, message } }`. Bad input
 * is a 4xx that says what was wrong; anything unexpected is a bare 500 whose details stay in the
 * log, never in the response.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError | ZodError, request, reply) => {
    if (error instanceof AppError) {
      return reply.code(error.statusCode).send(errorBody(error.code, error.message));
    }
    if (error instanceof ZodError) {
      const issue = error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return reply
        .code(400)
        .send(errorBody('WB_ERR_VALIDATION', `${where}${issue?.message ?? 'invalid input'}`));
    }
    if (error.validation) {
      return reply.code(400).send(errorBody('WB_ERR_VALIDATION', error.message));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply
        .code(status)
        .send(errorBody(codeForStatus[status] ?? 'WB_ERR_BAD_REQUEST', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    if (status === 503) {
      return reply
        .code(503)
        .send(errorBody('WB_ERR_UNAVAILABLE', 'service unavailable, try again'));
    }
    return reply.code(500).send(errorBody('WB_ERR_INTERNAL', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    reply.code(404).send(errorBody('WB_ERR_NOT_FOUND', `no route for ${request.method} ${path}`));
  });
}
