import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastBatchFrame, fastTrackedEvent } from './fast-validate.js';
import { batchFrame, trackedEvent } from './protocol.js';
import { trackedEvent as validEvent } from './testing/arbitraries.js';

// The fast path must never accept what the zod schemas refuse, and must return what they
// return. Inputs are JSON values (what a frame parses to), near the valid ones: every field,
// at any depth, dropped, replaced, or joined by an unknown one, and values at their limits.

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Valid strings for a `min`..`max` length rule, the limits themselves included. */
const textAround = (min: number, max: number) =>
  fc.oneof(
    fc.string({ minLength: min, maxLength: Math.min(max, 40) }),
    fc.constantFrom('x'.repeat(min), 'x'.repeat(max)),
    fc.string({ unit: 'binary', minLength: min, maxLength: Math.min(max, 12) }),
  );

/** Valid whole numbers for a `min`..`max` rule, the limits themselves included. */
const intAround = (min: number, max: number) =>
  fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));

const url = fc.constantFrom(
  'https://shop.example/products/mug',
  'http://127.0.0.1:8080/x?y=1',
  'HTTPS://SHOP.EXAMPLE/',
  `https://shop.example/${'a'.repeat(2048 - 21)}`,
);

const money = intAround(0, Number.MAX_SAFE_INTEGER);
const currency = fc.constantFrom('EUR', 'USD', 'JPY');

/** Values just past the limits the schemas use, and other near misses. */
const nearMiss: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .constantFrom(0, 1, 7, 8, 25, 26, 27, 34, 35, 36, 63, 64, 65, 127, 128, 129, 199, 200, 201)
    .map((length) => 'x'.repeat(length)),
  fc
    .constantFrom(299, 300, 301, 2047, 2048, 2049)
    .map((length) => `https://a.example/${'a'.repeat(length - 18)}`),
  fc.constantFrom(
    -1,
    -0,
    0.5,
    1.5,
    100,
    101,
    100_000,
    100_001,
    1_000_000,
    1_000_001,
    2 ** 53,
    -(2 ** 53),
    1e21,
    Number.MAX_SAFE_INTEGER,
    Date.UTC(2020, 0, 1) - 1,
    Date.UTC(2100, 0, 1) + 1,
    '',
    'EURO',
    'eur',
    'XXX',
    'ftp://a.example/',
    'https://',
    'https://exa mple.com/',
    'phone',
    'swap',
    'away',
    '01arYZ6S41TSV4RRFFQ69G5FAV',
    'IIIIIIIIIIIIIIIIIIIIIIIIII',
    'has space in it',
    null,
    true,
    [],
    {},
  ),
);

/** Key names the schemas use somewhere, so an object may get another schema's key. */
const knownKeys = fc.constantFrom(
  'id',
  'type',
  'ts',
  'cartId',
  'page',
  'device',
  'url',
  'title',
  'referrer',
  'utm',
  'source',
  'viewport',
  'width',
  'cart',
  'lines',
  'sku',
  'imageUrl',
  'changes',
  'from',
  'signal',
  'value',
  'currency',
  'step',
  'index',
  'orderId',
  'consent',
  'extra',
  '__proto__',
  'constructor',
  'toString',
);

const envelope = fc.record(
  {
    id: fc
      .array(fc.constantFrom(...CROCKFORD), { minLength: 26, maxLength: 26 })
      .map((chars) => chars.join('')),
    ts: intAround(Date.UTC(2020, 0, 1), Date.UTC(2100, 0, 1)),
    sessionId: fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
    anonymousId: fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
    cartId: textAround(1, 128),
  },
  { requiredKeys: ['id', 'ts', 'sessionId', 'anonymousId'] },
);

const line = fc.record(
  {
    id: textAround(1, 128),
    productId: textAround(0, 128),
    variantId: textAround(0, 128),
    sku: textAround(0, 128),
    title: textAround(1, 300),
    variant: textAround(0, 300),
    quantity: intAround(1, 100_000),
    unitPrice: money,
    imageUrl: url,
    url,
  },
  { requiredKeys: ['id', 'title', 'quantity', 'unitPrice'] },
);

