import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import {
  ApiError,
  type DiscountPolicy,
  describeError,
  get,
  type OverlayTextDefaults,
  patch,
  post,
  type Store,
} from '../api.js';
import { CopyButton, Show, useLoad } from '../components.js';
import { fieldProblems } from '../field-problems.js';
import { formatMinor, parseAmountToMinor } from '../format.js';

interface Offer {
  discount: DiscountPolicy;
  minRisk: number;
  minValueMinor: number;
  maxPerDay: number;
}

interface Onsite {
  exitModal: {
    enabled: boolean;
    minValueMinor: number;
    minRisk: number;
    captureEmail: boolean;
    capturePhone: boolean;
    askReason: boolean;
  };
  returnSlideIn: { enabled: boolean };
  pages: { include: string[]; exclude: string[] };
  dismissCooldownDays: number;
  offer: Offer | null;
  texts: Record<string, Record<string, string>>;
  consent: { text: string; version: string } | null;
  theme: {
    primary?: string;
    background?: string;
    text?: string;
    fontFamily?: string;
    radius?: number;
    logoUrl?: string;
  };
  [key: string]: unknown;
}

type RestoreKind = 'none' | 'shopify' | 'template';

interface Settings {
  idleThresholdMinutes: number;
  attributionWindowDays: number;
  quietHours: { start: string; end: string };
  timezone: string;
  frequencyCapHours: { email: number; sms: number; push: number };
  storeUrl: string | null;
  cartRestore: { kind: RestoreKind; url?: string };
  sender: { name: string | null; replyTo: string | null };
  onsite: Onsite;
}

/** The form's state: what the merchant types, numbers and amounts included, as typed. */
interface Draft {
  name: string;
  allowedOrigins: string;
  postalAddress: string;
  idleThresholdMinutes: number;
  attributionWindowDays: number;
  quietStart: string;
  quietEnd: string;
  timezone: string;
  frequencyCapHours: Settings['frequencyCapHours'];
  senderName: string;
  replyTo: string;
  storeUrl: string;
  restoreKind: RestoreKind;
  restoreUrl: string;
  offerMinValue: string;
  onsite: Onsite;
}

function toDraft(store: Store): Draft {
  const settings = store.settings as unknown as Settings;
  return {
    name: store.name,
    allowedOrigins: store.allowedOrigins.join('\n'),
    postalAddress: store.postalAddress ?? '',
    idleThresholdMinutes: settings.idleThresholdMinutes,
    attributionWindowDays: settings.attributionWindowDays,
    quietStart: settings.quietHours.start,
    quietEnd: settings.quietHours.end,
    timezone: settings.timezone,
    frequencyCapHours: settings.frequencyCapHours,
    senderName: settings.sender.name ?? '',
    replyTo: settings.sender.replyTo ?? '',
    storeUrl: settings.storeUrl ?? '',
    restoreKind: settings.cartRestore.kind,
    restoreUrl: settings.cartRestore.url ?? '',
    offerMinValue: settings.onsite.offer ? formatMinor(settings.onsite.offer.minValueMinor) : '',
    onsite: settings.onsite,
  };
}

/** What the page offers when the merchant switches the on-site offer on. */
const firstOffer: Offer = {
  discount: { kind: 'percent', value: 10, validHours: 24 },
  minRisk: 0.6,
  minValueMinor: 0,
  maxPerDay: 200,
};

type Problems = Record<string, string>;

