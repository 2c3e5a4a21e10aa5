import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { CapturedMailbox } from '../../../embedded/smtp-capture.js';
import type { LiveBus } from '../../../plugins/live.js';
import { analyticsRoutes } from './analytics.js';
import { campaignRoutes } from './campaigns.js';
import { cartRoutes } from './carts.js';
import { outboxRoutes } from './outbox.js';
import { storeRoutes } from './store.js';
import { templateRoutes } from './templates.js';
import { type TestSendOptions, testSendRoutes } from './test-send.js';

/**
 * The admin API under `/admin/api/`, behind `requireAdmin`, with its OpenAPI document built from
 * the routes' zod schemas: `GET /docs` (a browsable page) and `GET /docs/json`. Request bodies,
 * queries and params are validated by the same schemas (400 `WB_ERR_VALIDATION`), and answers are
 * checked against theirs before they leave.
 */
export const adminApi: FastifyPluginAsync<{
  live: LiveBus;
  publicUrl: string;
  mailbox?: CapturedMailbox;
  testSend: TestSendOptions;
}> = async (app, options) => {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Winback admin API',
        description:
          'Everything the admin page does. Sign in with POST /admin/api/session; the session cookie ' +
          'then authorises every call. Writes must come from the admin’s own origin.',
        version: '1',
      },
      servers: [{ url: new URL(options.publicUrl).origin }],
      components: {
        securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'wb_admin' } },
      },
      security: [{ session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(storeRoutes, { live: options.live });
  await app.register(cartRoutes);
  await app.register(campaignRoutes);
  await app.register(templateRoutes);
  await app.register(testSendRoutes, options.testSend);
  await app.register(outboxRoutes, options.mailbox ? { mailbox: options.mailbox } : {});
  await app.register(analyticsRoutes);
};
