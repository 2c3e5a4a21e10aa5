import { type buildApp, createStore, type Store } from '@winback/server';
import type { Db } from '@winback/server/db';
import {
  batchFrame,
  limits,
  type TrackedEvent,
  trackedEvent as trackedEventSchema,
} from '@winback/shared';
import { trackedEvent } from '@winback/shared/testing';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedRow, rowCounts, storedEvents, useIngestApp } from './helpers/ingest.js';
import { needs, useFreshDatabase } from './helpers/services.js';
import { type Conversation, converse } from './helpers/websocket.js';

const pgUrl = needs('postgres');
const database = useFreshDatabase(pgUrl);
const SHOP = 'https://shop.example';

type Transport = 'ws' | 'http-text' | 'http-json';
const transports: readonly Transport[] = ['ws', 'http-text', 'http-json'];

// --- What the server may accept, decided here from the protocol's schemas alone ---

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

// JSON.stringify escapes NUL as \u0000 and a lone surrogate as \udXXX; an escape counts only
// when its backslash is not itself escaped.
const unstorableEscape = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** Whether one event of a well-formed frame must be stored. */
function acceptable(candidate: unknown): boolean {
  const json = JSON.stringify(candidate);
  return (
    bytes(json) <= limits.eventBytes &&
    trackedEventSchema.safeParse(candidate).success &&
    !unstorableEscape.test(json)
  );
}

type Expected =
  | { kind: 'too_large' }
  | { kind: 'invalid' }
  | { kind: 'ack'; seq: number; rejected: number[]; stored: unknown[] };

function expectedFor(sent: string): Expected {
  // Both transports carry UTF-8, which has no lone surrogates: what arrives is the text with
  // each of them replaced by U+FFFD.
  const text = Buffer.from(sent, 'utf8').toString('utf8');
  if (bytes(text) > limits.frameBytes) return { kind: 'too_large' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'invalid' };
  }
  const frame = batchFrame.safeParse(json);
  if (!frame.success) return { kind: 'invalid' };
  const rejected: number[] = [];
  const stored: unknown[] = [];
  frame.data.events.forEach((event, index) => {
    if (acceptable(event)) stored.push(event);
    else rejected.push(index);
  });
  return { kind: 'ack', seq: frame.data.seq, rejected, stored };
}

// --- Generators ---

const withKey = (event: TrackedEvent, key: string, value: unknown) => ({ ...event, [key]: value });

/** Events near the valid ones: a field dropped, changed, added, or text the database refuses. */
const nearEvent: fc.Arbitrary<unknown> = trackedEvent().chain((event) => {
  const keys = Object.keys(event);
  return fc.oneof(
    fc.constantFrom(...keys).map((key) => {
      const copy: Record<string, unknown> = { ...event };
      delete copy[key];
      return copy;
    }),
    fc
      .tuple(fc.constantFrom(...keys), fc.jsonValue())
      .map(([key, value]) => withKey(event, key, value)),
    fc
      .tuple(fc.string({ maxLength: 12 }), fc.jsonValue())
      .map(([key, value]) => withKey(event, key, value)),
    fc.constant(withKey(event, '__proto__', { polluted: true })),
    fc.constant(withKey(event, 'constructor', { prototype: { polluted: true } })),
    fc
      .tuple(
        fc.constantFrom('cartId', 'sessionId'),
        fc.string({ maxLength: 6 }),
        fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\ude00'),
      )
      .map(([key, text, odd]) => withKey(event, key, `${text}${odd}x`)),
    // Over the 16 KiB event limit, though every field is within its own limit.
    fc.constant({
      ...event,
      type: 'cart_updated',
      cart: {
        currency: 'EUR',
        subtotal: 100,
        lines: Array.from({ length: 60 }, (_, i) => ({
          id: `line-${i}`,
          title: 't'.repeat(290),
          quantity: 1,
          unitPrice: 1,
        })),
      },
    }),
  );
});

const anyEvent = fc.oneof(
  { arbitrary: trackedEvent(), weight: 4 },
  { arbitrary: nearEvent, weight: 4 },
  { arbitrary: fc.jsonValue(), weight: 1 },
);

