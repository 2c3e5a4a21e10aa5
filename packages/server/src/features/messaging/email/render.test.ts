import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultTemplates,
  type EmailTemplateSource,
  type EmailView,
  maxTemplateChars,
  renderEmail,
  TemplateError,
  validateTemplate,
} from './render.js';

const links = {
  recovery: 'https://winback.example/r/recovery-token',
  unsubscribe: 'https://winback.example/u/unsubscribe-token',
  openPixel: 'https://winback.example/o/open-token',
};

const view: EmailView = {
  store: { name: 'Sunrise Ceramics', postalAddress: '1 Harbour Road\nBristol BS1 4XX' },
  shopper: { firstName: 'Maya' },
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
  discount: null,
  links,
  locale: 'en',
};

const withDiscount = (discount: NonNullable<EmailView['discount']>): EmailView => ({
  ...view,
  discount,
});
const tenPercent = {
  code: 'WELCOME10',
  kind: 'percent' as const,
  value: 10,
  expiresAt: new Date('2026-12-24T23:59:00Z'),
};

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (char) => escapes[char] ?? char);
const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

/** Strings rich in what could break out: markup, Liquid, quotes, entities, line breaks. */
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '<',
      '>',
      '&',
      '"',
      "'",
      '{{',
      '}}',
      '{%',
      '%}',
      '<script>',
      '</script>',
      '{{ store.name }}',
      '{% if true %}',
      '{% endif %}',
      '{% raw %}',
      '&amp;',
      '&lt;',
      '\n',
      ' ',
      'é',
      '💥',
      'javascript:',
      '<!--',
      '-->',
      '|',
    ),
    fc.string({ minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});

/** A blank variant counts as none, which changes the text around it. */
const filled = hostile.filter((s) => s.trim() !== '');

