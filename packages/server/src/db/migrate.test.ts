import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { describeDatabaseError, MigrationError } from './migrate.js';
import { migrationProvider } from './migrations/index.js';

describe('migration provider', () => {
  it('lists every migration file in the folder, in name order, with well-formed names', async () => {
    const folder = new URL('./migrations/', import.meta.url);
    const files = (await readdir(folder))
      .filter((file) => file.endsWith('.ts') && file !== 'index.ts' && !file.endsWith('.test.ts'))
      .map((file) => file.replace(/\.ts$/, ''))
      .sort();
    const listed = Object.keys(await migrationProvider.getMigrations());
    expect(listed).toEqual(files);
    expect([...listed].sort()).toEqual(listed);
    for (const name of listed) expect(name).toMatch(/^\d{4}_\d{2}_\d{2}_\d{6}_[a-z0-9_]+$/);
  });

  it('gives every migration both directions', async () => {
    for (const [name, migration] of Object.entries(await migrationProvider.getMigrations())) {
      expect(typeof migration.up, name).toBe('function');
      expect(typeof migration.down, name).toBe('function');
    }
  });
});

describe('describeDatabaseError', () => {
  it('finds a readable reason even where the driver gives none', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    expect(describeDatabaseError(new AggregateError([refused], ''))).toBe(
      'connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(describeDatabaseError(Object.assign(new Error(''), { code: 'ETIMEDOUT' }))).toBe(
      'ETIMEDOUT',
    );
    const wrapped = new MigrationError('migrating the database up failed: ', undefined, {
      cause: new AggregateError([refused], ''),
    });
    expect(describeDatabaseError(wrapped)).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(describeDatabaseError('plain')).toBe('plain');
  });
});
