import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Random } from './random.js';

/*
 * The shopping sessions a demo month is made from. In this repository they are real: the REES46
 * "eCommerce behavior data from multi category store" export (October 2019, its first three
 * hours), read from the shared data folder that sits next to the repository. A published package
 * or a clone elsewhere has no such folder; then sessions are generated from the demo shop's own
 * catalogue, and the caller says so.
 */

/**
 * `<repository>/../shared/data/sessions/`: the repository's root is five folders above this file,
 * and CI clones the repository next to `shared`.
 */
export const defaultSessionsDir = fileURLToPath(
  new URL('../../../../../../shared/data/sessions/', import.meta.url),
);

export const rees46File = 'rees46-2019-oct-head.csv';

export interface SessionProduct {
  id: string;
  title: string;
  variant?: string;
  /** Minor units of the session's currency. */
  unitPrice: number;
  /** Path of a picture on the storefront, for products the demo shop has one of. */
  imagePath?: string;
}

/** One thing the shopper did, `at` milliseconds after the session's first step. */
export interface SessionStep {
  kind: 'view' | 'add' | 'remove' | 'purchase';
  at: number;
  product: SessionProduct;
}

export interface ShopSession {
  /** Where it comes from: `rees46:<user_session>` or `generated:<n>`. */
  key: string;
  /** The person browsing, so that one person's sessions can share a shopper. */
  person: string;
  currency: string;
  /** In time order; at least one `add`, and nothing after the first `purchase`'s moment. */
  steps: SessionStep[];
}

export interface SessionSource {
  kind: 'rees46' | 'generated';
  sessions: ShopSession[];
}

/**
 * The real sessions in `dir`, or `null` when the folder or its REES46 file is absent (the caller
 * then generates a month instead).
 */
export async function readRealSessions(dir: string): Promise<ShopSession[] | null> {
  const file = join(dir, rees46File);
  if (!existsSync(file)) return null;
  return parseRees46(await readFile(file, 'utf8'));
}

/**
 * Sessions with cart activity from the REES46 CSV (`event_time,event_type,product_id,
 * category_id,category_code,brand,price,user_id,user_session`). Views-only sessions had no cart
 * and are left out; rows cut short (the export's last line) are skipped. Prices are USD.
 */
export function parseRees46(text: string): ShopSession[] {
  const [head = '', ...lines] = text.split(/\r?\n/);
  const header = head.split(',');
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`the REES46 file has no ${name} column`);
    return index;
  };
  const at = {
    time: column('event_time'),
    type: column('event_type'),
    product: column('product_id'),
    category: column('category_code'),
    brand: column('brand'),
    price: column('price'),
    user: column('user_id'),
    session: column('user_session'),
  };
  const kinds: Record<string, SessionStep['kind']> = {
    view: 'view',
    cart: 'add',
    remove_from_cart: 'remove',
    purchase: 'purchase',
  };
  const bySession = new Map<
    string,
    { person: string; rows: { time: number; step: SessionStep }[] }
  >();
  for (const line of lines) {
    const cells = line.split(',');
    if (cells.length !== header.length) continue;
    const kind = kinds[cells[at.type] ?? ''];
    const time = Date.parse((cells[at.time] ?? '').replace(' UTC', 'Z').replace(' ', 'T'));
    const price = Math.round(Number(cells[at.price]) * 100);
    const productId = cells[at.product] ?? '';
    const sessionId = cells[at.session] ?? '';
    if (!kind || !Number.isFinite(time) || !Number.isSafeInteger(price) || price < 0) continue;
    if (productId === '' || sessionId === '') continue;
    const product: SessionProduct = {
      id: productId,
      title: productTitle(cells[at.brand] ?? '', cells[at.category] ?? '', productId),
      unitPrice: price,
    };
    let session = bySession.get(sessionId);
    if (!session) {
      session = { person: cells[at.user] ?? sessionId, rows: [] };
      bySession.set(sessionId, session);
    }
    session.rows.push({ time, step: { kind, at: 0, product } });
  }

  const sessions: ShopSession[] = [];
  for (const [id, { person, rows }] of bySession) {
    // The export lists a second's events in file order; a stable sort keeps it.
    rows.sort((a, b) => a.time - b.time);
    const firstPurchase = rows.find((row) => row.step.kind === 'purchase')?.time;
    const kept = rows.filter((row) => firstPurchase === undefined || row.time <= firstPurchase);
    if (!kept.some((row) => row.step.kind === 'add')) continue;
    const start = (kept[0] as (typeof kept)[number]).time;
    sessions.push({
      key: `rees46:${id}`,
      person: `rees46:${person}`,
      currency: 'USD',
      steps: kept.map((row) => ({ ...row.step, at: row.time - start })),
    });
  }
  return sessions;
}