describe('renderEmail: data is data', () => {
  const probe: EmailTemplateSource = {
    subject: '[{{ store.name }}]',
    html: '{% for line in cart.lines %}[{{ line.title }}|{{ line.variant }}]{% endfor %}({{ store.name }})<a href="{{ links.unsubscribe }}">u</a>{{ store.postal_address }}<img src="{{ links.open_pixel }}">',
    text: '{% for line in cart.lines %}[{{ line.title }}|{{ line.variant }}]{% endfor %}({{ store.name }}) {{ links.recovery }} {{ links.unsubscribe }} {{ store.postal_address }}',
  };

  it('prints any title, variant and store name exactly: escaped in HTML, as is in text', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, filled, hostile, async (title, variant, storeName) => {
        const email = await renderEmail(probe, {
          ...view,
          store: { ...view.store, name: storeName },
          cart: { ...view.cart, lines: [{ ...view.cart.lines[0]!, title, variant }] },
        });
        expect(email.html).toBe(
          `[${escapeHtml(title)}|${escapeHtml(variant)}](${escapeHtml(storeName)})<a href="${links.unsubscribe}">u</a>1 Harbour Road, Bristol BS1 4XX<img src="${links.openPixel}">`,
        );
        expect(email.text).toBe(
          `[${title}|${variant}](${storeName}) ${links.recovery} ${links.unsubscribe} 1 Harbour Road, Bristol BS1 4XX`,
        );
        expect(email.subject).toBe(`[${storeName}]`.replace(/\s+/g, ' ').trim());
      }),
      { numRuns: 300 },
    );
  });

  it('leaves the default templates’ structure untouched whatever the cart holds', async () => {
    // Rendering with hostile data must give exactly the rendering with placeholders, each
    // placeholder replaced by the (escaped, in HTML) data: data never adds markup or logic.
    const placeholders = ['⟦0⟧', '⟦1⟧', '⟦2⟧', '⟦3⟧', '⟦4⟧', '⟦5⟧'] as const;
    // A blank first name counts as none, which changes the text around it.
    const nonBlank = hostile.map((s) => s.trim()).filter((s) => s !== '');
    const build = (values: readonly string[]): EmailView => ({
      ...view,
      store: { ...view.store, name: values[0]! },
      shopper: { firstName: values[1]! },
      cart: {
        ...view.cart,
        lines: [
          { ...view.cart.lines[0]!, title: values[2]!, variant: values[3]! },
          { ...view.cart.lines[1]!, title: values[4]! },
        ],
      },
      discount: { ...tenPercent, code: values[5]! },
    });
    const fill = (rendered: string, values: readonly string[], asHtml: boolean) =>
      placeholders.reduce(
        (out, placeholder, index) =>
          out.replaceAll(placeholder, () => (asHtml ? escapeHtml(values[index]!) : values[index]!)),
        rendered,
      );
    const oneLine = (value: string) => value.replace(/\s+/g, ' ').trim();

    for (const template of Object.values(defaultTemplates)) {
      const skeleton = await renderEmail(template, build(placeholders));
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(hostile, nonBlank, hostile, filled, hostile, hostile),
          async (values) => {
            const email = await renderEmail(template, build(values));
            expect(email.html).toBe(fill(skeleton.html, values, true));
            expect(email.text).toBe(fill(skeleton.text, values, false));
            expect(email.subject).toBe(oneLine(fill(skeleton.subject, values, false)));
            expect(email.html).not.toMatch(/<script/i);
          },
        ),
        { numRuns: 100 },
      );
    }
  });

  it('escapes once when a template asks for | escape, and has no raw filter', async () => {
    const email = await renderEmail(
      { subject: 's', html: '{{ store.name | escape }} {{ store.name | escape_once }}', text: '' },
      { ...view, store: { ...view.store, name: 'A & <B>' } },
    );
    expect(email.html.startsWith('A &amp; &lt;B&gt; A &amp; &lt;B&gt;')).toBe(true);
    await expect(
      renderEmail({ subject: 's', html: '{{ store.name | raw }}', text: '' }, view),
    ).rejects.toThrow(TemplateError);
  });

  it('cannot read files or reach prototypes', async () => {
    for (const tag of ['{% include "x" %}', '{% render "/etc/hostname" %}', '{% layout "x" %}']) {
      await expect(renderEmail({ subject: 's', html: tag, text: '' }, view)).rejects.toThrow(
        /html: tag "(include|render|layout)" not found/,
      );
    }
    const email = await renderEmail(
      { subject: '{{ store.constructor }}{{ cart.lines.constructor.name }}', html: '', text: '' },
      view,
    );
    expect(email.subject).toBe('');
  });

  it('puts the subject on one line', async () => {
    const email = await renderEmail(
      { subject: 'Hello\r\n{{ store.name }}  !', html: '', text: '' },
      { ...view, store: { ...view.store, name: 'A\r\nBcc: x@example.com' } },
    );
    expect(email.subject).toBe('Hello A Bcc: x@example.com !');
  });
});

