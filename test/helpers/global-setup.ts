import type { TestProject } from 'vitest/node';
import { type Found, findPostgres, findRedis } from './discover.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: Found;
    redis: Found;
  }
}

/**
 * Finds (or starts) the services the integration suites need, once for the whole run, and hands
 * their URLs to the suites through `inject()`. Whatever it started, it stops at the end.
 */
export default async function setup(project: TestProject) {
  const [postgres, redis] = await Promise.all([findPostgres(), findRedis()]);
  project.provide('postgres', postgres.found);
  project.provide('redis', redis.found);
  return async () => {
    await Promise.all([postgres.stop(), redis.stop()]);
  };
}
