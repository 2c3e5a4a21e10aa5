/*
 * CSV as spreadsheets read it (RFC 4180, CRLF line ends). Text that a spreadsheet would take
 * for a formula (starting with = + - @, a tab or a carriage return) gets a leading apostrophe,
 * so a product title or an answer typed by a shopper can never run as one.
 */

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One cell: numbers as they are, text made formula-safe and quoted where needed. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, with its line end. */
export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/** `attachment; filename=...` for a name made of safe characters only. */
export function attachment(filename: string): string {
  return `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`;
}

export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';