/** The PATCH body for a draft, or the problems the page can tell without asking the server. */
function fromDraft(draft: Draft): { body: Record<string, unknown> } | { problems: Problems } {
  const problems: Problems = {};
  const whole = (path: string, value: number) => {
    if (!Number.isInteger(value)) problems[path] = 'Enter a whole number.';
  };
  whole('settings.idleThresholdMinutes', draft.idleThresholdMinutes);
  whole('settings.attributionWindowDays', draft.attributionWindowDays);
  whole('settings.frequencyCapHours.email', draft.frequencyCapHours.email);
  whole('settings.onsite.dismissCooldownDays', draft.onsite.dismissCooldownDays);
  let onsite = draft.onsite;
  if (onsite.offer) {
    const minValueMinor = draft.offerMinValue.trim() ? parseAmountToMinor(draft.offerMinValue) : 0;
    if (minValueMinor === null) {
      problems['settings.onsite.offer.minValueMinor'] = 'Enter an amount such as 25 or 25.50.';
    }
    whole('settings.onsite.offer.maxPerDay', onsite.offer.maxPerDay);
    whole('settings.onsite.offer.discount.value', onsite.offer.discount.value);
    whole('settings.onsite.offer.discount.validHours', onsite.offer.discount.validHours);
    onsite = { ...onsite, offer: { ...onsite.offer, minValueMinor: minValueMinor ?? 0 } };
  }
  if (Object.keys(problems).length > 0) return { problems };
  return {
    body: {
      name: draft.name,
      allowedOrigins: lines(draft.allowedOrigins),
      postalAddress: draft.postalAddress.trim() || null,
      settings: {
        idleThresholdMinutes: draft.idleThresholdMinutes,
        attributionWindowDays: draft.attributionWindowDays,
        quietHours: { start: draft.quietStart, end: draft.quietEnd },
        timezone: draft.timezone,
        frequencyCapHours: draft.frequencyCapHours,
        sender: { name: draft.senderName.trim() || null, replyTo: draft.replyTo.trim() || null },
        storeUrl: draft.storeUrl.trim() || null,
        cartRestore:
          draft.restoreKind === 'template'
            ? { kind: 'template', url: draft.restoreUrl.trim() }
            : { kind: draft.restoreKind },
        onsite,
      },
    },
  };
}

/** Fields that show their own error; a refusal about anything else shows below the form. */
const fieldPaths = [
  'name',
  'allowedOrigins',
  'postalAddress',
  'settings.idleThresholdMinutes',
  'settings.attributionWindowDays',
  'settings.timezone',
  'settings.quietHours.start',
  'settings.quietHours.end',
  'settings.frequencyCapHours.email',
  'settings.sender.name',
  'settings.sender.replyTo',
  'settings.storeUrl',
  'settings.cartRestore.url',
  'settings.cartRestore',
  'settings.onsite.exitModal.minRisk',
  'settings.onsite.dismissCooldownDays',
  'settings.onsite.pages.include',
  'settings.onsite.pages.exclude',
  'settings.onsite.theme.primary',
  'settings.onsite.theme.background',
  'settings.onsite.theme.text',
  'settings.onsite.theme.fontFamily',
  'settings.onsite.theme.radius',
  'settings.onsite.theme.logoUrl',
  'settings.onsite.offer.discount.value',
  'settings.onsite.offer.discount.validHours',
  'settings.onsite.offer.discount',
  'settings.onsite.offer.minRisk',
  'settings.onsite.offer.minValueMinor',
  'settings.onsite.offer.maxPerDay',
  'settings.onsite.consent.text',
  'settings.onsite.consent.version',
  'settings.onsite.texts',
];

/** A labelled control with its error, if any, right below it. */
function Field({
  label,
  path,
  problems,
  hint,
  children,
}: {
  label: string;
  path: string;
  problems: Problems;
  hint?: string;
  children: ComponentChildren;
}) {
  const problem = problems[path];
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control comes in as `children`
    <label data-field={path} class={problem ? 'invalid' : undefined}>
      {label}
      {children}
      {hint && <span class="muted">{hint}</span>}
      {problem && (
        <span class="field-error" id={`problem-${path}`}>
          {problem}
        </span>
      )}
    </label>
  );
}

