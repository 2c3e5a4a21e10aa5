import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

export interface StorefrontOptions {
  /** Absolute path of the folder holding the demo shop (`examples/storefront`). */
  root: string;
  /**
   * Values filled into the shop's HTML pages where `%NAME%` stands, e.g. the demo store's
   * public key for the sdk's script tag, which a static file cannot know.
   */
  variables?: Readonly<Record<string, string>>;
}

const htmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Replaces each `%NAME%` whose NAME is given, HTML-escaped; leaves anything else alone. */
export function fillTemplate(html: string, variables: Readonly<Record<string, string>>): string {
  return html.replace(/%([A-Z][A-Z0-9_]*)%/g, (match, name: string) => {
    const value = variables[name];
    return value === undefined ? match : value.replace(/[&<>"']/g, (c) => htmlEscapes[c] ?? c);
  });
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
  const variables = options.variables ?? {};
  const sendPage = (file: string) => async (_request: unknown, reply: FastifyReply) => {
    const html = await readFile(join(options.root, file), 'utf8');
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(fillTemplate(html, variables));
  };
  // HTML pages are templates; everything else is a plain file.
  for (const file of readdirSync(options.root).filter((name) => name.endsWith('.html'))) {
    app.get(`/${file}`, sendPage(file));
    if (file === 'index.html') {
      app.get('/', sendPage(file));
      // Where recovery links lead (a store's default cart page): the shop keeps its cart.
      app.get('/cart', sendPage(file));
    }
  }
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/',
    index: false,
    wildcard: true,
    // Other plugins may decorate replies with sendFile; this one needs no decorator.
    decorateReply: false,
    dotfiles: 'deny',
    cacheControl: false,
    allowedPath: (pathName) =>
      SERVED_EXTENSIONS.has(extname(pathName)) && extname(pathName) !== '.html',
    setHeaders: (reply) => {
      reply.header('cache-control', 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
    },
  });
};
