import { z } from 'zod';
import { errorCodes } from '../../../errors.js';

/** `{ error: { code, message } }`: what every refusal of the admin API looks like. */
export const errorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(errorCodes) as [keyof typeof errorCodes]),
      message: z.string(),
    }),
  })
  .describe('A refusal: a stable code and a message for people');

/** The refusals any admin API route may answer with, for the OpenAPI document. */
export const errorResponses = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
} as const;