const frameLike = fc
  .record(
    {
      t: fc.oneof(fc.constant('batch'), fc.constantFrom('ack', 'nack', 'Batch', '')),
      seq: fc.oneof(
        fc.nat(),
        fc.integer(),
        fc.double(),
        fc.string({ maxLength: 4 }),
        fc.constant(Number.MAX_SAFE_INTEGER + 2),
      ),
      events: fc.array(anyEvent, { maxLength: 12 }),
      dropped: fc.oneof(fc.nat(), fc.integer()),
      extra: fc.jsonValue(),
    },
    { requiredKeys: [] },
  )
  .map((frame) => JSON.stringify(frame));

const wellFormedFrame = fc
  .tuple(fc.nat(), fc.array(anyEvent, { minLength: 1, maxLength: 12 }))
  .map(([seq, events]) => JSON.stringify({ t: 'batch', seq, events }));

/** Any text a client could send: noise, JSON, near-frames, cut frames, prototype keys. */
const frameText: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.json(),
  frameLike,
  { arbitrary: wellFormedFrame, weight: 4 },
  wellFormedFrame.chain((text) => fc.nat(text.length).map((cut) => text.slice(0, cut))),
  wellFormedFrame.map((text) => text.replace('{', '{"__proto__":{"polluted":true},')),
);

