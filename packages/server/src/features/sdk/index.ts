import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { AppError } from '../../errors.js';

export interface SdkFeatureOptions {
  /**
   * Absolute path of the folder holding the sdk's script-tag build. Default: the `dist/` folder
   * of the installed `@winback/sdk` package.
   */
  distDir?: string;
  /**
   * Absolute path of the folder holding the widget's build (`widget.js`). Default: the `dist/`
   * folder of the installed `@winback/widget` package.
   */
  widgetDistDir?: string;
}

/** The script-tag build's file name; the sdk keeps it stable so servers can serve it as is. */
const BUNDLE = 'winback.js';
/**
 * The script-tag build's lazy part, which `winback.js` imports from its own folder when a page
 * first needs it. Its name carries a hash of its content, so a cached `winback.js` always asks
 * for the part it was built with.
 */
const LAZY_PART = /^winback-lazy-[0-9a-f]{8}\.js$/;
/** Short enough that a new release reaches stores within minutes, long enough to spare us. */
const CACHE_CONTROL = 'public, max-age=300';
const NOT_BUILT = 'the sdk is not built: run pnpm --filter @winback/sdk build';

/**
 * The folder of the installed sdk's builds. Resolved through the package's own `package.json`
 * (exported for this), so it works the same in this workspace and in an installed server.
 */
export function sdkDistDir(): string {
  const manifest = createRequire(import.meta.url).resolve('@winback/sdk/package.json');
  return join(dirname(manifest), 'dist');
}

/** The folder of the installed widget's build, found the same way. */
export function widgetDistDir(): string {
  const manifest = createRequire(import.meta.url).resolve('@winback/widget/package.json');
  return join(dirname(manifest), 'dist');
}

/** The widget (`@winback/widget`), an ES module the sdk imports when the server sends overlays. */
const WIDGET = 'widget.js';

/**
 * Serves the sdk's script-tag build at `GET /sdk/winback.js`, its lazy part next to it
 * (`/sdk/winback-lazy-<hash>.js`, an ES module, so fetched with CORS) and the build's source map
 * when it made one, so a store can load the sdk from its Winback server. Any store may load
 * them: the answers are public and allowed cross-origin.
 *
 * The file is looked up on every request rather than at start-up: in development the bundle is
 * often built after the server starts, and a missing bundle should say how to build it.
 */
export const sdkFeature: FastifyPluginAsync<SdkFeatureOptions> = async (app, options) => {
  if (options.distDir !== undefined && !isAbsolute(options.distDir)) {
    throw new Error(
      `sdk feature: option "distDir" must be an absolute path (got ${options.distDir})`,
    );
  }
  const root = options.distDir ?? sdkDistDir();

  // Only the reply decorator: the routes below decide what is served, never a folder listing.
  // Encapsulated, so the decorator stays inside this feature.
  await app.register(fastifyStatic, {
    root,
    serve: false,
    // dist/ is missing until the sdk is built; requests say so instead of a start-up warning.
    suppressWarning: true,
    cacheControl: false,
    index: false,
    dotfiles: 'deny',
  });

  // The content type comes from the file name (`application/javascript`, `application/json`).
  const publicHeaders = (reply: FastifyReply) =>
    reply
      .header('cache-control', CACHE_CONTROL)
      .header('access-control-allow-origin', '*')
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('x-content-type-options', 'nosniff');

  app.get(`/sdk/${BUNDLE}`, async (_request, reply) => {
    if (!existsSync(join(root, BUNDLE))) throw new AppError('WB_ERR_NOT_FOUND', NOT_BUILT);
    return publicHeaders(reply).sendFile(BUNDLE);
  });

  app.get<{ Params: { file: string } }>('/sdk/:file', async (request, reply) => {
    const { file } = request.params;
    if (!LAZY_PART.test(file) || !existsSync(join(root, file))) {
      throw new AppError('WB_ERR_NOT_FOUND', 'no such file in the sdk build');
    }
    // Named by its content: a browser may keep it as long as it likes.
    return publicHeaders(reply)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .sendFile(file);
  });

  // The widget's folder, served by a scope of its own (one static root per scope).
  const widgetRoot = options.widgetDistDir ?? widgetDistDir();
  await app.register(async (widget) => {
    await widget.register(fastifyStatic, {
      root: widgetRoot,
      serve: false,
      suppressWarning: true,
      cacheControl: false,
      index: false,
      dotfiles: 'deny',
    });
    widget.get(`/sdk/${WIDGET}`, async (_request, reply) => {
      if (!existsSync(join(widgetRoot, WIDGET))) {
        throw new AppError('WB_ERR_NOT_FOUND', 'the widget is not built: run pnpm build');
      }
      return publicHeaders(reply).sendFile(WIDGET);
    });
  });

  app.get(`/sdk/${BUNDLE}.map`, async (_request, reply) => {
    if (!existsSync(join(root, `${BUNDLE}.map`))) {
      throw new AppError('WB_ERR_NOT_FOUND', 'the sdk build has no source map');
    }
    return publicHeaders(reply).sendFile(`${BUNDLE}.map`);
  });
};
