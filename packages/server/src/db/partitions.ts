import { type Kysely, sql } from 'kysely';

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The ten-character time part of a ULID for a moment (`Date` or milliseconds since the epoch).
 * Events are partitioned by id ranges built from these prefixes; see the events migration.
 *
 * @example
 *   ulidTimePrefix(1469918176385); // '01ARYZ6S41'
 */
export function ulidTimePrefix(at: Date | number): string {
  let ms = typeof at === 'number' ? at : at.getTime();
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= 2 ** 48) {
    throw new RangeError(`a ULID cannot encode ${String(at)}`);
  }
  let prefix = '';
  for (let i = 0; i < 10; i += 1) {
    prefix = crockford.charAt(ms % 32) + prefix;
    ms = Math.floor(ms / 32);
  }
  return prefix;
}

/** First days (UTC, `YYYY-MM-DD`) of the month holding `from` and the `monthsAhead` after it. */
export function monthStarts(from: Date, monthsAhead: number): string[] {
  const months: string[] = [];
  for (let offset = 0; offset <= monthsAhead; offset += 1) {
    const first = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + offset, 1));
    months.push(first.toISOString().slice(0, 10));
  }
  return months;
}

/**
 * Makes sure the monthly events partitions exist for the current month and `monthsAhead` more,
 * returning their names. Safe to call from every node, any number of times: the database
 * function takes a lock and skips months that already exist. Events for months without a
 * partition are not lost; they wait in the default partition and move when their month is made.
 */
export async function ensureEventPartitions(
  // biome-ignore lint/suspicious/noExplicitAny: works on any handle, typed or not
  db: Kysely<any>,
  options: { from?: Date; monthsAhead?: number } = {},
): Promise<string[]> {
  const names: string[] = [];
  for (const month of monthStarts(options.from ?? new Date(), options.monthsAhead ?? 2)) {
    const { rows } = await sql<{
      name: string;
    }>`select winback_ensure_events_partition(${month}::date) as name`.execute(db);
    const name = rows[0]?.name;
    if (name === undefined) throw new Error(`no events partition was made for ${month}`);
    names.push(name);
  }
  return names;
}