describe('renderEmail: what every email carries', () => {
  const bare: EmailTemplateSource = {
    subject: 'Hi',
    html: '<html><body><p>{{ cart.subtotal }}</p></body></html>',
    text: 'Your cart: {{ cart.subtotal }}',
  };

  it('adds the postal address, an unsubscribe link and the open pixel to HTML lacking them', async () => {
    const { html } = await renderEmail(bare, view);
    expect(html).toContain('1 Harbour Road, Bristol BS1 4XX');
    expect(html).toMatch(
      new RegExp(`<a href="${links.unsubscribe}"[^>]*>Unsubscribe</a>[\\s\\S]*</body></html>$`),
    );
    expect(html).toContain(`<img src="${links.openPixel}" width="1" height="1" alt=""`);
    expect(html.indexOf(links.openPixel)).toBeLessThan(html.indexOf('</body>'));
  });

  it('appends them when there is no body element', async () => {
    const { html } = await renderEmail({ ...bare, html: '<p>{{ cart.subtotal }}</p>' }, view);
    expect(html.startsWith('<p>€54.00</p>')).toBe(true);
    expect(html).toContain(`href="${links.unsubscribe}"`);
    expect(html).toContain(`src="${links.openPixel}"`);
    expect(html).toContain('1 Harbour Road, Bristol BS1 4XX');
  });

  it('adds nothing a template already has', async () => {
    for (const template of Object.values(defaultTemplates)) {
      const { html, text } = await renderEmail(template, withDiscount(tenPercent));
      expect(count(html, links.unsubscribe)).toBe(1);
      expect(count(html, links.openPixel)).toBe(1);
      expect(count(html, '1 Harbour Road, Bristol BS1 4XX')).toBe(1);
      expect(count(text, links.unsubscribe)).toBe(1);
      expect(count(text, links.recovery)).toBe(1);
      expect(count(text, '1 Harbour Road, Bristol BS1 4XX')).toBe(1);
    }
  });

  it('does not count links or addresses hidden in comments or in other tags', async () => {
    const { html } = await renderEmail(
      {
        ...bare,
        html: `<body><!-- <a href="{{ links.unsubscribe }}">u</a> {{ store.postal_address }} <img src="{{ links.open_pixel }}"> --><span title="{{ links.unsubscribe }}"></span></body>`,
      },
      view,
    );
    expect(html).toMatch(new RegExp(`<a href="${links.unsubscribe}"[^>]*>Unsubscribe</a>`));
    expect(html).toMatch(/--><span[^>]*><\/span><div[^>]*>1 Harbour Road/);
    expect(html).toMatch(new RegExp(`<img src="${links.openPixel}" width="1"`));
  });

  it('does not count what sits in the head, a style or a title', async () => {
    const { html } = await renderEmail(
      {
        ...bare,
        html: `<html><head><title>{{ store.postal_address }}</title><style>/* <a href="{{ links.unsubscribe }}">u</a> <img src="{{ links.open_pixel }}"> */</style></head><body>hi</body></html>`,
      },
      view,
    );
    expect(html).toMatch(/<body>hi<div[^>]*>1 Harbour Road, Bristol BS1 4XX<br><a href=/);
    expect(count(html, links.openPixel)).toBe(2);
  });

  it('keeps the footer out of a comment the template leaves open or wraps around </body>', async () => {
    const open = await renderEmail({ ...bare, html: '<body><p>hi</p><!-- </body>' }, view);
    expect(open.html.startsWith('<body><p>hi</p><!-- </body>-->\n<div')).toBe(true);
    expect(open.html.indexOf(links.unsubscribe)).toBeGreaterThan(open.html.indexOf('-->'));
    expect(open.html.indexOf(links.openPixel)).toBeGreaterThan(open.html.indexOf('-->'));
    const wrapped = await renderEmail({ ...bare, html: '<body><p>hi</p><!-- </body> -->' }, view);
    expect(wrapped.html.startsWith('<body><p>hi</p><!-- </body> -->\n<div')).toBe(true);
  });

  it('accepts the merchant’s own footer in any attribute quoting', async () => {
    const html = `<body><p>{{ store.postal_address }}</p><a class=x href='{{ links.unsubscribe }}'>Abmelden</a><IMG alt="" SRC={{ links.open_pixel }} ></body>`;
    const email = await renderEmail({ ...bare, html }, view);
    expect(count(email.html, links.unsubscribe)).toBe(1);
    expect(count(email.html, links.openPixel)).toBe(1);
  });

  it('adds the recovery link, postal address and unsubscribe link to a text part lacking them', async () => {
    const { text } = await renderEmail(bare, view);
    expect(text).toBe(
      [
        'Your cart: €54.00',
        '',
        '--',
        `Your cart: ${links.recovery}`,
        '1 Harbour Road, Bristol BS1 4XX',
        `Unsubscribe: ${links.unsubscribe}`,
        '',
      ].join('\n'),
    );
  });

  it('refuses links that are not absolute http(s) URLs', async () => {
    for (const bad of ['/r/token', 'javascript:alert(1)', '']) {
      await expect(
        renderEmail(bare, { ...view, links: { ...links, recovery: bad } }),
      ).rejects.toThrow(RangeError);
    }
  });
});

