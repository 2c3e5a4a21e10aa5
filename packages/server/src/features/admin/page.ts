import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { CapturedMailbox } from '../../embedded/smtp-capture.js';

export interface AdminPageOptions {
  /** The demo's SMTP capture, so the page can show what would have been sent. */
  mailbox?: CapturedMailbox;
}

/** Mails listed on the page; the rest are counted. */
const LISTED_MAILS = 20;

const stylesheet = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 0 auto; max-width: 44rem; padding: 3rem 1.5rem; line-height: 1.5; }
  h1 { font-size: 1.6rem; margin: 0 0 0.5rem; }
  .muted { opacity: 0.7; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; font-size: 0.95rem; }
  th, td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid #8884; }
`;

// The only style is the inline one above, allowed by its hash; no script runs at all.
const contentSecurityPolicy = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(stylesheet).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!,
  );
}

async function mailSection(mailbox: CapturedMailbox | undefined): Promise<string> {
  if (!mailbox) return '';
  const mails = await mailbox.list();
  if (mails.length === 0) {
    return '<h2>Captured mail</h2><p class="muted">No mail captured yet.</p>';
  }
  // Subjects and times only: this placeholder has no sign-in yet, so no shopper addresses.
  const rows = mails
    .slice(0, LISTED_MAILS)
    .map(
      (mail) =>
        `<tr><td>${escapeHtml(mail.receivedAt.toISOString().replace('T', ' ').slice(0, 19))}</td>` +
        `<td>${escapeHtml(mail.subject ?? '(no subject)')}</td></tr>`,
    )
    .join('');
  return (
    `<h2>Captured mail</h2><p><span id="mail-count">${mails.length}</span> ` +
    `${mails.length === 1 ? 'mail' : 'mails'} captured.</p>` +
    `<table><thead><tr><th>Received (UTC)</th><th>Subject</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

/**
 * `GET /admin`: the admin page. For now a placeholder that says what is coming and, in the demo,
 * how many recovery mails the SMTP capture holds.
 */
export const adminPage: FastifyPluginAsync<AdminPageOptions> = async (app, options) => {
  app.get('/admin', async (_request, reply) => {
    const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Winback admin</title>
<style>${stylesheet}</style>
</head>
<body>
<h1>Winback admin</h1>
<p>The admin lands soon: live carts, campaigns, templates, results and compliance settings.</p>
${await mailSection(options.mailbox)}
</body>
</html>
`;
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', contentSecurityPolicy)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(page);
  });
};