const bodies = {
  page_view: fc.record(
    {
      page: fc.record(
        {
          url,
          title: textAround(0, 300),
          referrer: fc.oneof(url, fc.constant('')),
          utm: fc.record(
            {
              source: textAround(0, 200),
              medium: textAround(0, 200),
              campaign: textAround(0, 200),
              term: textAround(0, 200),
              content: textAround(0, 200),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: ['url'] },
      ),
      device: fc.record(
        {
          type: fc.constantFrom('desktop', 'mobile', 'tablet'),
          os: textAround(0, 64),
          browser: textAround(0, 64),
          viewport: fc.record({ width: intAround(0, 100_000), height: intAround(0, 100_000) }),
          language: textAround(0, 35),
          timezone: textAround(0, 64),
        },
        { requiredKeys: ['viewport'] },
      ),
    },
    { requiredKeys: ['page'] },
  ),
  cart_updated: fc.record(
    {
      cart: fc.record(
        {
          currency,
          subtotal: money,
          lines: fc.array(line, { maxLength: 4 }),
          discountCodes: fc.array(textAround(0, 64), { maxLength: 10 }),
        },
        { requiredKeys: ['currency', 'subtotal', 'lines'] },
      ),
      changes: fc.array(
        fc.record(
          {
            kind: fc.constantFrom('add', 'remove', 'quantity'),
            lineId: textAround(1, 128),
            from: intAround(0, 1000),
            to: intAround(0, 1000),
          },
          { requiredKeys: ['kind', 'lineId'] },
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: ['cart'] },
  ),
  exit_intent: fc.record({
    signal: fc.constantFrom('mouse_top', 'scroll_up', 'tab_hidden', 'idle', 'back'),
  }),
  checkout_started: fc.record({ value: money, currency }, { requiredKeys: [] }),
  checkout_step: fc.record(
    { step: textAround(1, 64), index: intAround(0, 100) },
    { requiredKeys: ['step'] },
  ),
  order_completed: fc.record({ orderId: textAround(1, 128), value: money, currency }),
  identify: fc.record({
    email: fc.constantFrom('a@b.example', 'shopper@example.com'),
    consent: fc.record({ email: fc.boolean(), textVersion: textAround(1, 64) }),
  }),
} as const;

const richEvent = fc
  .constantFrom(...(Object.keys(bodies) as (keyof typeof bodies)[]))
  .chain((type) =>
    fc
      .tuple(envelope, bodies[type] as fc.Arbitrary<Record<string, unknown>>)
      .map(([base, body]) => ({ ...base, type, ...body }) as Record<string, unknown>),
  );

type Path = (string | number)[];

/** Every path to a value inside `value` (objects and arrays), the root included. */
function paths(value: unknown, at: Path = []): Path[] {
  const found = [at];
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) found.push(...paths(item, [...at, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) found.push(...paths(item, [...at, key]));
  }
  return found;
}

function valueAt(value: unknown, path: Path): unknown {
  let current = value;
  for (const step of path) current = (current as Record<string | number, unknown>)[step];
  return current;
}

const isPlainObject = (value: unknown) =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** A copy of `value` with the value at `path` replaced by `change(old)`, or dropped. */
function edited(value: unknown, path: Path, change: ((old: unknown) => unknown) | 'drop'): unknown {
  if (path.length === 0) return change === 'drop' ? undefined : change(structuredClone(value));
  const copy = structuredClone(value);
  const parent = valueAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (change !== 'drop') parent[last] = change(parent[last]);
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
  return copy;
}

/** Nudges a leaf just past where a limit may be: one longer or shorter, one more or less. */
const nudge = fc.constantFrom(
  (old: unknown) => (typeof old === 'string' ? `${old}x` : typeof old === 'number' ? old + 1 : old),
  (old: unknown) =>
    typeof old === 'string' ? old.slice(1) : typeof old === 'number' ? old - 1 : old,
  (old: unknown) => (typeof old === 'number' ? old + 0.5 : old),
  (old: unknown) => (typeof old === 'string' ? old.toLowerCase() : old),
);

const nearEvent = richEvent.chain((event) => {
  const all = paths(event);
  const leaves = all.filter((path) => {
    const leaf = valueAt(event, path);
    return typeof leaf === 'string' || typeof leaf === 'number';
  });
  const objects = all.filter((path) => isPlainObject(valueAt(event, path)));
  const arrays = all.filter((path) => Array.isArray(valueAt(event, path)));
  return fc.oneof(
    // One more item than the array had: the way past a length limit.
    ...(arrays.length === 0
      ? []
      : [
          fc
            .constantFrom(...arrays)
            .map((path) =>
              edited(event, path, (old) => [...(old as unknown[]), (old as unknown[])[0] ?? {}]),
            ),
        ]),
    fc.constantFrom(...all).map((path) => edited(event, path, 'drop')),
    fc
      .tuple(fc.constantFrom(...leaves), nudge)
      .map(([path, change]) => edited(event, path, change)),
    fc
      .tuple(fc.constantFrom(...leaves), nudge)
      .map(([path, change]) => edited(event, path, change)),
    fc
      .tuple(fc.constantFrom(...leaves), fc.oneof(nearMiss, fc.jsonValue({ maxDepth: 2 })))
      .map(([path, value]) => edited(event, path, () => value)),
    fc
      .tuple(
        fc.constantFrom(...objects),
        fc.oneof(knownKeys, fc.string({ maxLength: 8 })),
        fc.oneof(nearMiss, fc.jsonValue({ maxDepth: 1 })),
      )
      .map(([path, key, value]) =>
        edited(event, path, (old) => ({ ...(old as object), [key]: value })),
      ),
  );
});

/** What JSON.parse would give for the value: the only inputs the fast path ever sees. */
const asParsed = (value: unknown) => JSON.parse(JSON.stringify(value) ?? 'null') as unknown;

function agreesWithZod(candidate: unknown): void {
  const input = asParsed(candidate);
  const fast = fastTrackedEvent(structuredClone(input));
  if (fast === undefined) return;
  const slow = trackedEvent.safeParse(input);
  expect(slow.success).toBe(true);
  expect(fast).toStrictEqual(slow.data);
}

describe('fastTrackedEvent', () => {
  it('accepts only what trackedEvent accepts, as trackedEvent returns it', {
    timeout: 60_000,
  }, () => {
    fc.assert(
      fc.property(
        fc.oneof(richEvent, nearEvent, nearEvent, nearEvent, fc.jsonValue()),
        agreesWithZod,
      ),
      { numRuns: 40_000 },
    );
  });

  it('takes every valid event of the types it covers (so zod is not asked for them)', () => {
    const covered = new Set([
      'page_view',
      'cart_updated',
      'exit_intent',
      'checkout_started',
      'checkout_step',
      'order_completed',
    ]);
    fc.assert(
      fc.property(fc.oneof(validEvent(), richEvent), (candidate) => {
        const input = asParsed(candidate) as { type: string };
        expect(trackedEvent.safeParse(input).success).toBe(true);
        if (covered.has(input.type)) expect(fastTrackedEvent(input)).toBeDefined();
      }),
      { numRuns: 5_000 },
    );
  });

  it('leaves numbers zod refuses to zod, also where the schema sets no maximum', () => {
    const base = {
      id: '01ARYZ6S41TSV4RRFFQ69G5FAV',
      ts: Date.UTC(2026, 0, 1),
      sessionId: 'session_1',
      anonymousId: 'browser_1',
      type: 'cart_updated',
      cart: { currency: 'EUR', subtotal: 0, lines: [] },
    };
    for (const from of [2 ** 53, 1e21, -1, 0.5]) {
      agreesWithZod({ ...base, changes: [{ kind: 'add', lineId: 'l', from }] });
      expect(fastTrackedEvent({ ...base, changes: [{ kind: 'add', lineId: 'l', from }] })).toBe(
        undefined,
      );
    }
    expect(fastTrackedEvent({ ...base, changes: [{ kind: 'add', lineId: 'l', from: 3 }] })).toEqual(
      { ...base, changes: [{ kind: 'add', lineId: 'l', from: 3 }] },
    );
  });
});

describe('fastBatchFrame', () => {
  const frameLike = fc.record(
    {
      t: fc.constantFrom('batch', 'ack', 'Batch'),
      seq: fc.oneof(intAround(0, Number.MAX_SAFE_INTEGER), fc.double(), fc.string()),
      events: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 102 }),
      dropped: intAround(0, 1_000_000),
      extra: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  );

  it('accepts only what batchFrame accepts, as batchFrame returns it', () => {
    fc.assert(
      fc.property(fc.oneof(frameLike, fc.jsonValue()), (candidate) => {
        const input = asParsed(candidate);
        const fast = fastBatchFrame(structuredClone(input));
        const slow = batchFrame.safeParse(input);
        if (fast !== undefined) {
          expect(slow.success).toBe(true);
          expect(fast).toStrictEqual(slow.data);
        } else {
          // Complete as well: the frame's own shape is simple enough to judge every time.
          expect(slow.success).toBe(false);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
