import { formatMoney, minorUnitDigits } from '@winback/shared';
import { Liquid, type Template } from 'liquidjs';

/**
 * Renders a recovery email from a merchant's Liquid template and what is known about the cart.
 *
 * Cart data (titles, variants, the store's name) is always data, never template: Liquid syntax
 * in it is printed as it is, and in the HTML part every `{{ }}` is HTML-escaped, so a product
 * called `<script>` or `{{ store.name }}` shows as exactly that text. The `raw` filter and the
 * tags that read other files (`include`, `render`, `layout`) do not exist here.
 *
 * Whatever the template says, the HTML part ends up with the store's postal address, a visible
 * unsubscribe link and the open pixel, and the text part with the postal address, the recovery
 * link and the unsubscribe link: what is missing is added in a footer.
 *
 * Variables a template sees (prices already formatted for the cart's currency and the locale):
 *
 *   store.name, store.postal_address (one line)
 *   shopper.first_name          the first name, or "there" when unknown ("Hi there,")
 *   shopper.has_first_name      true when the first name is known
 *   cart.currency               ISO 4217 code, e.g. "EUR"
 *   cart.subtotal               e.g. "€42.00"
 *   cart.item_count             sum of the quantities
 *   cart.line_count             number of lines
 *   cart.lines[]                each: title, variant (nil when none), quantity,
 *                               unit_price, total (unit price × quantity), image_url (nil unless
 *                               http(s))
 *   discount                    nil when the step has none; else: code, kind ("percent", "fixed",
 *                               "free_shipping"), amount ("10%", "€5.00", "" for free shipping),
 *                               description ("10% off", "€5.00 off", "Free shipping"), expires
 *                               (date and time, e.g. "December 24, 2026 at 11:59 PM UTC")
 *   links.recovery, links.unsubscribe, links.open_pixel
 *   locale                      BCP 47 tag, e.g. "de-DE"
 *
 * @example
 *   const email = await renderEmail(defaultTemplates.reminder, view);
 *   // { subject: 'You left something in your cart at Sunrise Ceramics', html, text }
 */
export interface EmailTemplateSource {
  /** Liquid, rendered as plain text on one line. */
  subject: string;
  /** Liquid, every output HTML-escaped. */
  html: string;
  /** Liquid, rendered as plain text. */
  text: string;
}

export interface EmailView {
  store: { name: string; postalAddress: string };
  shopper: { firstName: string | null };
  cart: {
    /** ISO 4217 code. */
    currency: string;
    /** Minor units (cents), like every amount here. */
    subtotalMinor: number;
    lines: {
      title: string;
      variant: string | null;
      quantity: number;
      unitPriceMinor: number;
      /** Shown only when it is an http(s) URL. */
      imageUrl: string | null;
    }[];
  };
  discount: {
    code: string;
    kind: 'percent' | 'fixed' | 'free_shipping';
    /** Percent for `percent` (10 = 10 %), minor units of the cart's currency for `fixed`. */
    value: number;
    expiresAt: Date;
  } | null;
  /** Absolute http(s) URLs. */
  links: { recovery: string; unsubscribe: string; openPixel: string };
  /** BCP 47, e.g. 'en', 'de-DE'; used for money and date formatting. Invalid tags fall back to 'en'. */
  locale: string;
  /** IANA time zone in which `discount.expires` is shown (the store's); default UTC. */
  timeZone?: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export type TemplatePart = keyof EmailTemplateSource;

/** A template that does not parse or cannot be rendered; the message names the part and line. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';

  constructor(
    readonly part: TemplatePart,
    message: string,
  ) {
    super(`${part}: ${message}`);
  }
}

export { defaultTemplates } from './templates/default-templates.js';

/** A part longer than this is refused (a default template is about 5,000 characters). */
export const maxTemplateChars = 100_000;

const FALLBACK_FIRST_NAME = 'there';

function createEngine(html: boolean): Liquid {
  const engine = new Liquid({
    outputEscape: html ? 'escape' : undefined,
    strictFilters: true,
    ownPropertyOnly: true,
    // An empty in-memory file system: nothing on the server's disk is reachable.
    templates: {},
    parseLimit: maxTemplateChars,
    // Limits against templates that loop for ever or build huge strings.
    renderLimit: 2_000,
    memoryLimit: 10_000_000,
  });
  for (const tag of ['include', 'render', 'layout']) delete engine.tags[tag];
  engine.unregisterFilter('raw');
  if (html) {
    // `{{ x | escape }}`, as merchants write it for Shopify, escapes once rather than twice. Only
    // the last filter's flag counts, and these two always return escaped text, so marking them
    // raw lets no markup through.
    for (const name of ['escape', 'escape_once']) {
      const filter = engine.filters[name];
      const handler = typeof filter === 'function' ? filter : filter?.handler;
      if (handler) engine.registerFilter(name, { handler, raw: true });
    }
  }
  return engine;
}

const htmlEngine = createEngine(true);
const textEngine = createEngine(false);

function engineFor(part: TemplatePart): Liquid {
  return part === 'html' ? htmlEngine : textEngine;
}

/** Parsed templates, by part and source; a store has a few, so a small bound is plenty. */
const parsed = new Map<string, Template[]>();
const MAX_PARSED = 64;

function parse(part: TemplatePart, source: string, cache = true): Template[] {
  const key = `${part}\0${source}`;
  const cached = parsed.get(key);
  if (cached) return cached;
  if (source.length > maxTemplateChars) {
    throw new TemplateError(part, `longer than ${maxTemplateChars} characters`);
  }
  let templates: Template[];
  try {
    templates = engineFor(part).parse(source);
  } catch (error) {
    throw new TemplateError(part, describe(error));
  }
  if (!cache) return templates;
  if (parsed.size >= MAX_PARSED) {
    const oldest = parsed.keys().next();
    if (!oldest.done) parsed.delete(oldest.value);
  }
  parsed.set(key, templates);
  return templates;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/undefined filter: raw\b/.test(message)) {
    return `${message} (values are always escaped in the HTML part; there is no raw filter)`;
  }
  return message;
}

