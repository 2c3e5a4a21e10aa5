import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bullmqJobId, latestKey, queueName, validatePrefix } from './redis-keys.js';

/** The hash tag Redis Cluster uses to pick a key's slot: the first non-empty `{...}`. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('redis keys', () => {
  it('makes BullMQ job ids that BullMQ accepts for any id: no colon, never an integer', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), fc.uuid(), (id, generation) => {
        const jobId = bullmqJobId(id, generation);
        expect(jobId).not.toContain(':');
        expect(`${Number.parseInt(jobId, 10)}`).not.toBe(jobId);
      }),
    );
  });

  it('gives different ids different job ids', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        fc.pre(a !== b);
        expect(bullmqJobId(a, 'g')).not.toBe(bullmqJobId(b, 'g'));
      }),
    );
  });

  it('puts the latest-record of a kind in the same cluster slot as its queue', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9_.-]{0,20}$/), fc.string(), (kind, id) => {
        const queueKey = `winback:${queueName(kind)}:wait`;
        expect(hashTag(latestKey('winback', kind, id))).toBe(kind);
        expect(hashTag(queueKey)).toBe(kind);
      }),
    );
  });

  it('refuses prefixes that would break the hash tag', () => {
    expect(() => validatePrefix('winback')).not.toThrow();
    expect(() => validatePrefix('app:winback_1')).not.toThrow();
    for (const prefix of ['', '{x}', 'a}', 'a b']) {
      expect(() => validatePrefix(prefix)).toThrow(TypeError);
    }
  });
});
