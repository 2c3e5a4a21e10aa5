import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

// A bad setting stops start-up with one line naming the variable: no stack trace, no start.
describe.concurrent('winback with bad configuration', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '99999' }, 'PORT'],
    [{ DATABASE_URL: 'postgres//nohost' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'http://127.0.0.1:5432/db' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
  ])('%o exits non-zero naming %s', async (env, variable) => {
    const result = await runCli(['serve'], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^winback: invalid configuration: ${variable} `));
  });

  it('refuses to serve without a database, saying which variable', async () => {
    const result = await runCli(['serve'], {});
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^winback: DATABASE_URL is required/);
  });

  it('names an unknown command and prints the usage', async () => {
    const result = await runCli(['sevre'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "sevre"');
    expect(result.stderr).toContain('usage: winback');
  });

  it('prints its usage on --help', async () => {
    const result = await runCli(['--help'], { PORT: 'abc' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: winback <command>/);
  });
});