// ——— the view as templates see it ———

interface TemplateLine {
  title: string;
  variant: string | null;
  quantity: number;
  unit_price: string;
  total: string;
  image_url: string | null;
}

interface TemplateScope {
  store: { name: string; postal_address: string };
  shopper: { first_name: string; has_first_name: boolean };
  cart: {
    currency: string;
    subtotal: string;
    item_count: number;
    line_count: number;
    lines: TemplateLine[];
  };
  discount: {
    code: string;
    kind: string;
    amount: string;
    description: string;
    expires: string;
  } | null;
  links: { recovery: string; unsubscribe: string; open_pixel: string };
  locale: string;
}

function resolveLocale(locale: string): string {
  try {
    const [canonical] = Intl.getCanonicalLocales(locale);
    if (canonical && Intl.NumberFormat.supportedLocalesOf(canonical).length > 0) return canonical;
  } catch {
    // An ill-formed tag: fall through to English.
  }
  return 'en';
}

function resolveTimeZone(timeZone: string | undefined): string {
  if (!timeZone) return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}

function money(amountMinor: number, currency: string, locale: string): string {
  try {
    return formatMoney({ amount: amountMinor, currency }, locale);
  } catch {
    // A currency Intl cannot format: digits and the code, still never a float artefact.
    const digits = safeDigits(currency);
    return `${(amountMinor / 10 ** digits).toFixed(digits)} ${currency}`;
  }
}

function safeDigits(currency: string): number {
  try {
    return minorUnitDigits(currency);
  } catch {
    return 2;
  }
}

function isHttpUrl(value: string | null): value is string {
  return value !== null && /^https?:\/\//i.test(value) && URL.canParse(value);
}

/** One line: merchants type addresses over several lines, a footer shows them on one. */
function oneLine(value: string): string {
  return value
    .split(/\r\n|\r|\n/)
    .map((part) => part.trim().replace(/\s+/g, ' '))
    .filter((part) => part !== '')
    .join(', ');
}

function describeDiscount(
  discount: NonNullable<EmailView['discount']>,
  currency: string,
  locale: string,
  timeZone: string,
): NonNullable<TemplateScope['discount']> {
  let amount = '';
  let description = 'Free shipping';
  if (discount.kind === 'percent') {
    amount = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 2 }).format(
      discount.value / 100,
    );
    description = `${amount} off`;
  } else if (discount.kind === 'fixed') {
    amount = money(discount.value, currency, locale);
    description = `${amount} off`;
  }
  const expires = Number.isNaN(discount.expiresAt.getTime())
    ? ''
    : new Intl.DateTimeFormat(locale, {
        year: 'numeric',
        month: 'long',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
        timeZone,
        timeZoneName: 'short',
      }).format(discount.expiresAt);
  return { code: discount.code, kind: discount.kind, amount, description, expires };
}

function checkLinks(links: EmailView['links']): void {
  for (const [name, url] of Object.entries(links)) {
    if (!isHttpUrl(url)) throw new RangeError(`links.${name} must be an absolute http(s) URL`);
  }
}

