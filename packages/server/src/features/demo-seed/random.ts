import { createHash } from 'node:crypto';

/*
 * Deterministic randomness for the demo seed: the same seed gives the same month, so a demo (and
 * a failing test) can be reproduced. Nothing here is fit for secrets.
 */

export interface Random {
  /** A number in [0, 1). */
  next(): number;
  /** A whole number from `min` to `max`, both included. */
  int(min: number, max: number): number;
  /** A number in [min, max). */
  between(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** One of `choices`, each as likely as its weight. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T;
  /** An exponentially distributed wait with the given mean. */
  exponential(mean: number): number;
  bytes(count: number): Uint8Array;
}

/** FNV-1a of a text, for turning names into seeds. */
export function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * mulberry32: small, fast and well spread for simulation.
 *
 * @example
 *   const random = seededRandom('carts:17'); // the same draws on every run
 *   random.chance(0.4);
 */
export function seededRandom(seed: number | string): Random {
  let state = (typeof seed === 'string' ? hashSeed(seed) : seed) >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const random: Random = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    between: (min, max) => min + next() * (max - min),
    chance: (probability) => next() < probability,
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
    weighted: (choices) => {
      const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
      let left = next() * total;
      for (const [choice, weight] of choices) {
        left -= weight;
        if (left < 0) return choice;
      }
      return (choices.at(-1) as (typeof choices)[number])[0];
    },
    exponential: (mean) => -Math.log(1 - next()) * mean,
    bytes: (count) => {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i += 1) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
  return random;
}

/**
 * A stable uuid for the `n`th seeded row of a kind in a store. Rows get their ids before they
 * are written, so carts, messages and discounts can refer to each other in one pass, and a
 * re-seed with the same clock writes the same ids. The store id is part of the name, so two
 * seeded stores never collide.
 */
export function seedUuid(storeId: string, kind: string, n: number): string {
  const hex = createHash('sha256')
    .update(`winback-demo-seed:${storeId}:${kind}:${n}`)
    .digest('hex');
  // Version 8 (custom) with the RFC 9562 variant: a valid uuid that says it is not random.
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  const groups = [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `8${hex.slice(13, 16)}`,
    `${variant}${hex.slice(17, 20)}`,
    hex.slice(20, 32),
  ];
  return groups.join('-');
}

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The 16 random characters of a ULID, from `random`. */
export function ulidRandomPart(random: Random): string {
  let text = '';
  for (let i = 0; i < 16; i += 1) text += crockford.charAt(random.int(0, 31));
  return text;
}
