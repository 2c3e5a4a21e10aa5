import { useState } from 'preact/hooks';
import {
  type Campaign,
  type CampaignStep,
  describeError,
  get,
  patch,
  post,
  type RenderedEmail,
  type Templates,
  type TriggerFilters,
} from '../api.js';
import { Badge, EmailFrame, Empty, Loading, Show, useLoad } from '../components.js';
import { formatDateTime, formatDelay, formatMinor, parseAmountToMinor } from '../format.js';

export function Campaigns() {
  const [loaded, reload, set] = useLoad(
    () => get<{ campaigns: Campaign[] }>('/admin/api/campaigns'),
    [],
  );
  const [problem, setProblem] = useState<string | null>(null);
  const setStatus = async (campaign: Campaign, status: 'active' | 'paused') => {
    setProblem(null);
    try {
      const updated = await patch<Campaign>(`/admin/api/campaigns/${campaign.id}`, { status });
      if (loaded.state === 'ready') {
        set({
          campaigns: loaded.value.campaigns.map((item) =>
            item.id === updated.id ? updated : item,
          ),
        });
      }
    } catch (error) {
      setProblem(describeError(error));
    }
  };
  return (
    <>
      <div class="row">
        <h1 tabIndex={-1}>Campaigns</h1>
        <a class="button primary" href="#/campaigns/new">
          New campaign
        </a>
      </div>
      {problem && (
        <p class="state error" role="alert">
          {problem}
        </p>
      )}
      <Show loaded={loaded} what="campaigns" retry={reload}>
        {({ campaigns }) =>
          campaigns.length === 0 ? (
            <Empty>No campaigns yet. Create one to start recovering carts.</Empty>
          ) : (
            <div class="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="number">
                      Priority
                    </th>
                    <th scope="col">Steps</th>
                    <th scope="col">Updated</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {campaigns.map((campaign) => (
                    <tr key={campaign.id} data-campaign={campaign.id}>
                      <td>
                        <a href={`#/campaigns/${campaign.id}`}>{campaign.name}</a>
                      </td>
                      <td>
                        <Badge value={campaign.status} />
                      </td>
                      <td class="number">{campaign.priority}</td>
                      <td>
                        {campaign.steps.map((step) => formatDelay(step.delayMinutes)).join(', ')}
                      </td>
                      <td>{formatDateTime(campaign.updatedAt)}</td>
                      <td>
                        {campaign.status === 'active' ? (
                          <button type="button" onClick={() => setStatus(campaign, 'paused')}>
                            Pause <span class="visually-hidden">{campaign.name}</span>
                          </button>
                        ) : (
                          <button type="button" onClick={() => setStatus(campaign, 'active')}>
                            {campaign.status === 'draft' ? 'Activate' : 'Resume'}{' '}
                            <span class="visually-hidden">{campaign.name}</span>
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
    </>
  );
}

/** A campaign as its form holds it: amounts and lists as the merchant types them. */
interface Draft {
  name: string;
  status: Campaign['status'];
  priority: string;
  minValue: string;
  maxValue: string;
  shopper: '' | 'new' | 'returning';
  devices: NonNullable<TriggerFilters['devices']>;
  countries: string;
  utmSources: string;
  currencies: string;
  steps: CampaignStep[];
}

const devices = ['desktop', 'mobile', 'tablet', 'unknown'] as const;

const list = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

function toDraft(campaign: Campaign | null): Draft {
  const filters = campaign?.triggerFilters ?? {};
  return {
    name: campaign?.name ?? '',
    status: campaign?.status ?? 'draft',
    priority: String(campaign?.priority ?? 0),
    minValue: filters.minValueMinor !== undefined ? formatMinor(filters.minValueMinor) : '',
    maxValue: filters.maxValueMinor !== undefined ? formatMinor(filters.maxValueMinor) : '',
    shopper: filters.shopper ?? '',
    devices: filters.devices ?? [],
    countries: (filters.countries ?? []).join(', '),
    utmSources: (filters.utmSources ?? []).join(', '),
    currencies: (filters.currencies ?? []).join(', '),
    steps: campaign?.steps ?? [{ delayMinutes: 60, channel: 'email', template: 'reminder' }],
  };
}

/** The API's body for a draft, or what is wrong with it. */
function fromDraft(draft: Draft): Record<string, unknown> | string {
  const filters: TriggerFilters = {};
  for (const [key, text, label] of [
    ['minValueMinor', draft.minValue, 'Least cart value'],
    ['maxValueMinor', draft.maxValue, 'Most cart value'],
  ] as const) {
    if (!text.trim()) continue;
    const minor = parseAmountToMinor(text);
    if (minor === null) return `${label}: enter an amount such as 25 or 25.50.`;
    filters[key] = minor;
  }
  if (draft.shopper) filters.shopper = draft.shopper;
  if (draft.devices.length) filters.devices = draft.devices;
  if (list(draft.countries).length)
    filters.countries = list(draft.countries).map((c) => c.toUpperCase());
  if (list(draft.utmSources).length) filters.utmSources = list(draft.utmSources);
  if (list(draft.currencies).length)
    filters.currencies = list(draft.currencies).map((c) => c.toUpperCase());
  const priority = Number(draft.priority);
  if (!Number.isInteger(priority)) return 'Priority: enter a whole number.';
  return {
    name: draft.name.trim(),
    status: draft.status,
    priority,
    triggerFilters: filters,
    steps: draft.steps,
  };
}

function StepEditor({
  step,
  index,
  templates,
  onChange,
  onRemove,
}: {
  step: CampaignStep;
  index: number;
  templates: Templates;
  onChange: (step: CampaignStep) => void;
  onRemove?: () => void;
}) {
  const discount = step.discount;
  const setDiscountKind = (kind: string) => {
    if (!kind) {
      const { discount: _dropped, ...rest } = step;
      onChange(rest);
      return;
    }
    onChange({
      ...step,
      discount: {
        kind: kind as 'percent' | 'fixed' | 'free_shipping',
        value: kind === 'free_shipping' ? 0 : kind === 'percent' ? 10 : 500,
        validHours: discount?.validHours ?? 48,
      },
    });
  };
  return (
    <fieldset class="step" data-step={index}>
      <legend>Step {index + 1}</legend>
      <label>
        Delay after abandonment (minutes)
        <input
          name={`step-${index}-delay`}
          type="number"
          min={0}
          max={43200}
          value={step.delayMinutes}
          onInput={(e) => onChange({ ...step, delayMinutes: Number(e.currentTarget.value) })}
        />
        <span class="muted">{formatDelay(step.delayMinutes)}</span>
      </label>
      <label>
        Channel
        <select
          name={`step-${index}-channel`}
          value={step.channel}
          onChange={(e) =>
            onChange({ ...step, channel: e.currentTarget.value as CampaignStep['channel'] })
          }
        >
          <option value="email">Email</option>
          <option value="sms">SMS (not sent yet)</option>
          <option value="push">Web push (not sent yet)</option>
        </select>
      </label>
      <label>
        Template
        <select
          name={`step-${index}-template`}
          value={step.template}
          onChange={(e) => onChange({ ...step, template: e.currentTarget.value })}
        >
          <optgroup label="Built in">
            {templates.builtIn.map((template) => (
              <option key={template.key} value={template.key}>
                {template.key}
              </option>
            ))}
          </optgroup>
          {templates.templates.length > 0 && (
            <optgroup label="This store's">
              {templates.templates.map((template) => (
                <option key={template.id} value={template.id}>
                  {template.name}
                </option>
              ))}
            </optgroup>
          )}
        </select>
      </label>
      <label>
        Discount
        <select
          name={`step-${index}-discount`}
          value={discount?.kind ?? ''}
          onChange={(e) => setDiscountKind(e.currentTarget.value)}
        >
          <option value="">None</option>
          <option value="percent">Percent off</option>
          <option value="fixed">Amount off (minor units)</option>
          <option value="free_shipping">Free shipping</option>
        </select>
      </label>
      {discount && discount.kind !== 'free_shipping' && (
        <label>
          {discount.kind === 'percent' ? 'Percent' : 'Amount (minor units)'}
          <input
            name={`step-${index}-discount-value`}
            type="number"
            min={1}
            value={discount.value}
            onInput={(e) =>
              onChange({ ...step, discount: { ...discount, value: Number(e.currentTarget.value) } })
            }
          />
        </label>
      )}
      {discount && (
        <label>
          Code valid for (hours)
          <input
            name={`step-${index}-discount-hours`}
            type="number"
            min={1}
            max={720}
            value={discount.validHours}
            onInput={(e) =>
              onChange({
                ...step,
                discount: { ...discount, validHours: Number(e.currentTarget.value) },
              })
            }
          />
        </label>
      )}
      {onRemove && (
        <button type="button" onClick={onRemove}>
          Remove step {index + 1}
        </button>
      )}
    </fieldset>
  );
}

function StepPreview({ campaignId, steps }: { campaignId: string; steps: number }) {
  const [step, setStep] = useState(0);
  const [preview, setPreview] = useState<
    { state: 'idle' } | { state: 'loading' } | { state: 'error'; error: unknown } | RenderedEmail
  >({ state: 'idle' });
  const show = async () => {
    setPreview({ state: 'loading' });
    try {
      setPreview(await post<RenderedEmail>(`/admin/api/campaigns/${campaignId}/preview`, { step }));
    } catch (error) {
      setPreview({ state: 'error', error });
    }
  };
  return (
    <section aria-labelledby="preview-heading" class="preview">
      <h2 id="preview-heading">Preview (as saved)</h2>
      <div class="toolbar">
        <label class="inline">
          Step{' '}
          <select value={step} onChange={(e) => setStep(Number(e.currentTarget.value))}>
            {Array.from({ length: steps }, (_, index) => (
              <option key={index} value={index}>
                {index + 1}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={show}>
          Show preview
        </button>
      </div>
      {'subject' in preview ? (
        <>
          <p>
            <strong>Subject:</strong> <span class="subject">{preview.subject}</span>{' '}
            <span class="muted">
              {preview.cart.externalId
                ? `for cart ${preview.cart.externalId}`
                : 'for a sample cart'}
            </span>
          </p>
          <EmailFrame html={preview.html} title={`Preview of step ${step + 1}`} />
        </>
      ) : preview.state === 'loading' ? (
        <Loading what="the preview" />
      ) : preview.state === 'error' ? (
        <p class="state error" role="alert">
          {describeError(preview.error)}
        </p>
      ) : (
        <Empty>Pick a step and show its email, rendered for the store's most recent cart.</Empty>
      )}
    </section>
  );
}

function EditorForm({ campaign, templates }: { campaign: Campaign | null; templates: Templates }) {
  const [draft, setDraft] = useState<Draft>(() => toDraft(campaign));
  const [saved, setSaved] = useState<Campaign | null>(campaign);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const setStep = (index: number, step: CampaignStep) =>
    setDraft({ ...draft, steps: draft.steps.map((item, i) => (i === index ? step : item)) });

  const save = async (event: Event) => {
    event.preventDefault();
    const body = fromDraft(draft);
    if (typeof body === 'string') {
      setMessage({ ok: false, text: body });
      return;
    }
    setBusy(true);
    setMessage(null);
    try {
      const result = saved
        ? await patch<Campaign>(`/admin/api/campaigns/${saved.id}`, body)
        : await post<Campaign>('/admin/api/campaigns', body);
      setSaved(result);
      setDraft(toDraft(result));
      setMessage({ ok: true, text: `Saved (version ${result.version}).` });
      if (!saved) history.replaceState(null, '', `#/campaigns/${result.id}`);
    } catch (error) {
      setMessage({ ok: false, text: describeError(error) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <p>
        <a href="#/campaigns">← All campaigns</a>
      </p>
      <h1 tabIndex={-1}>{saved ? `Campaign: ${saved.name}` : 'New campaign'}</h1>
      <form class="campaign" onSubmit={save}>
        <div class="grid">
          <label>
            Name
            <input
              name="name"
              required
              maxLength={200}
              value={draft.name}
              onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
            />
          </label>
          <label>
            Status
            <select
              name="status"
              value={draft.status}
              onChange={(e) =>
                setDraft({ ...draft, status: e.currentTarget.value as Campaign['status'] })
              }
            >
              <option value="draft">Draft</option>
              <option value="active">Active</option>
              <option value="paused">Paused</option>
            </select>
          </label>
          <label>
            Priority (higher wins)
            <input
              name="priority"
              type="number"
              min={-1000}
              max={1000}
              value={draft.priority}
              onInput={(e) => setDraft({ ...draft, priority: e.currentTarget.value })}
            />
          </label>
        </div>
        <fieldset>
          <legend>Which abandoned carts</legend>
          <div class="grid">
            <label>
              Least cart value
              <input
                name="minValue"
                inputMode="decimal"
                value={draft.minValue}
                onInput={(e) => setDraft({ ...draft, minValue: e.currentTarget.value })}
              />
            </label>
            <label>
              Most cart value
              <input
                name="maxValue"
                inputMode="decimal"
                value={draft.maxValue}
                onInput={(e) => setDraft({ ...draft, maxValue: e.currentTarget.value })}
              />
            </label>
            <label>
              Shopper
              <select
                name="shopper"
                value={draft.shopper}
                onChange={(e) =>
                  setDraft({ ...draft, shopper: e.currentTarget.value as Draft['shopper'] })
                }
              >
                <option value="">Any</option>
                <option value="new">New</option>
                <option value="returning">Returning</option>
              </select>
            </label>
            <label>
              Countries (comma-separated, e.g. DE, FR)
              <input
                name="countries"
                value={draft.countries}
                onInput={(e) => setDraft({ ...draft, countries: e.currentTarget.value })}
              />
            </label>
            <label>
              UTM sources
              <input
                name="utmSources"
                value={draft.utmSources}
                onInput={(e) => setDraft({ ...draft, utmSources: e.currentTarget.value })}
              />
            </label>
            <label>
              Currencies (e.g. EUR)
              <input
                name="currencies"
                value={draft.currencies}
                onInput={(e) => setDraft({ ...draft, currencies: e.currentTarget.value })}
              />
            </label>
          </div>
          <fieldset class="inline-group">
            <legend>Devices (none: any)</legend>
            {devices.map((device) => (
              <label class="inline" key={device}>
                <input
                  type="checkbox"
                  checked={draft.devices.includes(device)}
                  onChange={(e) =>
                    setDraft({
                      ...draft,
                      devices: e.currentTarget.checked
                        ? [...draft.devices, device]
                        : draft.devices.filter((item) => item !== device),
                    })
                  }
                />{' '}
                {device}
              </label>
            ))}
          </fieldset>
        </fieldset>
        <h2>Steps</h2>
        {draft.steps.map((step, index) => (
          <StepEditor
            key={index}
            step={step}
            index={index}
            templates={templates}
            onChange={(next) => setStep(index, next)}
            {...(draft.steps.length > 1
              ? {
                  onRemove: () =>
                    setDraft({ ...draft, steps: draft.steps.filter((_, i) => i !== index) }),
                }
              : {})}
          />
        ))}
        <div class="actions">
          <button
            type="button"
            disabled={draft.steps.length >= 10}
            onClick={() =>
              setDraft({
                ...draft,
                steps: [
                  ...draft.steps,
                  {
                    delayMinutes: (draft.steps.at(-1)?.delayMinutes ?? 0) + 1440,
                    channel: 'email',
                    template: 'reminder',
                  },
                ],
              })
            }
          >
            Add step
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save campaign'}
          </button>
        </div>
        {message && (
          <p class={`state ${message.ok ? 'ok' : 'error'}`} role={message.ok ? 'status' : 'alert'}>
            {message.text}
          </p>
        )}
      </form>
      {saved && <StepPreview campaignId={saved.id} steps={saved.steps.length} />}
    </>
  );
}

export function CampaignEditor({ id }: { id: string }) {
  const [loaded, reload] = useLoad(async () => {
    const [campaign, templates] = await Promise.all([
      id === 'new' ? null : get<Campaign>(`/admin/api/campaigns/${id}`),
      get<Templates>('/admin/api/templates'),
    ]);
    return { campaign, templates };
  }, [id]);
  return (
    <Show loaded={loaded} what="the campaign" retry={reload}>
      {({ campaign, templates }) => <EditorForm campaign={campaign} templates={templates} />}
    </Show>
  );
}