function templateScope(view: EmailView): TemplateScope {
  checkLinks(view.links);
  const locale = resolveLocale(view.locale);
  const { currency } = view.cart;
  const firstName = view.shopper.firstName?.trim() ?? '';
  return {
    store: { name: view.store.name, postal_address: oneLine(view.store.postalAddress) },
    shopper: {
      first_name: firstName === '' ? FALLBACK_FIRST_NAME : firstName,
      has_first_name: firstName !== '',
    },
    cart: {
      currency,
      subtotal: money(view.cart.subtotalMinor, currency, locale),
      item_count: view.cart.lines.reduce((sum, line) => sum + line.quantity, 0),
      line_count: view.cart.lines.length,
      lines: view.cart.lines.map((line) => ({
        title: line.title,
        variant: line.variant?.trim() ? line.variant : null,
        quantity: line.quantity,
        unit_price: money(line.unitPriceMinor, currency, locale),
        total: money(line.unitPriceMinor * line.quantity, currency, locale),
        image_url: isHttpUrl(line.imageUrl) ? line.imageUrl : null,
      })),
    },
    discount: view.discount
      ? describeDiscount(view.discount, currency, locale, resolveTimeZone(view.timeZone))
      : null,
    links: {
      recovery: view.links.recovery,
      unsubscribe: view.links.unsubscribe,
      open_pixel: view.links.openPixel,
    },
    locale,
  };
}

// ——— what every email must carry ———

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};

/** The same five characters, the same way, as Liquid's `escape` filter. */
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/**
 * Whether the HTML has a `tag` whose `attribute` is exactly `value`, as templates write
 * attributes: `"…"`, `'…'` or bare. Linear in the HTML: only the tag around each occurrence of
 * the value is examined.
 */
function hasTag(html: string, tag: 'a' | 'img', attribute: 'href' | 'src', value: string): boolean {
  if (value === '') return false;
  const before = new RegExp(`^<${tag}\\s(?:[^>]*\\s)?${attribute}\\s*=\\s*(["']?)$`, 'i');
  for (let at = html.indexOf(value); at !== -1; at = html.indexOf(value, at + 1)) {
    const open = html.lastIndexOf('<', at);
    if (open === -1 || html.lastIndexOf('>', at) > open) continue;
    const quote = before.exec(html.slice(open, at))?.[1];
    if (quote === undefined) continue;
    const next = html.charAt(at + value.length);
    if (quote === '' ? next === '' || /[\s>]/.test(next) : next === quote) return true;
  }
  return false;
}

/** Blanks out (keeping every index) a match's text: it cannot be seen in the message. */
const blank = (match: string) => ' '.repeat(match.length);

/**
 * The HTML with what a reader never sees blanked out: comments (an unclosed one runs to the
 * end), the head, and the contents of style, script, title, textarea, template and noscript.
 */
function seenParts(html: string): { seen: string; openComment: boolean } {
  let seen = html
    .replace(/<!--[\s\S]*?-->/g, blank)
    .replace(
      /<(head|style|script|title|textarea|template|noscript)\b[^>]*>[\s\S]*?<\/\1\s*>/gi,
      blank,
    );
  const open = seen.indexOf('<!--');
  if (open !== -1) seen = seen.slice(0, open) + blank(seen.slice(open));
  return { seen, openComment: open !== -1 };
}

/**
 * Adds to the HTML what the law and the ledger need and the template left out. Only what a
 * reader can see counts (not a link in a comment or in the head); a link hidden with CSS would
 * count, which is beyond what a string check can see.
 */
function withHtmlFooter(html: string, scope: TemplateScope): string {
  const { seen, openComment } = seenParts(html);
  const address = escapeHtml(scope.store.postal_address);
  const unsubscribe = escapeHtml(scope.links.unsubscribe);
  const pixel = escapeHtml(scope.links.open_pixel);
  const footer: string[] = [];
  if (!seen.includes(address)) footer.push(address);
  if (!hasTag(seen, 'a', 'href', unsubscribe)) {
    footer.push(
      `<a href="${unsubscribe}" style="color:#6b7280;text-decoration:underline;">Unsubscribe</a>`,
    );
  }
  let added =
    footer.length > 0
      ? `<div style="padding:16px;font-family:Helvetica,Arial,sans-serif;font-size:12px;line-height:18px;color:#6b7280;text-align:center;">${footer.join('<br>')}</div>\n`
      : '';
  if (!hasTag(seen, 'img', 'src', pixel)) {
    added += `<img src="${pixel}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;">\n`;
  }
  if (added === '') return html;
  // A comment left open would swallow the footer: close it, at the very end.
  if (openComment) return `${html}-->\n${added}`;
  const bodyEnd = seen.search(/<\/body\s*>(?![\s\S]*<\/body\s*>)/i);
  return bodyEnd === -1
    ? `${html}\n${added}`
    : html.slice(0, bodyEnd) + added + html.slice(bodyEnd);
}

