import fc from 'fast-check';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from './errors.js';
import { installErrorHandling } from './http-errors.js';

const app = Fastify({ logger: false });
installErrorHandling(app);
app.get('/app-error', async () => {
  throw new AppError('WB_ERR_CONFLICT', 'store already exists');
});
app.post('/zod', async (request) => z.object({ name: z.string() }).parse(request.body));
app.get('/boom', async () => {
  throw new Error('connection string postgres://u:secret@db leaked');
});
app.post('/echo', async (request) => ({ got: request.body }));

beforeAll(() => app.ready());
afterAll(() => app.close());

describe('error handling', () => {
  it('sends an AppError with its status and stable code', async () => {
    const response = await app.inject('/app-error');
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      error: { code: 'WB_ERR_CONFLICT', message: 'store already exists' },
    });
  });

  it('turns a zod failure into a 400 naming the field', async () => {
    const response = await app.inject({ method: 'POST', url: '/zod', payload: { name: 1 } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('WB_ERR_VALIDATION');
    expect(response.json().error.message).toMatch(/^name: /);
  });

  it('hides the details of an unexpected failure', async () => {
    const response = await app.inject('/boom');
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      error: { code: 'WB_ERR_INTERNAL', message: 'internal error' },
    });
  });

  it('answers unknown routes with a 404 that does not echo the query', async () => {
    const response = await app.inject('/nope?email=a@b.co');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: { code: 'WB_ERR_NOT_FOUND', message: 'no route for GET /nope' },
    });
  });

  it('answers any malformed body with a 4xx in the error shape, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string(),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'image/png',
        ),
        async (body, contentType) => {
          const response = await app.inject({
            method: 'POST',
            url: '/echo',
            headers: { 'content-type': contentType },
            payload: body,
          });
          if (response.statusCode < 400) return true;
          const { error } = response.json();
          return (
            response.statusCode < 500 && /^WB_ERR_/.test(error.code) && error.message.length > 0
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
