import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandling } from '../../http-errors.js';
import { sdkDistDir, sdkFeature } from './index.js';

describe('sdk feature', () => {
  let built: string;
  let empty: string;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    built = await mkdtemp(join(tmpdir(), 'winback-sdk-dist-'));
    empty = await mkdtemp(join(tmpdir(), 'winback-sdk-empty-'));
    await writeFile(join(built, 'winback.js'), '(()=>{})();\n');
    await writeFile(join(built, 'winback-lazy-0123abcd.js'), 'export const part = 1;\n');
    await writeFile(join(built, 'widget.js'), 'export function show() {}\n');
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await rm(built, { recursive: true, force: true });
    await rm(empty, { recursive: true, force: true });
  });

  async function appServing(distDir: string): Promise<FastifyInstance> {
    const app = Fastify();
    apps.push(app);
    installErrorHandling(app);
    await app.register(sdkFeature, { distDir, widgetDistDir: distDir });
    await app.ready();
    return app;
  }

  it('serves the script-tag build to any store, cacheable for five minutes', async () => {
    const app = await appServing(built);
    const response = await app.inject({ method: 'GET', url: '/sdk/winback.js' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('(()=>{})();\n');
    expect(response.headers['content-type']).toMatch(/^(application|text)\/javascript/);
    expect(response.headers['cache-control']).toBe('public, max-age=300');
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves the lazy part next to it, with the same headers but kept for good', async () => {
    const app = await appServing(built);
    const response = await app.inject({ method: 'GET', url: '/sdk/winback-lazy-0123abcd.js' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('export const part = 1;\n');
    // An ES module: a JavaScript type (browsers refuse anything else for a module) and CORS.
    expect(response.headers['content-type']).toMatch(/^(application|text)\/javascript/);
    // Its name is its content's hash: it never changes.
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves the widget as a module any store may import, and says how to build it', async () => {
    const app = await appServing(built);
    const response = await app.inject({ method: 'GET', url: '/sdk/widget.js' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('export function show() {}\n');
    expect(response.headers['content-type']).toMatch(/^(application|text)\/javascript/);
    expect(response.headers['cache-control']).toBe('public, max-age=300');
    expect(response.headers['access-control-allow-origin']).toBe('*');
    const missing = await appServing(empty);
    const absent = await missing.inject({ method: 'GET', url: '/sdk/widget.js' });
    expect(absent.statusCode).toBe(404);
    expect(absent.json().error.message).toMatch(/pnpm build/);
  });

  it('answers 404 for a lazy part of another build', async () => {
    const app = await appServing(built);
    const response = await app.inject({ method: 'GET', url: '/sdk/winback-lazy-ffffffff.js' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: { code: 'WB_ERR_NOT_FOUND' } });
  });

  it('says how to build the sdk when the bundle is missing', async () => {
    const app = await appServing(empty);
    const response = await app.inject({ method: 'GET', url: '/sdk/winback.js' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: {
        code: 'WB_ERR_NOT_FOUND',
        message: 'the sdk is not built: run pnpm --filter @winback/sdk build',
      },
    });
  });

  it('answers 404 for a source map the build did not make, and serves nothing else', async () => {
    const app = await appServing(built);
    expect((await app.inject({ method: 'GET', url: '/sdk/winback.js.map' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/sdk/index.mjs' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/sdk/index.d.ts' })).statusCode).toBe(404);
    expect(
      (await app.inject({ method: 'GET', url: '/sdk/test%2Finternals.min.mjs' })).statusCode,
    ).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/sdk/..%2Fpackage.json' })).statusCode).toBe(
      404,
    );
    expect((await app.inject({ method: 'GET', url: '/sdk/' })).statusCode).toBe(404);
  });

  it('finds the installed sdk package and refuses a relative folder', async () => {
    expect(sdkDistDir()).toMatch(/[\\/]sdk[\\/]dist$/);
    await expect(appServing('dist')).rejects.toThrow(/option "distDir" must be an absolute path/);
  });
});
