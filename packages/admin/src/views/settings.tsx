import { useState } from 'preact/hooks';
import { describeError, get, patch, post, type Store } from '../api.js';
import { CopyButton, Show, useLoad } from '../components.js';

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
  theme: { primary?: string; background?: string; text?: string; [key: string]: unknown };
  [key: string]: unknown;
}

interface Draft {
  name: string;
  allowedOrigins: string;
  postalAddress: string;
  idleThresholdMinutes: number;
  attributionWindowDays: number;
  quietStart: string;
  quietEnd: string;
  timezone: string;
  onsite: Onsite;
}

function toDraft(store: Store): Draft {
  const settings = store.settings as {
    idleThresholdMinutes: number;
    attributionWindowDays: number;
    quietHours: { start: string; end: string };
    timezone: string;
    onsite: Onsite;
  };
  return {
    name: store.name,
    allowedOrigins: store.allowedOrigins.join('\n'),
    postalAddress: store.postalAddress ?? '',
    idleThresholdMinutes: settings.idleThresholdMinutes,
    attributionWindowDays: settings.attributionWindowDays,
    quietStart: settings.quietHours.start,
    quietEnd: settings.quietHours.end,
    timezone: settings.timezone,
    onsite: settings.onsite,
  };
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

function SettingsForm({ store, onSaved }: { store: Store; onSaved: (store: Store) => void }) {
  const [draft, setDraft] = useState(() => toDraft(store));
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const onsite = draft.onsite;
  const setOnsite = (next: Partial<Onsite>) =>
    setDraft({ ...draft, onsite: { ...onsite, ...next } });
  const setModal = (next: Partial<Onsite['exitModal']>) =>
    setOnsite({ exitModal: { ...onsite.exitModal, ...next } });
  const setTheme = (key: 'primary' | 'background' | 'text', value: string) => {
    const theme = { ...onsite.theme };
    if (value) theme[key] = value;
    else delete theme[key];
    setOnsite({ theme });
  };

  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      const saved = await patch<Store>('/admin/api/store', {
        name: draft.name,
        allowedOrigins: lines(draft.allowedOrigins),
        postalAddress: draft.postalAddress.trim() || null,
        settings: {
          idleThresholdMinutes: draft.idleThresholdMinutes,
          attributionWindowDays: draft.attributionWindowDays,
          quietHours: { start: draft.quietStart, end: draft.quietEnd },
          timezone: draft.timezone,
          onsite: draft.onsite,
        },
      });
      setDraft(toDraft(saved));
      onSaved(saved);
      setMessage({ ok: true, text: 'Settings saved.' });
    } catch (error) {
      setMessage({ ok: false, text: describeError(error) });
    } finally {
      setBusy(false);
    }
  };
  const number = (value: string) => (value === '' ? Number.NaN : Number(value));

  return (
    <form onSubmit={save} aria-labelledby="settings-heading">
      <h2 id="settings-heading">Store and recovery</h2>
      <div class="grid">
        <label>
          Store name
          <input
            name="name"
            required
            value={draft.name}
            onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
          />
        </label>
        <label>
          Allowed storefront origins (one per line)
          <textarea
            name="allowedOrigins"
            rows={3}
            value={draft.allowedOrigins}
            onInput={(e) => setDraft({ ...draft, allowedOrigins: e.currentTarget.value })}
          />
        </label>
        <label>
          Postal address (required in every email)
          <textarea
            name="postalAddress"
            rows={3}
            value={draft.postalAddress}
            onInput={(e) => setDraft({ ...draft, postalAddress: e.currentTarget.value })}
          />
        </label>
        <label>
          Idle threshold (minutes before a cart counts as abandoned)
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
          />
        </label>
        <label>
          Attribution window (days)
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
          />
        </label>
        <label>
          Time zone
          <input
            name="timezone"
            required
            value={draft.timezone}
            onInput={(e) => setDraft({ ...draft, timezone: e.currentTarget.value })}
          />
        </label>
        <label>
          Quiet hours start
          <input
            name="quietStart"
            type="time"
            required
            value={draft.quietStart}
            onInput={(e) => setDraft({ ...draft, quietStart: e.currentTarget.value })}
          />
        </label>
        <label>
          Quiet hours end
          <input
            name="quietEnd"
            type="time"
            required
            value={draft.quietEnd}
            onInput={(e) => setDraft({ ...draft, quietEnd: e.currentTarget.value })}
          />
        </label>
      </div>
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
          <label>
            Least risk for the modal (0–1)
            <input
              name="minRisk"
              type="number"
              min={0}
              max={1}
              step={0.05}
              value={onsite.exitModal.minRisk}
              onInput={(e) => setModal({ minRisk: number(e.currentTarget.value) })}
            />
          </label>
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
          <label>
            Days away after a dismissal
            <input
              type="number"
              min={0}
              max={365}
              value={onsite.dismissCooldownDays}
              onInput={(e) => setOnsite({ dismissCooldownDays: number(e.currentTarget.value) })}
            />
          </label>
          <label>
            Pages to show on (one pattern per line)
            <textarea
              rows={2}
              value={onsite.pages.include.join('\n')}
              onInput={(e) =>
                setOnsite({ pages: { ...onsite.pages, include: lines(e.currentTarget.value) } })
              }
            />
          </label>
          <label>
            Pages never to show on
            <textarea
              rows={3}
              value={onsite.pages.exclude.join('\n')}
              onInput={(e) =>
                setOnsite({ pages: { ...onsite.pages, exclude: lines(e.currentTarget.value) } })
              }
            />
          </label>
          {(['primary', 'background', 'text'] as const).map((key) => (
            <label key={key}>
              Theme {key} colour (hex, empty: default)
              <input
                name={`theme-${key}`}
                placeholder="#1f2937"
                pattern="#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}"
                value={String(onsite.theme[key] ?? '')}
                onInput={(e) => setTheme(key, e.currentTarget.value.trim())}
              />
            </label>
          ))}
        </div>
      </fieldset>
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
