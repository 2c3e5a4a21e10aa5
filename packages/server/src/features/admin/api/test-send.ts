import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../../errors.js';
import type { RateLimiter } from '../../ingest/index.js';
import type { RateRule } from '../../ingest/rate-limit.js';
import { ChannelError, createEmailChannel } from '../../messaging/email/channel.js';
import type { EmailTemplateSource } from '../../messaging/email/render.js';
import { readStoreSettings, senderFrom } from '../../stores/settings.js';
import { adminOf } from '../auth.js';
import { audit } from './audit.js';
import { previewEmail, stepTemplate } from './preview.js';
import { errorBody, errorResponses } from './schemas.js';
import { checkedTemplate, templateBodyLimit, templateFields } from './templates.js';

/*
 * A template's test send: rendered as the preview is (for `cartId`, else the store's most recent
 * cart, else a sample), subject prefixed "[Test]", and sent over the server's SMTP to the
 * merchant's own address (the `sender.replyTo` setting) and to nowhere else: the request names
 * no recipient, so a stolen session cannot turn it into a way to mail strangers. A few a minute
 * per store; each attempt is in the audit log.
 */

export interface TestSendOptions {
  /** The server's SMTP (SMTP_URL); without it every test send is refused with a 409. */
  smtpUrl?: string;
  /** MAIL_FROM: its address is the sender's; the store's sender name replaces its name. */
  mailFrom: string;
  /** Where attempts are counted (the admin's own limiter). */
  limiter: RateLimiter;
  /** Test sends a store may make per window. Default 5 a minute. */
  rule?: RateRule;
}

export const defaultTestSendRule: RateRule = { limit: 5, windowMs: 60_000 };

const sent = z.object({
  /** The merchant's address the mail went to. */
  sentTo: z.string(),
  subject: z.string(),
  cart: z.object({ id: z.uuid().nullable(), externalId: z.string().nullable() }),
});

const responses = {
  200: sent,
  ...errorResponses,
  409: errorBody,
  429: errorBody,
  503: errorBody,
} as const;

const description =
  'Goes to the store’s own address (settings.sender.replyTo) and nowhere else, from MAIL_FROM’s ' +
  'address under the store’s sender name, with the subject prefixed “[Test]”. Rendered for ' +
  '`cartId` when given, else the store’s most recent cart with lines, else a sample; links point ' +
  'nowhere. 409 when no mail server is configured or the store has no address; 429 past 5 a ' +
  'minute per store.';

export const testSendRoutes: FastifyPluginAsyncZod<TestSendOptions> = async (app, options) => {
  const { db } = app;
  if (typeof options.mailFrom !== 'string' || options.mailFrom === '') {
    throw new Error('admin test sends: option "mailFrom" must be a sender address');
  }
  const rule = options.rule ?? defaultTestSendRule;
  const channel = options.smtpUrl
    ? createEmailChannel({ smtpUrl: options.smtpUrl, timeoutMs: 10_000 })
    : null;
  if (channel) app.addHook('onClose', async () => channel.close());

  async function testSend(
    request: FastifyRequest,
    reply: FastifyReply,
    template: EmailTemplateSource,
    templateId: string | null,
    cartId: string | undefined,
  ): Promise<z.infer<typeof sent>> {
    const admin = adminOf(request);
    const store = await db
      .selectFrom('stores')
      .select('settings')
      .where('id', '=', admin.storeId)
      .executeTakeFirstOrThrow();
    const { sender } = readStoreSettings(store.settings);
    if (!channel) {
      throw new AppError(
        'WB_ERR_CONFLICT',
        'no mail server is configured on this server (SMTP_URL)',
      );
    }
    if (!sender.replyTo) {
      throw new AppError(
        'WB_ERR_CONFLICT',
        'set your own address (settings.sender.replyTo) first: test mails go only there',
      );
    }
    const email = await previewEmail(db, admin.storeId, { source: template }, cartId);
    const decision = await options.limiter.take(`test-send:${admin.storeId}`, 1, rule);
    if (!decision.allowed) {
      reply.header('retry-after', String(Math.ceil(decision.retryAfterMs / 1000)));
      throw new AppError('WB_ERR_RATE_LIMITED', 'too many test sends, try again in a minute');
    }
    const subject = `[Test] ${email.subject}`;
    const record = (detail: object) =>
      audit(db, {
        storeId: admin.storeId,
        sessionId: admin.sessionId,
        action: 'template.test_send',
        ...(templateId ? { subject: templateId } : {}),
        detail,
      });
    try {
      await channel.send({
        to: sender.replyTo,
        from: senderFrom(sender, options.mailFrom),
        subject,
        html: email.html,
        text: email.text,
        unsubscribeUrl: 'https://preview.invalid/u',
        messageId: randomUUID(),
      });
    } catch (error) {
      const code = error instanceof ChannelError ? error.code : 'unknown';
      await record({ outcome: 'failed', error: code });
      request.log.warn({ error: code }, 'test mail not sent');
      if (error instanceof ChannelError && error.permanent) {
        throw new AppError(
          'WB_ERR_BAD_REQUEST',
          `the mail server refused the test mail (${code}): check your address in the settings`,
        );
      }
      throw new AppError('WB_ERR_UNAVAILABLE', `the test mail could not be sent (${code})`);
    }
    await record({ outcome: 'sent' });
    return { sentTo: sender.replyTo, subject, cart: email.cart };
  }

  app.post(
    '/admin/api/templates/:id/test-send',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'Send a saved template, or a built-in one by key, to the store’s own address',
        description,
        tags: ['templates'],
        params: z.object({
          id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a template id or built-in key'),
        }),
        body: z.strictObject({ cartId: z.uuid().optional() }),
        response: responses,
      },
    },
    async (request, reply) => {
      const template = await stepTemplate(db, adminOf(request).storeId, request.params.id);
      return testSend(request, reply, template, request.params.id, request.body.cartId);
    },
  );

  app.post(
    '/admin/api/templates/test-send',
    {
      onRequest: app.requireAdmin,
      bodyLimit: templateBodyLimit,
      schema: {
        summary: 'Send unsaved template text (checked first) to the store’s own address',
        description,
        tags: ['templates'],
        body: z.strictObject({ ...templateFields, cartId: z.uuid().optional() }),
        response: responses,
      },
    },
    async (request, reply) => {
      const { cartId, ...template } = request.body;
      checkedTemplate(template);
      return testSend(request, reply, template, null, cartId);
    },
  );
};
