import { describe, expect, it } from 'vitest';
import { formatMoney } from './format.js';
import { show } from './show.js';

// The widget's unit suite runs twice: the `widget-min` project sets
// WINBACK_WIDGET_BUILD=minified and resolves every widget module to the minified build. This
// proves which code the run exercised.
const build = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
  .WINBACK_WIDGET_BUILD;

describe('the code under test', () => {
  it('is the build this project names', () => {
    const mangled = show.name !== 'show' && formatMoney.name !== 'formatMoney';
    expect(mangled).toBe(build === 'minified');
  });
});
