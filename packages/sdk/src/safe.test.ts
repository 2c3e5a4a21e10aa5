import { afterEach, describe, expect, it, vi } from 'vitest';
import { guard, listen, unlisten, warn } from './safe.js';

afterEach(() => vi.restoreAllMocks());

describe('never throwing into the page', () => {
  it('warns once per problem, with the prefix', () => {
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
    warn(98, 'first detail');
    warn(98, 'other detail');
    warn(99);
    expect(warnings.mock.calls).toEqual([
      ['[winback] W98', 'first detail'],
      ['[winback] W99', ''],
    ]);
  });

  it('turns an error in a guarded callback into a warning', () => {
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const failing = guard(() => {
      throw new Error('boom');
    });
    expect(() => failing()).not.toThrow();
    expect(warnings).toHaveBeenCalledWith('[winback] W1', expect.any(Error));
  });

  it('listens, guarded, until unlisten', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const seen: string[] = [];
    listen(window, 'winback-test', (event) => {
      seen.push(event.type);
      throw new Error('listener bug');
    });
    expect(() => window.dispatchEvent(new Event('winback-test'))).not.toThrow();
    unlisten();
    window.dispatchEvent(new Event('winback-test'));
    expect(seen).toEqual(['winback-test']);
  });
});
