import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import type { Found } from './discover.js';

/**
 * A suite asks for a service with `needs('postgres')`: it gets the URL, or `undefined` and a loud
 * line saying the suite is skipped. Under CI=true a missing service fails the run instead.
 *
 * @example
 *   const pgUrl = needs('postgres');
 *   describe.skipIf(!pgUrl)('stores', () => { ... });
 */
export function needs(service: 'postgres' | 'redis'): string | undefined {
  const found: Found = inject(service);
  if (found.url !== null) return found.url;
  const line = `\n!!! ${service} is not available (${found.why}): suites that need it are SKIPPED\n`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${line.trim()}`);
  process.stderr.write(line);
  return undefined;
}

/** A short random name part, so parallel suites never share a database or key prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** The same server URL pointing at another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Gives the calling suite a fresh, empty database on the Postgres server, created before its
 * tests and dropped after them. Read `.url` inside tests or hooks.
 */
export function useFreshDatabase(serverUrl: string | undefined): { readonly url: string } {
  const state = { url: '' };
  const name = uniqueName('wb_test');
  beforeAll(async () => {
    if (!serverUrl) return;
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`create database ${name}`);
    } finally {
      await admin.end();
    }
    state.url = databaseUrl(serverUrl, name);
  });
  afterAll(async () => {
    if (!serverUrl || !state.url) return;
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`drop database if exists ${name} with (force)`);
    } finally {
      await admin.end();
    }
  });
  return state;
}
