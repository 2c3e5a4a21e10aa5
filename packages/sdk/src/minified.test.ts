import { describe, expect, it } from 'vitest';
import { ulid } from './ids.js';
import { warn } from './safe.js';

// The sdk's unit suite runs twice: the `sdk-min` project sets WINBACK_SDK_BUILD=minified and
// resolves every sdk module to the minified build. This proves which code the run exercised.
const build = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
  .WINBACK_SDK_BUILD;

describe('the code under test', () => {
  it('is the build this project names', () => {
    const mangled = ulid.name !== 'ulid' && warn.name !== 'warn';
    expect(mangled).toBe(build === 'minified');
  });
});
