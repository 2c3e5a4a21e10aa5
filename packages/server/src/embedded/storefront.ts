import { statSync } from 'node:fs';
import { extname, isAbsolute } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export interface StorefrontOptions {
  /** Absolute path of the folder holding the demo shop (`examples/storefront`). */
  root: string;
}

/** What a shop page loads; anything else in the folder (README, package.json) stays private. */
const SERVED_EXTENSIONS = new Set([
  '.html',
  '.js',
  '.css',
  '.svg',
  '.png',
  '.jpg',
  '.webp',
  '.ico',
]);

/**
 * Serves the demo storefront at `/` so `winback demo` shows a shop that talks to this server
 * from the same origin. Only the demo registers it.
 */
export const storefrontPlugin: FastifyPluginAsync<StorefrontOptions> = async (app, options) => {
  if (
    !isAbsolute(options.root) ||
    !statSync(options.root, { throwIfNoEntry: false })?.isDirectory()
  ) {
    throw new Error(
      `storefront: option "root" must be an absolute path to a folder (got ${options.root})`,
    );
  }
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/',
    index: ['index.html'],
    // Other plugins may decorate replies with sendFile; this one needs no decorator.
    decorateReply: false,
    dotfiles: 'deny',
    cacheControl: false,
    allowedPath: (pathName) => pathName.endsWith('/') || SERVED_EXTENSIONS.has(extname(pathName)),
    setHeaders: (reply) => {
      reply.header('cache-control', 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
    },
  });
};