/** `Apple smartphone` from brand `apple` and category `electronics.smartphone`. */
function productTitle(brand: string, categoryCode: string, productId: string): string {
  const leaf = (categoryCode.split('.').at(-1) ?? '').replaceAll('_', ' ').trim();
  const maker = brand.trim().replace(/^./, (first) => first.toUpperCase());
  if (maker && leaf) return `${maker} ${leaf}`;
  if (maker) return `${maker} item ${productId}`;
  if (leaf) return `${leaf.replace(/^./, (first) => first.toUpperCase())} ${productId}`;
  return `Item ${productId}`;
}

/** The demo shop's catalogue (examples/storefront), with a few more things a coffee shop sells. */
const catalogue: readonly SessionProduct[] = [
  {
    id: 'mug-sunrise',
    title: 'Sunrise mug',
    variant: 'Orange',
    unitPrice: 1800,
    imagePath: '/images/mug-sunrise.svg',
  },
  {
    id: 'beans-house',
    title: 'House blend beans, 500 g',
    variant: 'Whole bean',
    unitPrice: 1450,
    imagePath: '/images/beans-house.svg',
  },
  {
    id: 'pour-over',
    title: 'Glass pour-over',
    variant: '2 cups',
    unitPrice: 3200,
    imagePath: '/images/pour-over.svg',
  },
  {
    id: 'tea-towel',
    title: 'Linen tea towel',
    variant: 'Green stripe',
    unitPrice: 1200,
    imagePath: '/images/tea-towel.svg',
  },
  { id: 'grinder-hand', title: 'Hand grinder', variant: 'Steel', unitPrice: 4900 },
  { id: 'cups-espresso', title: 'Espresso cups, set of 2', variant: 'White', unitPrice: 2400 },
  { id: 'beans-decaf', title: 'Decaf beans, 250 g', variant: 'Ground', unitPrice: 950 },
  { id: 'cold-brew', title: 'Cold brew bottle', variant: '1 l', unitPrice: 2200 },
];

/**
 * `count` sessions made up from the demo shop's catalogue (EUR), for when the real ones are not
 * at hand: a few product views, one to three products added (now and then one taken out
 * again), and about a third bought in the same session, as in published abandonment figures.
 * Some people come back for a second session.
 */
export function generatedSessions(count: number, random: Random): ShopSession[] {
  const sessions: ShopSession[] = [];
  for (let n = 0; n < count; n += 1) {
    const returning = n > 10 && random.chance(0.12);
    const person = returning
      ? (sessions[random.int(0, sessions.length - 1)] as ShopSession).person
      : `generated:person-${n}`;
    const steps: SessionStep[] = [];
    let at = 0;
    const wait = (min: number, max: number) => {
      at += Math.round(random.between(min, max) * 1000);
      return at;
    };
    for (let views = random.int(1, 5); views > 0; views -= 1) {
      steps.push({
        kind: 'view',
        at: steps.length === 0 ? 0 : wait(8, 80),
        product: random.pick(catalogue),
      });
    }
    const added: SessionProduct[] = [];
    for (
      let adds = random.weighted([
        [1, 5],
        [2, 3],
        [3, 1],
      ] as const);
      adds > 0;
      adds -= 1
    ) {
      const product = random.chance(0.7)
        ? (steps.at(-1) as SessionStep).product
        : random.pick(catalogue);
      steps.push({ kind: 'add', at: wait(5, 60), product });
      added.push(product);
      if (random.chance(0.4))
        steps.push({ kind: 'view', at: wait(10, 90), product: random.pick(catalogue) });
    }
    if (added.length > 1 && random.chance(0.15)) {
      steps.push({ kind: 'remove', at: wait(10, 60), product: added.shift() as SessionProduct });
    }
    if (random.chance(0.33)) {
      const bought = wait(60, 360);
      for (const product of added) steps.push({ kind: 'purchase', at: bought, product });
    }
    sessions.push({ key: `generated:${n}`, person, currency: 'EUR', steps });
  }
  return sessions;
}