/** `aria-invalid` and the link to the error for the control of `path`. */
function invalid(problems: Problems, path: string) {
  return problems[path]
    ? { 'aria-invalid': true as const, 'aria-describedby': `problem-${path}` }
    : {};
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

function snippets(store: Store, serverOrigin: string) {
  const tag = `<script async src="${serverOrigin}/sdk/winback.js" data-key="${store.publicKey}"\n        data-endpoint="${serverOrigin}"></script>`;
  return [
    { id: 'script', label: 'Script tag', text: tag },
    {
      id: 'shopify',
      label: 'Shopify theme',
      text: `{% comment %} layout/theme.liquid, just before </head> {% endcomment %}\n${tag}`,
    },
    {
      id: 'woocommerce',
      label: 'WooCommerce',
      text: `<?php // your theme's functions.php, or a small plugin\nadd_action('wp_head', function () {\n  echo '${tag.replace(/\n\s*/g, ' ')}';\n});`,
    },
    {
      id: 'npm',
      label: 'npm',
      text: `npm i @winback/sdk\n\nimport { init } from '@winback/sdk';\ninit({ key: '${store.publicKey}', endpoint: '${serverOrigin}' });`,
    },
  ] as const;
}

function Install({ store }: { store: Store }) {
  const all = snippets(store, location.origin);
  const [shown, setShown] = useState<(typeof all)[number]['id']>('script');
  const current = all.find((item) => item.id === shown) ?? all[0];
  return (
    <section aria-labelledby="install-heading">
      <h2 id="install-heading">Install on the storefront</h2>
      <div class="tabs" role="tablist" aria-label="Platform">
        {all.map((item) => (
          <button
            type="button"
            role="tab"
            key={item.id}
            aria-selected={item.id === shown}
            onClick={() => setShown(item.id)}
          >
            {item.label}
          </button>
        ))}
      </div>
      <pre class="snippet" role="tabpanel" aria-label={current.label}>
        <code>{current.text}</code>
      </pre>
      <CopyButton text={current.text} label={`Copy ${current.label.toLowerCase()} snippet`} />
    </section>
  );
}

function Keys({ store, onChange }: { store: Store; onChange: (store: Store) => void }) {
  const [secret, setSecret] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const rotateKey = async () => {
    if (
      !confirm('Replace the storefront key? Pages with the old key stop reporting until updated.')
    )
      return;
    setBusy(true);
    setProblem(null);
    try {
      const { publicKey } = await post<{ publicKey: string }>('/admin/api/store/public-key');
      onChange({ ...store, publicKey });
    } catch (error) {
      setProblem(describeError(error));
    } finally {
      setBusy(false);
    }
  };
  const rotateSecret = async () => {
    if (!confirm('Replace the admin secret? Every other admin session is signed out.')) return;
    setBusy(true);
    setProblem(null);
    try {
      const { adminSecret } = await post<{ adminSecret: string }>('/admin/api/store/admin-secret');
      setSecret(adminSecret);
    } catch (error) {
      setProblem(describeError(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">Keys</h2>
      <dl class="facts">
        <div>
          <dt>Store id</dt>
          <dd>
            <code>{store.id}</code>
          </dd>
        </div>
        <div>
          <dt>Storefront key</dt>
          <dd>
            <code class="public-key">{store.publicKey}</code>
          </dd>
        </div>
      </dl>
      <div class="actions">
        <button type="button" onClick={rotateKey} disabled={busy}>
          Rotate storefront key
        </button>
        <button type="button" onClick={rotateSecret} disabled={busy}>
          Rotate admin secret
        </button>
      </div>
      {secret && (
        <div class="state ok new-secret" role="status">
          <p>
            The new admin secret, shown this once: <code>{secret}</code>
          </p>
          <CopyButton text={secret} label="Copy secret" />
        </div>
      )}
      {problem && (
        <p class="state error" role="alert">
          {problem}
        </p>
      )}
    </section>
  );
}

/** The overlays' own wording per language, with the store's overrides over it. */
function Wording({
  texts,
  onChange,
}: {
  texts: Onsite['texts'];
  onChange: (texts: Onsite['texts']) => void;
}) {
  const [loaded, reload] = useLoad(
    () => get<OverlayTextDefaults>('/admin/api/store/overlay-texts'),
    [],
  );
  const [locale, setLocale] = useState('en');
  const setText = (key: string, value: string) => {
    const own = { ...texts[locale] };
    if (value) own[key] = value;
    else delete own[key];
    const next = { ...texts };
    if (Object.keys(own).length > 0) next[locale] = own;
    else delete next[locale];
    onChange(next);
  };
  return (
    <Show loaded={loaded} what="the overlay wording" retry={reload}>
      {(defaults) => (
        <>
          <label class="inline">
            Language{' '}
            <select
              name="texts-locale"
              value={locale}
              onChange={(e) => setLocale(e.currentTarget.value)}
            >
              {defaults.locales.map((item) => (
                <option key={item} value={item}>
                  {item}
                </option>
              ))}
            </select>
          </label>
          <div class="grid">
            {defaults.keys.map((key) => (
              <label key={`${locale}-${key}`}>
                <span>
                  <code>{key}</code>
                </span>
                <input
                  name={`text-${locale}-${key}`}
                  maxLength={500}
                  placeholder={defaults.defaults[locale]?.[key] ?? ''}
                  value={texts[locale]?.[key] ?? ''}
                  onInput={(e) => setText(key, e.currentTarget.value)}
                />
              </label>
            ))}
          </div>
        </>
      )}
    </Show>
  );
}

function SettingsForm({ store, onSaved }: { store: Store; onSaved: (store: Store) => void }) {
  const [draft, setDraft] = useState(() => toDraft(store));
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [problems, setProblems] = useState<Problems>({});
  const [busy, setBusy] = useState(false);
  const onsite = draft.onsite;
  const offer = onsite.offer;
  const setOnsite = (next: Partial<Onsite>) =>
    setDraft({ ...draft, onsite: { ...onsite, ...next } });
  const setModal = (next: Partial<Onsite['exitModal']>) =>
    setOnsite({ exitModal: { ...onsite.exitModal, ...next } });
  const setOffer = (next: Partial<Offer>) => offer && setOnsite({ offer: { ...offer, ...next } });
  const setTheme = <K extends keyof Onsite['theme']>(key: K, value: Onsite['theme'][K] | '') => {
    const theme = { ...onsite.theme };
    if (value === '' || value === undefined) delete theme[key];
    else theme[key] = value;
    setOnsite({ theme });
  };
  const consent = onsite.consent;

  const save = async (event: Event) => {
    event.preventDefault();
    setMessage(null);
    const checked = fromDraft(draft);
    if ('problems' in checked) {
      setProblems(checked.problems);
      setMessage({ ok: false, text: 'Some settings need a fix: see the marked fields.' });
      return;
    }
    setBusy(true);
    setProblems({});
    try {
      const saved = await patch<Store>('/admin/api/store', checked.body);
      setDraft(toDraft(saved));
      onSaved(saved);
      setMessage({ ok: true, text: 'Settings saved.' });
    } catch (error) {
      const found =
        error instanceof ApiError && error.status === 400
          ? fieldProblems(error.message, fieldPaths)
          : null;
      if (found && Object.keys(found.fields).length > 0) {
        setProblems(found.fields);
        const more = found.rest.length > 0 ? ` Also: ${found.rest.join('; ')}` : '';
        setMessage({ ok: false, text: `Not saved: see the marked fields.${more}` });
      } else {
        setMessage({ ok: false, text: describeError(error) });
      }
    } finally {
      setBusy(false);
    }
  };
  const number = (value: string) => (value === '' ? Number.NaN : Number(value));
  const field = (path: string) => invalid(problems, path);

  return (
    <form onSubmit={save} aria-labelledby="settings-heading" noValidate>
      <h2 id="settings-heading">Store and recovery</h2>
      <div class="grid">
        <Field label="Store name" path="name" problems={problems}>
          <input
            name="name"
            required
            value={draft.name}
            onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
            {...field('name')}
          />
        </Field>
        <Field
          label="Allowed storefront origins (one per line)"
          path="allowedOrigins"
          problems={problems}
        >
          <textarea
            name="allowedOrigins"
            rows={3}
            value={draft.allowedOrigins}
            onInput={(e) => setDraft({ ...draft, allowedOrigins: e.currentTarget.value })}
            {...field('allowedOrigins')}
          />
        </Field>
        <Field
          label="Postal address (required in every email)"
          path="postalAddress"
          problems={problems}
        >
          <textarea
            name="postalAddress"
            rows={3}
            value={draft.postalAddress}
            onInput={(e) => setDraft({ ...draft, postalAddress: e.currentTarget.value })}
            {...field('postalAddress')}
          />
        </Field>
        <Field
          label="Idle threshold (minutes before a cart counts as abandoned)"
          path="settings.idleThresholdMinutes"
          problems={problems}
        >
          <input
            name="idleThresholdMinutes"
            type="number"
            min={1}
            max={10080}
            required
            value={draft.idleThresholdMinutes}
            onInput={(e) =>
              setDraft({ ...draft, idleThresholdMinutes: number(e.currentTarget.value) })
            }
            {...field('settings.idleThresholdMinutes')}
          />
        </Field>
        <Field
          label="Attribution window (days)"
          path="settings.attributionWindowDays"
          problems={problems}
        >
          <input
            name="attributionWindowDays"
            type="number"
            min={1}
            max={90}
            required
            value={draft.attributionWindowDays}
            onInput={(e) =>
              setDraft({ ...draft, attributionWindowDays: number(e.currentTarget.value) })
            }
            {...field('settings.attributionWindowDays')}
          />
        </Field>
        <Field
          label="Email frequency cap (hours)"
          hint="At most one recovery email per shopper in this many hours, across carts; 0: no cap."
          path="settings.frequencyCapHours.email"
          problems={problems}
        >
          <input
            name="emailCapHours"
            type="number"
            min={0}
            max={720}
            required
            value={draft.frequencyCapHours.email}
            onInput={(e) =>
              setDraft({
                ...draft,
                frequencyCapHours: {
                  ...draft.frequencyCapHours,
                  email: number(e.currentTarget.value),
                },
              })
            }
            {...field('settings.frequencyCapHours.email')}
          />
        </Field>
        <Field label="Time zone" path="settings.timezone" problems={problems}>
          <input
            name="timezone"
            required
            value={draft.timezone}
            onInput={(e) => setDraft({ ...draft, timezone: e.currentTarget.value })}
            {...field('settings.timezone')}
          />
        </Field>
        <Field label="Quiet hours start" path="settings.quietHours.start" problems={problems}>
          <input
            name="quietStart"
            type="time"
            required
            value={draft.quietStart}
            onInput={(e) => setDraft({ ...draft, quietStart: e.currentTarget.value })}
            {...field('settings.quietHours.start')}
          />
        </Field>
        <Field label="Quiet hours end" path="settings.quietHours.end" problems={problems}>
          <input
            name="quietEnd"
            type="time"
            required
            value={draft.quietEnd}
            onInput={(e) => setDraft({ ...draft, quietEnd: e.currentTarget.value })}
            {...field('settings.quietHours.end')}
          />
        </Field>
      </div>
      <fieldset>
        <legend>Sender</legend>
        <div class="grid">
          <Field
            label="From name"
            hint="Empty: the server's sender name."
            path="settings.sender.name"
            problems={problems}
          >
            <input
              name="senderName"
              maxLength={100}
              value={draft.senderName}
              onInput={(e) => setDraft({ ...draft, senderName: e.currentTarget.value })}
              {...field('settings.sender.name')}
            />
          </Field>
          <Field
            label="Your email address"
            hint="Replies from shoppers go here, and so do test sends of templates."
            path="settings.sender.replyTo"
            problems={problems}
          >
            <input
              name="replyTo"
              type="email"
              autocomplete="email"
              value={draft.replyTo}
              onInput={(e) => setDraft({ ...draft, replyTo: e.currentTarget.value })}
              {...field('settings.sender.replyTo')}
            />
          </Field>
        </div>
      </fieldset>
      <fieldset>
        <legend>Recovery links</legend>
        <div class="grid">
          <Field
            label="Store URL"
            hint="Where recovery links lead. Empty: the first allowed origin."
            path="settings.storeUrl"
            problems={problems}
          >
            <input
              name="storeUrl"
              type="url"
              placeholder="https://shop.example"
              value={draft.storeUrl}
              onInput={(e) => setDraft({ ...draft, storeUrl: e.currentTarget.value })}
              {...field('settings.storeUrl')}
            />
          </Field>
          <Field label="Cart restore" path="settings.cartRestore" problems={problems}>
            <select
              name="restoreKind"
              value={draft.restoreKind}
              onChange={(e) =>
                setDraft({ ...draft, restoreKind: e.currentTarget.value as RestoreKind })
              }
            >
              <option value="none">The cart page</option>
              <option value="shopify">Shopify cart permalink</option>
              <option value="template">A link of my own</option>
            </select>
          </Field>
          {draft.restoreKind === 'template' && (
            <Field
              label="Restore link"
              hint="On the store's own origin; {cart_id}, {discount} and {lines} are filled in."
              path="settings.cartRestore.url"
              problems={problems}
            >
              <input
                name="restoreUrl"
                placeholder="https://shop.example/cart/restore?id={cart_id}&code={discount}"
                value={draft.restoreUrl}
                onInput={(e) => setDraft({ ...draft, restoreUrl: e.currentTarget.value })}
                {...field('settings.cartRestore.url')}
              />
            </Field>
          )}
        </div>
      </fieldset>
      <fieldset>
        <legend>On-site overlays</legend>
        <div class="grid">
          <label class="inline">
            <input
              type="checkbox"
              name="exitModal"
              checked={onsite.exitModal.enabled}
              onChange={(e) => setModal({ enabled: e.currentTarget.checked })}
            />{' '}
            Exit-intent modal
          </label>
          <Field
            label="Least risk for the modal (0–1)"
            path="settings.onsite.exitModal.minRisk"
            problems={problems}
          >
            <input
              name="minRisk"
              type="number"
              min={0}
              max={1}
              step={0.05}
              value={onsite.exitModal.minRisk}
              onInput={(e) => setModal({ minRisk: number(e.currentTarget.value) })}
              {...field('settings.onsite.exitModal.minRisk')}
            />
          </Field>
          <label class="inline">
            <input
              type="checkbox"
              checked={onsite.exitModal.captureEmail}
              onChange={(e) => setModal({ captureEmail: e.currentTarget.checked })}
            />{' '}
            Ask for an email
          </label>
          <label class="inline">
            <input
              type="checkbox"
              checked={onsite.exitModal.askReason}
              onChange={(e) => setModal({ askReason: e.currentTarget.checked })}
            />{' '}
            Ask why the shopper leaves
          </label>
          <label class="inline">
            <input
              type="checkbox"
              name="returnSlideIn"
              checked={onsite.returnSlideIn.enabled}
              onChange={(e) => setOnsite({ returnSlideIn: { enabled: e.currentTarget.checked } })}
            />{' '}
            “Your cart is saved” slide-in
          </label>
          <Field
            label="Days away after a dismissal"
            path="settings.onsite.dismissCooldownDays"
            problems={problems}
          >
            <input
              type="number"
              min={0}
              max={365}
              value={onsite.dismissCooldownDays}
              onInput={(e) => setOnsite({ dismissCooldownDays: number(e.currentTarget.value) })}
              {...field('settings.onsite.dismissCooldownDays')}
            />
          </Field>
          <Field
            label="Pages to show on (one pattern per line)"
            path="settings.onsite.pages.include"
            problems={problems}
          >
            <textarea
              rows={2}
              value={onsite.pages.include.join('\n')}
              onInput={(e) =>
                setOnsite({ pages: { ...onsite.pages, include: lines(e.currentTarget.value) } })
              }
              {...field('settings.onsite.pages.include')}
            />
          </Field>
          <Field
            label="Pages never to show on"
            path="settings.onsite.pages.exclude"
            problems={problems}
          >
            <textarea
              rows={3}
              value={onsite.pages.exclude.join('\n')}
              onInput={(e) =>
                setOnsite({ pages: { ...onsite.pages, exclude: lines(e.currentTarget.value) } })
              }
              {...field('settings.onsite.pages.exclude')}
            />
          </Field>
          {(['primary', 'background', 'text'] as const).map((key) => (
            <Field
              key={key}
              label={`Theme ${key} colour (hex, empty: default)`}
              path={`settings.onsite.theme.${key}`}
              problems={problems}
            >
              <input
                name={`theme-${key}`}
                placeholder="#1f2937"
                value={String(onsite.theme[key] ?? '')}
                onInput={(e) => setTheme(key, e.currentTarget.value.trim())}
                {...field(`settings.onsite.theme.${key}`)}
              />
            </Field>
          ))}
          <Field
            label="Font (empty: the page's)"
            path="settings.onsite.theme.fontFamily"
            problems={problems}
          >
            <input
              name="theme-fontFamily"
              placeholder="Inter, Arial, sans-serif"
              value={onsite.theme.fontFamily ?? ''}
              onInput={(e) => setTheme('fontFamily', e.currentTarget.value.trim())}
              {...field('settings.onsite.theme.fontFamily')}
            />
          </Field>
          <Field
            label="Corner radius (px, empty: default)"
            path="settings.onsite.theme.radius"
            problems={problems}
          >
            <input
              name="theme-radius"
              type="number"
              min={0}
              max={32}
              value={onsite.theme.radius ?? ''}
              onInput={(e) =>
                setTheme(
                  'radius',
                  e.currentTarget.value === '' ? '' : number(e.currentTarget.value),
                )
              }
              {...field('settings.onsite.theme.radius')}
            />
          </Field>
          <Field
            label="Logo URL (https, empty: none)"
            path="settings.onsite.theme.logoUrl"
            problems={problems}
          >
            <input
              name="theme-logoUrl"
              type="url"
              placeholder="https://shop.example/logo.svg"
              value={onsite.theme.logoUrl ?? ''}
              onInput={(e) => setTheme('logoUrl', e.currentTarget.value.trim())}
              {...field('settings.onsite.theme.logoUrl')}
            />
          </Field>
        </div>
      </fieldset>
      <fieldset>
        <legend>On-site discount offer</legend>
        <label class="inline">
          <input
            type="checkbox"
            name="offerEnabled"
            checked={offer !== null}
            onChange={(e) => setOnsite({ offer: e.currentTarget.checked ? firstOffer : null })}
          />{' '}
          Offer a discount code in the exit modal
        </label>
        {offer && (
          <div class="grid">
            <Field label="Discount" path="settings.onsite.offer.discount" problems={problems}>
              <select
                name="offerKind"
                value={offer.discount.kind}
                onChange={(e) => {
                  const kind = e.currentTarget.value as DiscountPolicy['kind'];
                  setOffer({
                    discount: {
                      ...offer.discount,
                      kind,
                      value: kind === 'free_shipping' ? 0 : kind === 'percent' ? 10 : 500,
                    },
                  });
                }}
              >
                <option value="percent">Percent off</option>
                <option value="fixed">Amount off (minor units)</option>
                <option value="free_shipping">Free shipping</option>
              </select>
            </Field>
            {offer.discount.kind !== 'free_shipping' && (
              <Field
                label={offer.discount.kind === 'percent' ? 'Percent' : 'Amount (minor units)'}
                path="settings.onsite.offer.discount.value"
                problems={problems}
              >
                <input
                  name="offerValue"
                  type="number"
                  min={1}
                  value={offer.discount.value}
                  onInput={(e) =>
                    setOffer({
                      discount: { ...offer.discount, value: number(e.currentTarget.value) },
                    })
                  }
                  {...field('settings.onsite.offer.discount.value')}
                />
              </Field>
            )}
            <Field
              label="Code valid for (hours)"
              path="settings.onsite.offer.discount.validHours"
              problems={problems}
            >
              <input
                name="offerValidHours"
                type="number"
                min={1}
                max={720}
                value={offer.discount.validHours}
                onInput={(e) =>
                  setOffer({
                    discount: { ...offer.discount, validHours: number(e.currentTarget.value) },
                  })
                }
                {...field('settings.onsite.offer.discount.validHours')}
              />
            </Field>
            <Field
              label="Least risk for an offer (0–1)"
              path="settings.onsite.offer.minRisk"
              problems={problems}
            >
              <input
                name="offerMinRisk"
                type="number"
                min={0}
                max={1}
                step={0.05}
                value={offer.minRisk}
                onInput={(e) => setOffer({ minRisk: number(e.currentTarget.value) })}
                {...field('settings.onsite.offer.minRisk')}
              />
            </Field>
            <Field
              label="Least cart value for an offer"
              path="settings.onsite.offer.minValueMinor"
              problems={problems}
            >
              <input
                name="offerMinValue"
                inputMode="decimal"
                placeholder="0"
                value={draft.offerMinValue}
                onInput={(e) => setDraft({ ...draft, offerMinValue: e.currentTarget.value })}
                {...field('settings.onsite.offer.minValueMinor')}
              />
            </Field>
            <Field
              label="Most codes a day"
              hint="Stops a script from collecting codes."
              path="settings.onsite.offer.maxPerDay"
              problems={problems}
            >
              <input
                name="offerMaxPerDay"
                type="number"
                min={1}
                value={offer.maxPerDay}
                onInput={(e) => setOffer({ maxPerDay: number(e.currentTarget.value) })}
                {...field('settings.onsite.offer.maxPerDay')}
              />
            </Field>
          </div>
        )}
      </fieldset>
      <fieldset>
        <legend>Consent wording</legend>
        <label class="inline">
          <input
            type="checkbox"
            name="consentOwn"
            checked={consent !== null}
            onChange={(e) =>
              setOnsite({
                consent: e.currentTarget.checked ? { text: '', version: 'v1' } : null,
              })
            }
          />{' '}
          Use my own wording beside the capture form's checkbox (otherwise the built-in wording of
          each language)
        </label>
        {consent && (
          <div class="grid">
            <Field label="Consent text" path="settings.onsite.consent.text" problems={problems}>
              <textarea
                name="consentText"
                rows={3}
                maxLength={1000}
                value={consent.text}
                onInput={(e) => setOnsite({ consent: { ...consent, text: e.currentTarget.value } })}
                {...field('settings.onsite.consent.text')}
              />
            </Field>
            <Field
              label="Consent version"
              hint="Recorded with every consent given; change it whenever the text changes."
              path="settings.onsite.consent.version"
              problems={problems}
            >
              <input
                name="consentVersion"
                maxLength={64}
                value={consent.version}
                onInput={(e) =>
                  setOnsite({ consent: { ...consent, version: e.currentTarget.value } })
                }
                {...field('settings.onsite.consent.version')}
              />
            </Field>
          </div>
        )}
      </fieldset>
      <details class="wording" data-field="settings.onsite.texts">
        <summary>Overlay wording</summary>
        <p class="muted">Empty fields keep the built-in text shown in them.</p>
        {problems['settings.onsite.texts'] && (
          <p class="field-error">{problems['settings.onsite.texts']}</p>
        )}
        <Wording texts={onsite.texts} onChange={(texts) => setOnsite({ texts })} />
      </details>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save settings'}
      </button>
      {message && (
        <p class={`state ${message.ok ? 'ok' : 'error'}`} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      )}
    </form>
  );
}

export function Settings() {
  const [loaded, reload, set] = useLoad(() => get<Store>('/admin/api/store'), []);
  return (
    <>
      <h1 tabIndex={-1}>Settings</h1>
      <Show loaded={loaded} what="the settings" retry={reload}>
        {(store) => (
          <>
            <Keys store={store} onChange={set} />
            <Install store={store} />
            <SettingsForm store={store} onSaved={set} />
          </>
        )}
      </Show>
    </>
  );
}