describe.skipIf(!pgUrl)('ingest properties', () => {
  const ingest = useIngestApp(database, Boolean(pgUrl));
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(() => {
    ({ db, app } = ingest);
  });

  async function openSocket(store: Store): Promise<Conversation> {
    let conversation: Conversation | undefined;
    await app.injectWS(
      `/v1/stream?key=${store.public_key}`,
      { headers: { origin: SHOP } },
      { onInit: (socket) => (conversation = converse(socket)) },
    );
    return conversation!;
  }

  /** Sends one frame and returns the answer in one shape for both transports. */
  async function send(
    store: Store,
    transport: Transport,
    text: string,
    socket?: Conversation,
  ): Promise<{ status: number; body: unknown } | { closed: number }> {
    if (transport === 'ws') {
      socket!.send(text);
      const answer = await Promise.race([socket!.next(), socket!.closed]);
      if (answer && typeof answer === 'object' && 'code' in answer) {
        return { closed: (answer as { code: number }).code };
      }
      return { status: 0, body: answer };
    }
    const response = await app.inject({
      method: 'POST',
      url: `/v1/collect?key=${store.public_key}`,
      headers: {
        'content-type': transport === 'http-text' ? 'text/plain;charset=UTF-8' : 'application/json',
        origin: SHOP,
      },
      body: text,
    });
    return { status: response.statusCode, body: response.json() };
  }

  it('answers any frame with an ack, a 4xx or a nack, and stores only valid events', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(frameText, fc.constantFrom(...transports)), {
          minLength: 1,
          maxLength: 4,
        }),
        async (sends) => {
          const { store } = await createStore(db, { name: 'Prop', allowedOrigins: [SHOP] });
          let socket: Conversation | undefined;
          const mustStore: unknown[] = [];
          for (const [text, transport] of sends) {
            if (transport === 'ws' && !socket) socket = await openSocket(store);
            const expected = expectedFor(text);
            const answer = await send(store, transport, text, socket);

            if ('closed' in answer) {
              // Only an oversized message may end the socket, with 1009 (message too big).
              expect(expected.kind).toBe('too_large');
              expect(answer.closed).toBe(1009);
              socket = undefined;
              continue;
            }
            if (transport === 'ws') {
              expect(expected.kind).not.toBe('too_large');
            } else {
              expect(answer.status).toBe(
                expected.kind === 'ack' ? 200 : expected.kind === 'too_large' ? 413 : 400,
              );
            }
            if (expected.kind === 'ack') {
              const ack = answer.body as { t: string; seq: number; rejected?: { index: number }[] };
              expect(ack.t).toBe('ack');
              expect(ack.seq).toBe(expected.seq);
              expect((ack.rejected ?? []).map((item) => item.index)).toEqual(expected.rejected);
              mustStore.push(...expected.stored);
            } else if (transport === 'ws') {
              expect(answer.body).toMatchObject({
                t: 'nack',
                reason: expected.kind,
                retryAfterMs: 0,
              });
            } else {
              expect((answer.body as { error: { code: string } }).error.code).toBe(
                expected.kind === 'too_large' ? 'WB_ERR_PAYLOAD_TOO_LARGE' : 'WB_ERR_VALIDATION',
              );
            }
          }
          socket?.socket.close();

          // Exactly the valid events of accepted frames are stored, each as one of the events
          // sent under its id.
          const stored = await storedEvents(db, store.id);
          const candidates = new Map<string, TrackedEvent[]>();
          for (const event of mustStore as TrackedEvent[]) {
            candidates.set(event.id, [...(candidates.get(event.id) ?? []), event]);
          }
          expect([...stored.keys()].sort()).toEqual([...candidates.keys()].sort());
          for (const [id, row] of stored) {
            const matches = (candidates.get(id) ?? []).some((event) => {
              const want = expectedRow(trackedEventSchema.parse(event));
              return (
                row.type === want.type &&
                row.ts.getTime() === want.ts.getTime() &&
                row.session_id === want.session_id &&
                row.anonymous_id === want.anonymous_id &&
                row.cart_id === want.cart_id &&
                JSON.stringify(sortKeys(row.payload)) === JSON.stringify(sortKeys(want.payload))
              );
            });
            expect(matches, id).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('stores valid events exactly once however they are split, repeated, reordered or carried', async () => {
    // At most 12 events a frame keeps every frame of these generated events under 64 KiB.
    const splitting = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(trackedEvent(), { minLength: 1, maxLength: 50, selector: (e) => e.id }),
        fc.array(splitting, { minLength: 1, maxLength: 3 }),
        fc.array(
          fc.tuple(fc.nat(), fc.constantFrom(...transports), fc.integer({ min: 0, max: 2 })),
          {
            minLength: 1,
            maxLength: 200,
          },
        ),
        async (events, splits, plan) => {
          const { store } = await createStore(db, { name: 'Once', allowedOrigins: [SHOP] });
          // Each split cuts the same events into frames of its own sizes.
          const frames: TrackedEvent[][] = [];
          for (const sizes of splits) {
            let start = 0;
            for (let i = 0; start < events.length; i += 1) {
              const size = sizes[i % sizes.length] ?? 1;
              frames.push(events.slice(start, start + size));
              start += size;
            }
          }
          // The plan decides each frame's order, transport and extra copies; three lanes (two
          // sockets and HTTP) send at once, so copies of one frame may be in flight together.
          const lanes: [string, Transport][][] = [[], [], []];
          frames.forEach((frame, i) => {
            const [order, transport, copies] = plan[i % plan.length]!;
            for (let copy = 0; copy <= copies; copy += 1) {
              const lane = (order + copy) % lanes.length;
              const text = JSON.stringify({ t: 'batch', seq: i, events: frame });
              lanes[lane]!.push([text, lane === 2 ? transport : 'ws']);
            }
          });
          for (const lane of lanes) lane.sort(([a], [b]) => a.length - b.length);

          await Promise.all(
            lanes.map(async (lane) => {
              const socket = lane.some(([, t]) => t === 'ws') ? await openSocket(store) : undefined;
              for (const [text, transport] of lane) {
                const seq = (JSON.parse(text) as { seq: number }).seq;
                const answer = await send(store, transport, text, socket);
                expect(answer).toEqual({
                  status: transport === 'ws' ? 0 : 200,
                  body: { t: 'ack', seq },
                });
              }
              socket?.socket.close();
            }),
          );

          const ids = events.map((event) => event.id);
          expect(new Set(await rowCounts(db, store.id, ids))).toEqual(new Set([1]));
          const stored = await storedEvents(db, store.id);
          expect(stored.size).toBe(events.length);
          for (const event of events)
            expect(stored.get(event.id)).toMatchObject(expectedRow(event));
        },
      ),
      { numRuns: 30 },
    );
  });
});

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}