describe('renderEmail: friendly variables', () => {
  const show = async (source: string, changes: Partial<EmailView> = {}) =>
    (await renderEmail({ subject: source, html: '', text: '' }, { ...view, ...changes })).subject;

  it('formats prices from minor units for the currency and locale', async () => {
    const lines = '{% for l in cart.lines %}{{ l.unit_price }}/{{ l.total }} {% endfor %}';
    expect(await show(`${lines}{{ cart.subtotal }}`)).toBe('€18.00/€36.00 €18.00/€18.00 €54.00');
    expect(await show('{{ cart.subtotal }}', { locale: 'de-DE' })).toBe('54,00 €');
    const yen = { ...view.cart, currency: 'JPY', subtotalMinor: 1_500 };
    expect(await show('{{ cart.subtotal }}', { locale: 'en-US', cart: yen })).toBe('¥1,500');
    const dinar = { ...view.cart, currency: 'KWD', subtotalMinor: 12_345 };
    expect(await show('{{ cart.subtotal }}', { cart: dinar })).toBe('KWD 12.345');
    expect(await show('{{ cart.item_count }} {{ cart.line_count }} {{ cart.currency }}')).toBe(
      '3 2 EUR',
    );
  });

  it('falls back to English for a locale it cannot use', async () => {
    expect(await show('{{ cart.subtotal }} {{ locale }}', { locale: 'not a locale!' })).toBe(
      '€54.00 en',
    );
  });

  it('greets by first name, or with a fallback', async () => {
    const greeting = '{{ shopper.first_name }} {{ shopper.has_first_name }}';
    expect(await show(greeting)).toBe('Maya true');
    expect(await show(greeting, { shopper: { firstName: null } })).toBe('there false');
    expect(await show(greeting, { shopper: { firstName: '  ' } })).toBe('there false');
  });

  it('describes each kind of discount', async () => {
    const source = '{{ discount.amount }}|{{ discount.description }}|{{ discount.code }}';
    expect(await show(source, withDiscount(tenPercent))).toBe('10%|10% off|WELCOME10');
    expect(
      await show(source, withDiscount({ ...tenPercent, kind: 'fixed', value: 500, code: 'FIVE' })),
    ).toBe('€5.00|€5.00 off|FIVE');
    expect(
      await show(source, withDiscount({ ...tenPercent, kind: 'free_shipping', value: 0 })),
    ).toBe('|Free shipping|WELCOME10');
    expect(await show(`{% if discount %}yes{% else %}no{% endif %}${source}`)).toBe('no||');
  });

  it('shows when the discount expires, in the given time zone', async () => {
    const utc = await show('{{ discount.expires }}', withDiscount(tenPercent));
    expect(utc).toContain('December 24, 2026');
    expect(utc).toContain('11:59');
    expect(utc).toContain('UTC');
    const berlin = await show('{{ discount.expires }}', {
      ...withDiscount(tenPercent),
      timeZone: 'Europe/Berlin',
    });
    expect(berlin).toContain('December 25, 2026');
    expect(berlin).toContain('12:59');
  });

  it('shows only http(s) images', async () => {
    const image = (imageUrl: string | null) => ({
      ...view,
      cart: { ...view.cart, lines: [{ ...view.cart.lines[0]!, imageUrl }] },
    });
    const source = '{% for l in cart.lines %}[{{ l.image_url }}]{% endfor %}';
    expect(await show(source, image('https://cdn.example/a.png'))).toBe(
      '[https://cdn.example/a.png]',
    );
    expect(await show(source, image('HTTP://cdn.example/a.png'))).toBe(
      '[HTTP://cdn.example/a.png]',
    );
    for (const bad of [
      'javascript:alert(1)',
      'data:image/png;base64,AAAA',
      '//cdn.example/a.png',
      '/a.png',
      'ftp://cdn.example/a.png',
      'https://',
      null,
    ]) {
      expect(await show(source, image(bad))).toBe('[]');
    }
    for (const template of Object.values(defaultTemplates)) {
      const { html } = await renderEmail(template, image('javascript:alert(1)'));
      expect(html).not.toContain('javascript:');
      expect(count(html, '<img')).toBe(1); // the open pixel only
    }
  });
});