function withTextFooter(text: string, scope: TemplateScope): string {
  const footer: string[] = [];
  if (!text.includes(scope.links.recovery)) footer.push(`Your cart: ${scope.links.recovery}`);
  if (!text.includes(scope.store.postal_address)) footer.push(scope.store.postal_address);
  if (!text.includes(scope.links.unsubscribe)) {
    footer.push(`Unsubscribe: ${scope.links.unsubscribe}`);
  }
  if (footer.length === 0) return text;
  return `${text.replace(/\s+$/, '')}\n\n--\n${footer.join('\n')}\n`;
}

/** A subject is one line: no line breaks (header injection), no runs of spaces. */
function subjectLine(subject: string): string {
  return subject.replace(/\s+/g, ' ').trim();
}

async function renderPart(part: TemplatePart, source: string, scope: TemplateScope) {
  const templates = parse(part, source);
  try {
    return String(await engineFor(part).render(templates, scope));
  } catch (error) {
    throw new TemplateError(part, describe(error));
  }
}

/**
 * Renders the three parts. Throws `TemplateError` for a template that does not parse or fails
 * while rendering (a merchant template should have passed `validateTemplate` first), and
 * `RangeError` for a link that is not an absolute http(s) URL.
 */
export async function renderEmail(
  template: EmailTemplateSource,
  view: EmailView,
): Promise<RenderedEmail> {
  const scope = templateScope(view);
  const [subject, html, text] = await Promise.all([
    renderPart('subject', template.subject, scope),
    renderPart('html', template.html, scope),
    renderPart('text', template.text, scope),
  ]);
  return {
    subject: subjectLine(subject),
    html: withHtmlFooter(html, scope),
    text: withTextFooter(text, scope),
  };
}

// ——— validation, for the admin API ———

const sampleView: EmailView = {
  store: { name: 'Sample Store', postalAddress: '1 Sample Street, 12345 Sample Town' },
  shopper: { firstName: 'Alex' },
  cart: {
    currency: 'EUR',
    subtotalMinor: 5_400,
    lines: [
      {
        title: 'Sunrise mug',
        variant: 'Blue',
        quantity: 2,
        unitPriceMinor: 1_800,
        imageUrl: 'https://shop.example/mug.jpg',
      },
      { title: 'Tea towel', variant: null, quantity: 1, unitPriceMinor: 1_800, imageUrl: null },
    ],
  },
  discount: {
    code: 'WELCOME10',
    kind: 'percent',
    value: 10,
    expiresAt: new Date('2030-01-01T00:00:00Z'),
  },
  links: {
    recovery: 'https://winback.example/r/sample',
    unsubscribe: 'https://winback.example/u/sample',
    openPixel: 'https://winback.example/o/sample',
  },
  locale: 'en',
};

/**
 * Checks a merchant's template before it is saved: every part must parse, use only known filters
 * and variables, and render for a sample cart with and without a discount; the subject must not
 * come out empty. The message names the part and, where Liquid knows it, the line and column.
 *
 * @example
 *   validateTemplate({ subject: 'Hi', html: '{% if %}', text: '' })
 *   // { ok: false, message: 'html: ...' }
 */
export function validateTemplate(
  template: EmailTemplateSource,
): { ok: true } | { ok: false; message: string } {
  const parts: TemplatePart[] = ['subject', 'html', 'text'];
  try {
    const parsedParts = parts.map((part) => {
      if (typeof template[part] !== 'string') throw new TemplateError(part, 'must be a string');
      return { part, templates: parse(part, template[part], false) };
    });
    for (const view of [sampleView, { ...sampleView, discount: null }]) {
      const scope = templateScope(view);
      for (const { part, templates } of parsedParts) {
        let output: string;
        try {
          output = String(engineFor(part).renderSync(templates, scope, { strictVariables: true }));
        } catch (error) {
          throw new TemplateError(part, describe(error));
        }
        if (part === 'subject' && subjectLine(output) === '') {
          throw new TemplateError(
            'subject',
            view.discount ? 'renders empty' : 'renders empty for a step without a discount',
          );
        }
      }
    }
  } catch (error) {
    if (error instanceof TemplateError) return { ok: false, message: error.message };
    throw error;
  }
  return { ok: true };
}
