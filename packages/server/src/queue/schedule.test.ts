import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobPayload } from './port.js';
import { isSameSchedule, validateJobId, validateKind, validateSchedule } from './schedule.js';

const scalar = fc.oneof(
  fc.string(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const payload = fc.dictionary(fc.string({ minLength: 1 }), scalar) as fc.Arbitrary<JobPayload>;

describe('validateKind', () => {
  it('accepts plain identifiers', () => {
    for (const kind of ['cart.idle', 'message_send', 'a', 'step-2']) {
      expect(() => validateKind(kind)).not.toThrow();
    }
  });

  it('refuses anything with a colon, a brace or a space, or not starting with a letter', () => {
    const bad = fc.oneof(
      fc
        .tuple(fc.string(), fc.constantFrom(':', '{', '}', ' ', '\n'), fc.string())
        .map((parts) => `a${parts.join('')}`),
      fc.string().map((rest) => `1${rest}`),
      fc.constant(''),
      fc.string({ minLength: 64 }).map((rest) => `a${rest.replace(/[^a-z]/gi, 'x')}`),
    );
    fc.assert(
      fc.property(bad, (kind) => {
        expect(() => validateKind(kind)).toThrow(TypeError);
      }),
    );
  });
});

describe('validateJobId', () => {
  it('accepts any well-formed string of 1 to 256 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (id) => {
        fc.pre(id.length <= 256);
        expect(() => validateJobId(id)).not.toThrow();
      }),
    );
  });

  it('refuses empty, overlong and ill-formed ids', () => {
    expect(() => validateJobId('')).toThrow(TypeError);
    expect(() => validateJobId('x'.repeat(257))).toThrow(TypeError);
    expect(() => validateJobId('cart-\uD800')).toThrow(TypeError);
    expect(() => validateJobId('\uDC00cart')).toThrow(TypeError);
  });
});

describe('validateSchedule', () => {
  it('returns a frozen copy equal to any scalar payload', () => {
    fc.assert(
      fc.property(payload, (input) => {
        const copy = validateSchedule('k', 'id', new Date(0), input);
        expect(copy).toEqual(input);
        expect(copy).not.toBe(input);
        expect(Object.isFrozen(copy)).toBe(true);
      }),
    );
  });

  it('refuses payload values a JSON round trip would change', () => {
    const bad = fc.oneof(
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, undefined),
      fc.object(),
      fc.array(scalar),
      fc.bigInt(),
    );
    fc.assert(
      fc.property(bad, (value) => {
        const input = { field: value } as unknown as JobPayload;
        expect(() => validateSchedule('k', 'id', new Date(0), input)).toThrow(TypeError);
      }),
    );
  });

  it('refuses an invalid date', () => {
    expect(() => validateSchedule('k', 'id', new Date(Number.NaN), {})).toThrow(TypeError);
    expect(() => validateSchedule('k', 'id', 0 as unknown as Date, {})).toThrow(TypeError);
  });
});

describe('isSameSchedule', () => {
  it('holds for the same time and an equal payload, whatever the key order', () => {
    fc.assert(
      fc.property(fc.integer(), payload, (runAt, input) => {
        const reversed = Object.fromEntries(Object.entries(input).reverse());
        expect(isSameSchedule({ runAt, payload: input }, { runAt, payload: reversed })).toBe(true);
      }),
    );
  });

  it('fails for another time, a changed value, or an extra or missing field', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        payload,
        fc.string({ minLength: 1 }),
        scalar,
        (runAt, input, key, value) => {
          const a = { runAt, payload: input };
          expect(isSameSchedule(a, { runAt: runAt + 1, payload: input })).toBe(false);
          const changed = { ...input, [key]: value };
          const same = Object.hasOwn(input, key) && Object.is(input[key], value);
          expect(isSameSchedule(a, { runAt, payload: changed })).toBe(same);
          const { [key]: _dropped, ...missing } = input;
          expect(isSameSchedule(a, { runAt, payload: missing })).toBe(!Object.hasOwn(input, key));
        },
      ),
    );
  });
});
