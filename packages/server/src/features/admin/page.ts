import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { AppError } from '../../errors.js';

export interface AdminPageOptions {
  /** The URL the admin is reached at (PUBLIC_URL): the live feed's URL in the CSP comes from it. */
  publicUrl: string;
  /**
   * Absolute path of the folder holding the page's build (`index.html`, `admin.js`,
   * `admin.css`). Default: the `dist/` folder of the installed `@winback/admin` package.
   */
  distDir?: string;
}

/** The folder of the installed admin page's build, found through its package.json. */
export function adminDistDir(): string {
  const manifest = createRequire(import.meta.url).resolve('@winback/admin/package.json');
  return join(dirname(manifest), 'dist');
}

/** The only files the page is made of; nothing else under the folder is ever served. */
const ASSETS: Record<string, string> = {
  'admin.js': 'text/javascript; charset=utf-8',
  'admin.css': 'text/css; charset=utf-8',
};

const NOT_BUILT = 'the admin page is not built: run pnpm --filter @winback/admin build';

/**
 * The page's policy: its own script and stylesheet only, API calls to its own origin and the
 * live feed, nothing framed from elsewhere, never framed itself.
 *
 * Email previews are `srcdoc` frames, sandboxed without scripts; a srcdoc document inherits this
 * policy, and emails are laid out with `style` attributes and show product images from the
 * store. So `style-src-attr 'unsafe-inline'` (attributes only: a `<style>` element or a
 * stylesheet from elsewhere stays refused, and the app itself sets no style attribute in
 * markup) and `img-src https:`; the page removes tracking pixels before a preview is shown.
 */
export function adminContentSecurityPolicy(publicUrl: string): string {
  const url = new URL(publicUrl);
  const live = `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}/admin/live`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: https:",
    `connect-src 'self' ${live}`,
    // srcdoc frames are not fetched, so no source is needed for them; nothing else is framed.
    "frame-src 'none'",
    "child-src 'none'",
    "worker-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function securityHeaders(reply: FastifyReply, policy: string): FastifyReply {
  return reply
    .header('content-security-policy', policy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin');
}

/**
 * `GET /admin`: the admin page, a static Preact app built by `@winback/admin`, and its two files
 * under `/admin/assets/`. Every view is a hash route of this one document. The files are read
 * per request (the build may come after the server starts; it is small and served rarely), and
 * revalidated by the browser each time (`no-cache`), so a new build shows at the next load.
 */
export const adminPage: FastifyPluginAsync<AdminPageOptions> = async (app, options) => {
  if (options.distDir !== undefined && !isAbsolute(options.distDir)) {
    throw new Error(
      `admin page: option "distDir" must be an absolute path (got ${options.distDir})`,
    );
  }
  const root = options.distDir ?? adminDistDir();
  const policy = adminContentSecurityPolicy(options.publicUrl);

  const send = async (reply: FastifyReply, file: string, type: string, cacheControl: string) => {
    const path = join(root, file);
    if (!existsSync(path)) throw new AppError('WB_ERR_NOT_FOUND', NOT_BUILT);
    return securityHeaders(reply, policy)
      .header('content-type', type)
      .header('cache-control', cacheControl)
      .send(await readFile(path));
  };

  app.get('/admin', async (_request, reply) =>
    send(reply, 'index.html', 'text/html; charset=utf-8', 'no-store'),
  );
  app.get<{ Params: { file: string } }>('/admin/assets/:file', async (request, reply) => {
    const type = ASSETS[request.params.file];
    if (!type) throw new AppError('WB_ERR_NOT_FOUND', 'no such file');
    return send(reply, request.params.file, type, 'no-cache');
  });
};
