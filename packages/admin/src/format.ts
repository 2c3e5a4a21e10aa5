/*
 * Pure helpers of the admin page: numbers, money, dates and periods, CSV. No DOM, no I/O, so
 * they are unit-tested in Node (format.test.ts).
 */

/** An amount of money as the admin API gives it: integer minor units and an ISO 4217 code. */
export interface Money {
  currency: string;
  amountMinor: number;
}

/** Digits after the decimal point of a currency (2 for EUR, 0 for JPY, 3 for KWD). */
export function currencyDigits(currency: string): number {
  try {
    return (
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits ?? 2
    );
  } catch {
    return 2;
  }
}

/** `{ EUR, 1050 }` → `€10.50` (in the given locale). An unknown code prints as `1050 XYZ`. */
export function formatMoney(money: Money, locale = 'en'): string {
  try {
    const digits = currencyDigits(money.currency);
    return new Intl.NumberFormat(locale, { style: 'currency', currency: money.currency }).format(
      money.amountMinor / 10 ** digits,
    );
  } catch {
    return `${money.amountMinor} ${money.currency}`;
  }
}

/** Several currencies side by side (`€10.50 · $3.00`); none is a dash. */
export function formatMoneyList(amounts: readonly Money[], locale = 'en'): string {
  if (amounts.length === 0) return '—';
  return [...amounts]
    .sort((a, b) => a.currency.localeCompare(b.currency))
    .map((money) => formatMoney(money, locale))
    .join(' · ');
}

/** A minor-unit value without a currency (a cart filter): `1050` → `10.50`. */
export function formatMinor(amountMinor: number, digits = 2): string {
  return (amountMinor / 10 ** digits).toFixed(digits);
}

/**
 * What a merchant types as an amount (`12`, `12.5`, `12,50`) → minor units, or `null` when it
 * is not an amount. Never goes through floating point for the cents.
 */
export function parseAmountToMinor(text: string, digits = 2): number | null {
  const trimmed = text.trim().replace(',', '.');
  const match = /^(\d{1,13})(?:\.(\d*))?$/.exec(trimmed);
  if (!match) return null;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return null;
  return Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

export function formatCount(value: number, locale = 'en'): string {
  return new Intl.NumberFormat(locale).format(value);
}

/** A rate in 0..1 as a percent with one decimal; `null` (nothing to divide by) is a dash. */
export function formatRate(rate: number | null, locale = 'en'): string {
  if (rate === null || !Number.isFinite(rate)) return '—';
  return new Intl.NumberFormat(locale, {
    style: 'percent',
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  }).format(rate);
}

export type Trend = 'up' | 'down' | 'flat' | 'new' | 'none';

/**
 * How a figure moved against the previous period: `+12.5%`, `−3.0%`, `±0%`; from zero to
 * something is `new`, from nothing to nothing `none`.
 */
export function compare(current: number, previous: number): { trend: Trend; text: string } {
  if (previous === 0) {
    return current === 0 ? { trend: 'none', text: '—' } : { trend: 'new', text: 'new' };
  }
  const change = (current - previous) / Math.abs(previous);
  if (Math.abs(change) < 0.0005) return { trend: 'flat', text: '±0%' };
  const percent = (Math.abs(change) * 100).toFixed(1);
  return change > 0
    ? { trend: 'up', text: `+${percent}%` }
    : { trend: 'down', text: `−${percent}%` };
}

/** The sum of a money list in one currency (0 when it does not appear). */
export function amountIn(amounts: readonly Money[], currency: string): number {
  return amounts
    .filter((money) => money.currency === currency)
    .reduce((sum, money) => sum + money.amountMinor, 0);
}

/** An ISO timestamp as the merchant reads it: `2024-05-02 14:03` in their browser's zone. */
export function formatDateTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  const parts = new Intl.DateTimeFormat('en-CA', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    ...(timeZone ? { timeZone } : {}),
  }).formatToParts(date);
  const part = (type: string) => parts.find((item) => item.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`;
}

/** Minutes as a delay a person reads: `0` → `at once`, `90` → `1 h 30 min`, `2880` → `2 d`. */
export function formatDelay(minutes: number): string {
  if (minutes <= 0) return 'at once';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  return [days ? `${days} d` : '', hours ? `${hours} h` : '', rest ? `${rest} min` : '']
    .filter(Boolean)
    .join(' ');
}

// Periods are calendar days, `YYYY-MM-DD`, both ends included, computed in UTC arithmetic so no
// daylight-saving change can shift a day.

const DAY_MS = 86_400_000;

export function isIsoDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Days in the period, both ends counted: `2024-05-01`..`2024-05-07` is 7. */
export function periodLength(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

/** The period of the same length that ends the day before `from`. */
export function previousPeriod(from: string, to: string): { from: string; to: string } {
  const length = periodLength(from, to);
  return { from: addDays(from, -length), to: addDays(from, -1) };
}

/** Today's date where the browser is (the page asks for days as the merchant sees them). */
export function localToday(now = new Date()): string {
  const shifted = new Date(now.getTime() - now.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 10);
}

export type PeriodPreset = '7d' | '30d' | '90d' | 'month' | 'last_month';

export const periodPresets: readonly { id: PeriodPreset; label: string }[] = [
  { id: '7d', label: 'Last 7 days' },
  { id: '30d', label: 'Last 30 days' },
  { id: '90d', label: 'Last 90 days' },
  { id: 'month', label: 'This month' },
  { id: 'last_month', label: 'Last month' },
];

/** A preset's days, ending `today` (included) for the rolling ones. */
export function presetPeriod(preset: PeriodPreset, today: string): { from: string; to: string } {
  switch (preset) {
    case '7d':
      return { from: addDays(today, -6), to: today };
    case '30d':
      return { from: addDays(today, -29), to: today };
    case '90d':
      return { from: addDays(today, -89), to: today };
    case 'month':
      return { from: `${today.slice(0, 8)}01`, to: today };
    case 'last_month': {
      const end = addDays(`${today.slice(0, 8)}01`, -1);
      return { from: `${end.slice(0, 8)}01`, to: end };
    }
  }
}

/** Why a chosen period cannot be asked for, or `null` when it can. */
export function periodProblem(from: string, to: string, maxDays = 366): string | null {
  if (!isIsoDate(from) || !isIsoDate(to)) return 'Pick both dates.';
  if (from > to) return 'The period must start before it ends.';
  if (periodLength(from, to) > maxDays) return `Pick at most ${maxDays} days.`;
  return null;
}

/**
 * The start of a calendar day in the browser's zone, as an ISO timestamp the API accepts
 * (`2024-05-02` → `2024-05-01T22:00:00.000Z` in Berlin in summer).
 */
export function startOfLocalDay(day: string): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(year, month - 1, date).toISOString();
}

/**
 * Rows as RFC 4180 CSV: fields quoted when they hold a comma, quote or line break; text that a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`.
 * Numbers are written as they are. Lines end with CRLF.
 */
export function toCsv(rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  const cell = (value: string | number | null | undefined): string => {
    if (value === null || value === undefined) return '';
    if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
    const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${rows.map((row) => row.map(cell).join(',')).join('\r\n')}\r\n`;
}
