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
    await app.register(sdkFeature, { distDir });
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
    expect((await app.inject({ method: 'GET', url: '/sdk/' })).statusCode).toBe(404);
  });

  it('finds the installed sdk package and refuses a relative folder', async () => {
    expect(sdkDistDir()).toMatch(/[\\/]sdk[\\/]dist$/);
    await expect(appServing('dist')).rejects.toThrow(/option "distDir" must be an absolute path/);
  });
});
