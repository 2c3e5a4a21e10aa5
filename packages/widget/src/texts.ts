/**
 * Fills `{name}` placeholders. Values are plain strings rendered as text, never markup.
 *
 * @example
 *   fill('Expires in {time}', { time: '14:59' }) // "Expires in 14:59"
 */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (match, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : match,
  );
}
