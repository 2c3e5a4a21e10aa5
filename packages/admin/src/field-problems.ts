/**
 * Where the refusals in an admin API error message belong on a form. The server names the field
 * in its message: `body/settings/sender/replyTo must be ...` (the request schema, one such part
 * per problem, joined by `, `) or `settings.cartRestore.url: must be ...` (checks of several
 * settings together); an origin's problem (`origin "x" is not ...`) belongs to `allowedOrigins`.
 * Each problem goes to the longest of `fields` that is its path or holds it, so a form marks one
 * control per problem; what no field holds is left in `rest`.
 *
 * @example
 *   fieldProblems('body/settings/onsite/offer/minRisk Too big', ['settings.onsite.offer.minRisk'])
 *   // { fields: { 'settings.onsite.offer.minRisk': 'Too big' }, rest: [] }
 */
export function fieldProblems(
  message: string,
  fields: readonly string[],
): { fields: Record<string, string>; rest: string[] } {
  const found: Record<string, string> = {};
  const rest: string[] = [];
  for (const part of message.split(/, (?=body\/)/)) {
    const located =
      /^body\/(\S+) (.+)$/s.exec(part) ??
      /^((?:settings|name|postalAddress)[\w.]*): (.+)$/s.exec(part);
    const path = located
      ? located[1]!.replaceAll('/', '.')
      : /^origin /.test(part)
        ? 'allowedOrigins'
        : null;
    const field =
      path === null
        ? undefined
        : fields
            .filter((candidate) => path === candidate || path.startsWith(`${candidate}.`))
            .sort((a, b) => b.length - a.length)[0];
    if (field === undefined) rest.push(part);
    else found[field] ??= located ? located[2]! : part;
  }
  return { fields: found, rest };
}
