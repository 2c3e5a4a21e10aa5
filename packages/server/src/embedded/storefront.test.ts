import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fillTemplate } from './storefront.js';

describe('fillTemplate', () => {
  it('fills the named placeholders and leaves the others', () => {
    expect(
      fillTemplate('<script data-key="%WINBACK_KEY%" data-x="%OTHER%">', { WINBACK_KEY: 'pk_abc' }),
    ).toBe('<script data-key="pk_abc" data-x="%OTHER%">');
  });

  it('never lets a value break out of its attribute', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const html = fillTemplate('<p title="%V%">', { V: value });
        return !/["<>]/.test(html.slice('<p title="'.length, -'">'.length));
      }),
    );
  });
});
