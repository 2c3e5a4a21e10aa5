/**
 * Money is an integer number of minor units (cents, pence, yen) with an ISO 4217 currency code.
 * Never a float: 0.1 + 0.2 must not become part of a recovery email.
 */
export interface Money {
  amount: number;
  currency: string;
}

const minorUnitCache = new Map<string, number>();

/** Digits after the decimal point for a currency (2 for EUR, 0 for JPY, 3 for KWD). */
export function minorUnitDigits(currency: string): number {
  const code = currency.toUpperCase();
  let digits = minorUnitCache.get(code);
  if (digits === undefined) {
    digits =
      new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
        .maximumFractionDigits ?? 2;
    minorUnitCache.set(code, digits);
  }
  return digits;
}

let knownCurrencies: ReadonlySet<string> | undefined;

/** True for an ISO 4217 code this runtime knows (Intl's list), e.g. EUR but not XXQ. */
export function isCurrencyCode(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  knownCurrencies ??= new Set(
    typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('currency') : [],
  );
  // A runtime without the list accepts any well-formed code rather than refusing every cart.
  return knownCurrencies.size === 0 || knownCurrencies.has(code);
}

/**
 * Converts a decimal amount as platforms send it ("19.99", 19.99) to minor units, rounding half
 * away from zero at the currency's precision. Returns `undefined` for anything that is not a
 * finite decimal number.
 *
 * @example
 *   toMinorUnits('19.99', 'EUR') // 1999
 *   toMinorUnits(500, 'JPY')     // 500
 */
export function toMinorUnits(decimal: string | number, currency: string): number | undefined {
  const text = typeof decimal === 'number' ? decimal.toString() : decimal.trim();
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '0', fraction = ''] = match;
  const digits = minorUnitDigits(currency);
  const kept = fraction.padEnd(digits, '0').slice(0, digits);
  let units = Number(whole) * 10 ** digits + Number(kept || '0');
  if (Number(fraction[digits] ?? '0') >= 5) units += 1;
  if (!Number.isSafeInteger(units)) return undefined;
  return sign ? -units : units;
}

/**
 * Formats minor units for people, in the shopper's locale.
 *
 * @example
 *   formatMoney({ amount: 1999, currency: 'EUR' }, 'de-DE') // "19,99 €"
 */
export function formatMoney(money: Money, locale = 'en'): string {
  const digits = minorUnitDigits(money.currency);
  return currencyFormat(locale, money.currency).format(money.amount / 10 ** digits);
}

// Making an Intl.NumberFormat costs far more than using one; a mail formats every line's price.
const currencyFormats = new Map<string, Intl.NumberFormat>();

function currencyFormat(locale: string, currency: string): Intl.NumberFormat {
  const key = `${locale}\u0000${currency}`;
  let format = currencyFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    if (currencyFormats.size >= 500) currencyFormats.clear();
    currencyFormats.set(key, format);
  }
  return format;
}
