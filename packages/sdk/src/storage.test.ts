import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushStorage, persist, read } from './storage.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  flushStorage();
  localStorage.clear();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('first-party storage', () => {
  it('reads JSON, and treats anything unreadable as absent', () => {
    localStorage.setItem('a', '{"b":1}');
    localStorage.setItem('broken', '{');
    expect(read('a')).toEqual({ b: 1 });
    expect(read('broken')).toBeUndefined();
    expect(read('missing')).toBeUndefined();
  });

  it('writes later, once, with the latest value', () => {
    const setItem = vi.spyOn(localStorage, 'setItem');
    persist('count', 1);
    persist('count', 2);
    expect(setItem).not.toHaveBeenCalled();
    vi.runAllTimers();
    expect(setItem).toHaveBeenCalledTimes(1);
    expect(read('count')).toBe(2);
  });

  it('removes a key whose value is undefined, and writes at once on flushStorage', () => {
    localStorage.setItem('gone', '1');
    persist('gone', undefined);
    flushStorage();
    expect(localStorage.getItem('gone')).toBeNull();
  });

  it('warns instead of throwing when storage is full or blocked', () => {
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.spyOn(localStorage, 'setItem').mockImplementation(() => {
      throw new DOMException('full', 'QuotaExceededError');
    });
    persist('big', 'x');
    expect(() => flushStorage()).not.toThrow();
    expect(warnings).toHaveBeenCalledWith('[winback] W2', '');
  });
});