describe('default templates', () => {
  it('render every line, price, the links and the discount', async () => {
    for (const [name, template] of Object.entries(defaultTemplates)) {
      const { subject, html, text } = await renderEmail(template, withDiscount(tenPercent));
      expect(subject, name).toContain('Sunrise Ceramics');
      for (const part of [html, text]) {
        expect(part).toContain('Hi Maya,');
        expect(part).toContain('Sunrise mug');
        expect(part).toContain('Blue');
        expect(part).toContain('Tea towel');
        expect(part).toContain('€36.00');
        expect(part).toContain('€54.00');
        expect(part).toContain(links.recovery);
      }
      expect(html).toContain('<img src="https://shop.example/mug.jpg"');
      expect(html).toContain('<html lang="en">');
      if (name === 'discount') {
        expect(subject).toBe('A gift for your cart at Sunrise Ceramics: 10% off');
        for (const part of [html, text]) expect(part).toContain('WELCOME10');
      }
    }
  });

  it('read well without a discount or a first name', async () => {
    for (const template of Object.values(defaultTemplates)) {
      const { subject, html, text } = await renderEmail(template, {
        ...view,
        shopper: { firstName: null },
      });
      expect(subject).not.toMatch(/: $|undefined|null/);
      for (const part of [html, text]) {
        expect(part).toContain('Hi there,');
        expect(part).not.toContain('Valid until');
        expect(part).not.toContain('undefined');
      }
    }
    const { subject } = await renderEmail(defaultTemplates.discount, view);
    expect(subject).toBe('Your cart at Sunrise Ceramics is still waiting');
  });

  it('pass validation', () => {
    for (const template of Object.values(defaultTemplates)) {
      expect(validateTemplate(template)).toEqual({ ok: true });
    }
  });
});

describe('validateTemplate', () => {
  const good: EmailTemplateSource = {
    subject: 'Your cart at {{ store.name }}',
    html: '<p>{{ cart.subtotal }}</p>',
    text: '{{ cart.subtotal }}',
  };
  const problem = (changes: Partial<EmailTemplateSource>) => {
    const result = validateTemplate({ ...good, ...changes });
    return result.ok ? null : result.message;
  };

  it('accepts a template using known variables and filters', () => {
    expect(problem({})).toBeNull();
    expect(
      problem({
        html: '{% for line in cart.lines %}{{ line.title | upcase }}{% if line.image_url %}<img src="{{ line.image_url }}">{% endif %}{% endfor %}',
      }),
    ).toBeNull();
  });

  it('names the part, the problem and the line', () => {
    expect(problem({ html: '<p>\n{% if cart %}' })).toMatch(
      /^html: tag \{% if cart %\} not closed, line:2/,
    );
    expect(problem({ text: '{% frobnicate %}' })).toMatch(/^text: tag "frobnicate" not found/);
    expect(problem({ subject: '{{ store.name | shout }}' })).toMatch(
      /^subject: undefined filter: shout/,
    );
    expect(problem({ html: '{{ shoper.first_name }}' })).toMatch(
      /^html: undefined variable: shoper/,
    );
    expect(problem({ text: '{% for l in cart.lines %}{{ l.titel }}{% endfor %}' })).toMatch(
      /^text: undefined variable: l.titel/,
    );
    expect(problem({ html: '{{ store.name | raw }}' })).toMatch(/no raw filter/);
    expect(problem({ html: '{% include "footer" %}' })).toMatch(/^html: tag "include" not found/);
    expect(problem({ subject: '{{ cart.subtotal' })).toMatch(/^subject: /);
  });

  it('refuses a subject that renders empty, also for a step without a discount', () => {
    expect(problem({ subject: '  ' })).toBe('subject: renders empty');
    expect(problem({ subject: '{{ discount.code }}' })).toBe(
      'subject: renders empty for a step without a discount',
    );
  });

  it('refuses oversized and runaway templates', () => {
    expect(problem({ html: 'x'.repeat(maxTemplateChars + 1) })).toMatch(/^html: longer than/);
    expect(problem({ text: '{% for i in (1..100000000) %}x{% endfor %}' })).toMatch(/^text: /);
  });

  it('refuses parts that are not strings', () => {
    expect(problem({ html: undefined as unknown as string })).toBe('html: must be a string');
  });
});
