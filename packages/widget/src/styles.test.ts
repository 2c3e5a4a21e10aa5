import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readableOn, themeCss } from './styles.js';

const luminance = (hex: string) => {
  const [r = 0, g = 0, b = 0] = [1, 3, 5].map((at) => {
    const channel = Number.parseInt(hex.slice(at, at + 2), 16) / 255;
    return channel <= 0.04045 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const contrast = (a: number, b: number) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);

describe('the theme stylesheet', () => {
  it('sets the store theme as variables on the host, with defaults', () => {
    expect(
      themeCss({
        primary: '#0b5fff',
        background: '#fafafa',
        text: '#222',
        fontFamily: 'Inter, sans-serif',
        radius: 0,
      }),
    ).toBe(
      ':host{--wb-primary:#0b5fff!important;--wb-on-primary:#fff!important;--wb-bg:#fafafa!important;--wb-text:#222!important;--wb-font:Inter, sans-serif!important;--wb-radius:0px!important}',
    );
    expect(themeCss({})).toContain('--wb-primary:#1d4ed8!important');
    expect(themeCss({})).toContain('--wb-radius:8px!important');
  });

  it('puts black or white on the primary colour, whichever contrasts more', () => {
    expect(readableOn('#000000')).toBe('#fff');
    expect(readableOn('#fff')).toBe('#000');
    expect(readableOn('#ffd400')).toBe('#000');
    expect(readableOn('#1d4ed8')).toBe('#fff');
    expect(readableOn('#777')).toBe(readableOn('#777777'));
    // Around the crossing point (L ≈ 0.1791), where a rounded threshold would pick wrong.
    expect(readableOn('#767676')).toBe('#000');
    expect(readableOn('#757575')).toBe('#fff');
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{6}$/), (digits) => {
        const hex = `#${digits}`;
        const l = luminance(hex);
        const chosen = contrast(l, readableOn(hex) === '#fff' ? 1 : 0);
        const other = contrast(l, readableOn(hex) === '#fff' ? 0 : 1);
        return chosen >= other - 1e-9;
      }),
      { numRuns: 2000 },
    );
  });
});
