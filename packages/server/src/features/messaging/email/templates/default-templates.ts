import type { EmailTemplateSource } from '../render.js';

/**
 * The default recovery emails, in English: Liquid sources that a merchant can copy and edit in
 * the admin page. Each is self-contained (no partials); they are built from the shared pieces
 * below only so the three stay alike.
 *
 * The HTML is what email clients need rather than what web pages use: nested tables for layout,
 * inline styles, a 600 px column that shrinks on phones, a hidden preheader line.
 */

const font =
  "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const muted = '#6b7280';
const ink = '#111827';
const rule = '#e5e7eb';

interface Wording {
  subject: string;
  preheader: string;
  /** Plain Liquid text, used in both parts: values in it are escaped in the HTML part. */
  intro: string;
  action: string;
}

function html(wording: Wording): string {
  return `<!doctype html>
<html lang="{{ locale }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<title>{{ store.name }}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f4f5;">
<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">${wording.preheader}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f5;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;background-color:#ffffff;border-radius:8px;">
<tr><td style="padding:28px 32px 4px;${font};font-size:20px;line-height:28px;font-weight:bold;color:${ink};">{{ store.name }}</td></tr>
<tr><td style="padding:8px 32px;${font};font-size:16px;line-height:24px;color:#374151;">
<p style="margin:0 0 12px;">Hi {{ shopper.first_name }},</p>
<p style="margin:0;">${wording.intro}</p>
</td></tr>
{%- if discount %}
<tr><td style="padding:16px 32px 8px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border:2px dashed ${ink};border-radius:6px;">
<tr><td align="center" style="padding:16px;${font};color:${ink};">
<div style="font-size:20px;line-height:28px;font-weight:bold;">{{ discount.description }}</div>
<div style="font-size:15px;line-height:22px;">Use code <strong style="font-size:17px;letter-spacing:1px;">{{ discount.code }}</strong> at checkout.</div>
<div style="font-size:13px;line-height:20px;color:${muted};">Valid until {{ discount.expires }}.</div>
</td></tr>
</table>
</td></tr>
{%- endif %}
<tr><td style="padding:8px 32px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
{%- for line in cart.lines %}
<tr>
<td width="76" valign="top" style="width:76px;padding:12px 12px 12px 0;border-bottom:1px solid ${rule};">
{%- if line.image_url %}<img src="{{ line.image_url }}" width="64" height="64" alt="{{ line.title }}" style="display:block;width:64px;height:64px;border:0;border-radius:4px;object-fit:cover;">{% endif -%}
</td>
<td valign="top" style="padding:12px 8px 12px 0;border-bottom:1px solid ${rule};${font};font-size:15px;line-height:22px;color:${ink};">{{ line.title }}
{%- if line.variant %}<br><span style="font-size:13px;color:${muted};">{{ line.variant }}</span>{% endif %}<br><span style="font-size:13px;color:${muted};">{{ line.quantity }} × {{ line.unit_price }}</span></td>
<td align="right" valign="top" style="padding:12px 0;border-bottom:1px solid ${rule};${font};font-size:15px;line-height:22px;color:${ink};white-space:nowrap;">{{ line.total }}</td>
</tr>
{%- endfor %}
<tr>
<td colspan="2" style="padding:12px 0;${font};font-size:15px;line-height:22px;font-weight:bold;color:${ink};">Subtotal</td>
<td align="right" style="padding:12px 0;${font};font-size:15px;line-height:22px;font-weight:bold;color:${ink};white-space:nowrap;">{{ cart.subtotal }}</td>
</tr>
</table>
</td></tr>
<tr><td align="center" style="padding:20px 32px 28px;">
<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr><td align="center" style="border-radius:6px;background-color:${ink};">
<a href="{{ links.recovery }}" style="display:inline-block;padding:14px 28px;${font};font-size:16px;line-height:20px;font-weight:bold;color:#ffffff;text-decoration:none;border-radius:6px;">${wording.action}</a>
</td></tr></table>
</td></tr>
<tr><td style="padding:16px 32px 24px;border-top:1px solid ${rule};${font};font-size:12px;line-height:18px;color:${muted};">
You are receiving this email because you started an order at {{ store.name }}.<br>
{{ store.postal_address }}<br>
<a href="{{ links.unsubscribe }}" style="color:${muted};text-decoration:underline;">Unsubscribe</a> from these reminders.
</td></tr>
</table>
</td></tr>
</table>
<img src="{{ links.open_pixel }}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;">
</body>
</html>
`;
}

function text(wording: Wording): string {
  return `Hi {{ shopper.first_name }},

${wording.intro}
{% if discount %}
{{ discount.description }}: use code {{ discount.code }} at checkout. Valid until {{ discount.expires }}.
{% endif %}
{%- for line in cart.lines %}
- {{ line.title }}{% if line.variant %} ({{ line.variant }}){% endif %}: {{ line.quantity }} × {{ line.unit_price }} = {{ line.total }}
{%- endfor %}

Subtotal: {{ cart.subtotal }}

${wording.action}: {{ links.recovery }}

--
You are receiving this email because you started an order at {{ store.name }}.
{{ store.postal_address }}
Unsubscribe: {{ links.unsubscribe }}
`;
}

function template(wording: Wording): EmailTemplateSource {
  return { subject: wording.subject, html: html(wording), text: text(wording) };
}

/** About an hour after the cart was left: a friendly nudge. */
const reminder = template({
  subject: 'You left something in your cart at {{ store.name }}',
  preheader: 'Your cart is saved. Pick up where you left off.',
  intro:
    'Looks like you left a few things in your cart. We saved them for you, so you can pick up where you left off whenever you are ready.',
  action: 'Return to your cart',
});

/** About a day later: the cart will not be kept forever. */
const lastChance = template({
  subject: 'Still thinking it over? Your cart at {{ store.name }} is waiting',
  preheader: 'The items in your cart are still available, for now.',
  intro:
    'The items in your cart are still available, but we cannot hold them forever. Complete your order before they are gone.',
  action: 'Complete your order',
});

/** About three days later, with the step's discount (and still sensible without one). */
const discount = template({
  subject:
    '{% if discount %}A gift for your cart at {{ store.name }}: {{ discount.description }}{% else %}Your cart at {{ store.name }} is still waiting{% endif %}',
  preheader:
    '{% if discount %}{{ discount.description }} with code {{ discount.code }}.{% endif %}',
  intro:
    '{% if discount %}Here is a little something to help you decide: {{ discount.description }} with the code below.{% else %}Your cart is still saved for you.{% endif %}',
  action: 'Complete your order',
});

/** The default sequence: reminder at 1 h, last chance at 24 h, discount at 72 h. */
export const defaultTemplates: Readonly<{
  reminder: EmailTemplateSource;
  lastChance: EmailTemplateSource;
  discount: EmailTemplateSource;
}> = Object.freeze({ reminder, lastChance, discount });
