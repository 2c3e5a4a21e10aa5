import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { simpleParser } from 'mailparser';
import { z } from 'zod';
import type { CapturedMailbox } from '../../../embedded/smtp-capture.js';
import { AppError } from '../../../errors.js';
import { errorResponses } from './schemas.js';

/*
 * The demo's outbox: the mails its SMTP capture received, for the admin page to show. Only a
 * server started with a capture (`winback demo`) has one; elsewhere both routes answer 404.
 * The capture is the demo's single store's, so there is nothing to scope by store.
 */

/** Mails listed at most, newest first. */
const LISTED = 200;

const mailSummary = z.object({
  id: z.string(),
  receivedAt: z.iso.datetime(),
  sizeBytes: z.number().int(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  subject: z.string().nullable(),
});

const mailView = mailSummary.extend({
  html: z.string().nullable().describe('The HTML part as sent: show it only in a sandboxed frame'),
  text: z.string().nullable(),
});

const NO_MAILBOX = 'this server has no outbox: only the demo captures mail';

export const outboxRoutes: FastifyPluginAsyncZod<{ mailbox?: CapturedMailbox }> = async (
  app,
  { mailbox },
) => {
  app.get(
    '/admin/api/outbox',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'The mails the demo’s SMTP capture received, newest first (demo only)',
        tags: ['outbox'],
        response: {
          200: z.object({ mails: z.array(mailSummary), total: z.number().int() }),
          ...errorResponses,
        },
      },
    },
    async () => {
      if (!mailbox) throw new AppError('WB_ERR_NOT_FOUND', NO_MAILBOX);
      const mails = await mailbox.list();
      return {
        mails: mails.slice(0, LISTED).map((mail) => ({
          ...mail,
          receivedAt: mail.receivedAt.toISOString(),
        })),
        total: mails.length,
      };
    },
  );

  app.get(
    '/admin/api/outbox/:id',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'One captured mail: addresses, subject, HTML and text parts (demo only)',
        tags: ['outbox'],
        params: z.object({ id: z.string().regex(/^[0-9A-Za-z-]{1,100}$/) }),
        response: { 200: mailView, ...errorResponses },
      },
    },
    async (request) => {
      if (!mailbox) throw new AppError('WB_ERR_NOT_FOUND', NO_MAILBOX);
      const summary = (await mailbox.list()).find((mail) => mail.id === request.params.id);
      const raw = summary && (await mailbox.read(summary.id));
      if (!summary || !raw) throw new AppError('WB_ERR_NOT_FOUND', 'no such mail');
      const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
      return {
        ...summary,
        receivedAt: summary.receivedAt.toISOString(),
        from: parsed.from?.text ?? summary.from,
        to:
          (Array.isArray(parsed.to)
            ? parsed.to.map((to) => to.text).join(', ')
            : parsed.to?.text) ?? summary.to,
        subject: parsed.subject ?? summary.subject,
        html: typeof parsed.html === 'string' ? parsed.html : null,
        text: parsed.text ?? null,
      };
    },
  );
};
