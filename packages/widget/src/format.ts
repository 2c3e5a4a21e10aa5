/**
 * Formats integer minor units for the shopper, with the currency's own precision (2 for EUR, 0
 * for JPY, 3 for KWD). The same result as `formatMoney` of `@winback/shared`, which the widget
 * does not import at run time (its tests hold the two together).
 *
 * @example
 *   formatMoney(1999, 'EUR', 'de') // "19,99 €"
 */
export function formatMoney(amount: number, currency: string, locale: string): string {
  const digits =
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(
    amount / 10 ** digits,
  );
}

/**
 * The locale to format numbers in: the browser's own tag when it is of the overlay's language
 * (`en-GB` for an `en` overlay), else the overlay's language itself.
 */
export function formattingLocale(language: string, browser: readonly string[]): string {
  return browser.find((tag) => tag.toLowerCase().split('-')[0] === language) ?? language;
}

const twoDigits = (value: number) => String(value).padStart(2, '0');

/**
 * Time left as a clock: `m:ss` under an hour, `h:mm:ss` above (hours are not folded into days:
 * codes live hours, not weeks). Rounded up, so "0:00" only shows once the time is up.
 *
 * @example
 *   formatRemaining(61_000) // "1:01"
 */
export function formatRemaining(milliseconds: number): string {
  const total = Math.max(0, Math.ceil(milliseconds / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor(total / 60) % 60;
  const seconds = twoDigits(total % 60);
  return hours ? `${hours}:${twoDigits(minutes)}:${seconds}` : `${minutes}:${seconds}`;
}
