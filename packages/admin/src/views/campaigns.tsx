import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import {
  ApiError,
  type Campaign as CampaignAnswer,
  type CampaignStep,
  type DiscountPolicy,
  describeError,
  get,
  patch,
  post,
  type RenderedEmail,
  type Templates,
  type TriggerFilters,
} from '../api.js';
import { Badge, EmailFrame, Empty, Loading, Show, useLoad } from '../components.js';
import { fieldProblems } from '../field-problems.js';
import { formatDateTime, formatDelay, formatMinor, parseAmountToMinor } from '../format.js';

/** The exit modal's discount rule, as the store's settings and a campaign's on-site step hold it. */
interface OnsiteOffer {
  discount: DiscountPolicy;
  minRisk: number;
  minValueMinor: number;
  maxPerDay: number;
}

/**
 * A campaign with its on-site step: null when it has none (the store's offer applies to its
 * carts), `offer: null` for no discount.
 */
type Campaign = CampaignAnswer & { onsite?: { offer: OnsiteOffer | null } | null };

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
  /** The on-site step: the store's offer, no discount, or the campaign's own offer below. */
  onsiteMode: 'store' | 'none' | 'offer';
  /** Kept while the merchant switches modes, so nothing typed is lost. */
  onsiteOffer: OnsiteOffer;
  onsiteMinValue: string;
}

/** What the page offers when the merchant gives a campaign its own on-site offer. */
const firstOffer: OnsiteOffer = {
  discount: { kind: 'percent', value: 10, validHours: 24 },
  minRisk: 0.6,
  minValueMinor: 0,
  maxPerDay: 200,
};

type Problems = Record<string, string>;

/** The on-site fields that show their own error; the API names them `body/onsite/offer/...`. */
const onsitePaths = [
  'onsite.offer.discount.value',
  'onsite.offer.discount.validHours',
  'onsite.offer.discount',
  'onsite.offer.minRisk',
  'onsite.offer.minValueMinor',
  'onsite.offer.maxPerDay',
  'onsite',
];

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
    onsiteMode: !campaign?.onsite ? 'store' : campaign.onsite.offer ? 'offer' : 'none',
    onsiteOffer: campaign?.onsite?.offer ?? firstOffer,
    onsiteMinValue: campaign?.onsite?.offer ? formatMinor(campaign.onsite.offer.minValueMinor) : '',
  };
}

/** The API's `onsite` for a draft, or the problems the page can tell without asking the server. */
function onsiteFromDraft(draft: Draft): { onsite: Campaign['onsite'] } | { problems: Problems } {
  if (draft.onsiteMode === 'store') return { onsite: null };
  if (draft.onsiteMode === 'none') return { onsite: { offer: null } };
  const offer = draft.onsiteOffer;
  const problems: Problems = {};
  const whole = (path: string, value: number) => {
    if (!Number.isInteger(value)) problems[path] = 'Enter a whole number.';
  };
  if (offer.discount.kind !== 'free_shipping') {
    whole('onsite.offer.discount.value', offer.discount.value);
  }
  whole('onsite.offer.discount.validHours', offer.discount.validHours);
  whole('onsite.offer.maxPerDay', offer.maxPerDay);
  if (!(offer.minRisk >= 0 && offer.minRisk <= 1)) {
    problems['onsite.offer.minRisk'] = 'Enter a number from 0 to 1.';
  }
  const minValueMinor = draft.onsiteMinValue.trim() ? parseAmountToMinor(draft.onsiteMinValue) : 0;
  if (minValueMinor === null) {
    problems['onsite.offer.minValueMinor'] = 'Enter an amount such as 25 or 25.50.';
  }
  if (Object.keys(problems).length > 0) return { problems };
  return { onsite: { offer: { ...offer, minValueMinor: minValueMinor ?? 0 } } };
}

/** The API's body for a draft (its on-site step aside), or what is wrong with it. */
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

/** A labelled control with its error, if any, right below it (as on the settings page). */
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

/** The campaign's on-site step: what the exit modal may offer the carts it would enrol. */
function OnsiteFieldset({
  draft,
  problems,
  onChange,
}: {
  draft: Draft;
  problems: Problems;
  onChange: (draft: Draft) => void;
}) {
  const offer = draft.onsiteOffer;
  const setOffer = (next: Partial<OnsiteOffer>) =>
    onChange({ ...draft, onsiteOffer: { ...offer, ...next } });
  const number = (value: string) => (value === '' ? Number.NaN : Number(value));
  const field = (path: string) => invalid(problems, path);
  // No min, max or step limits on these controls: the browser would refuse the form with its own
  // bubble before the page could mark the field; the page's checks and the server's say it here.
  const modes = [
    ['store', "Use the store's offer (Settings)"],
    ['none', 'No discount for these carts'],
    ['offer', 'This offer'],
  ] as const;
  return (
    <fieldset class="onsite-offer">
      <legend>On-site offer</legend>
      <p class="muted">
        The discount the exit modal may show shoppers whose cart this campaign would enrol.
      </p>
      {problems.onsite && (
        <p class="field-error" id="problem-onsite">
          {problems.onsite}
        </p>
      )}
      <div class="inline-group">
        {modes.map(([mode, label]) => (
          <label class="inline" key={mode}>
            <input
              type="radio"
              name="onsiteMode"
              value={mode}
              checked={draft.onsiteMode === mode}
              onChange={() => onChange({ ...draft, onsiteMode: mode })}
            />{' '}
            {label}
          </label>
        ))}
      </div>
      {draft.onsiteMode === 'offer' && (
        <div class="grid">
          <Field label="Discount" path="onsite.offer.discount" problems={problems}>
            <select
              name="onsiteKind"
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
              {...field('onsite.offer.discount')}
            >
              <option value="percent">Percent off</option>
              <option value="fixed">Amount off (minor units)</option>
              <option value="free_shipping">Free shipping</option>
            </select>
          </Field>
          {offer.discount.kind !== 'free_shipping' && (
            <Field
              label={offer.discount.kind === 'percent' ? 'Percent' : 'Amount (minor units)'}
              path="onsite.offer.discount.value"
              problems={problems}
            >
              <input
                name="onsiteValue"
                type="number"
                step="any"
                value={offer.discount.value}
                onInput={(e) =>
                  setOffer({
                    discount: { ...offer.discount, value: number(e.currentTarget.value) },
                  })
                }
                {...field('onsite.offer.discount.value')}
              />
            </Field>
          )}
          <Field
            label="Code valid for (hours)"
            path="onsite.offer.discount.validHours"
            problems={problems}
          >
            <input
              name="onsiteValidHours"
              type="number"
              step="any"
              value={offer.discount.validHours}
              onInput={(e) =>
                setOffer({
                  discount: { ...offer.discount, validHours: number(e.currentTarget.value) },
                })
              }
              {...field('onsite.offer.discount.validHours')}
            />
          </Field>
          <Field
            label="Least risk for the offer (0–1)"
            path="onsite.offer.minRisk"
            problems={problems}
          >
            <input
              name="onsiteMinRisk"
              type="number"
              step="any"
              value={offer.minRisk}
              onInput={(e) => setOffer({ minRisk: number(e.currentTarget.value) })}
              {...field('onsite.offer.minRisk')}
            />
          </Field>
          <Field
            label="Least cart value for the offer"
            path="onsite.offer.minValueMinor"
            problems={problems}
          >
            <input
              name="onsiteMinValue"
              inputMode="decimal"
              placeholder="0"
              value={draft.onsiteMinValue}
              onInput={(e) => onChange({ ...draft, onsiteMinValue: e.currentTarget.value })}
              {...field('onsite.offer.minValueMinor')}
            />
          </Field>
          <Field
            label="Most on-site codes a day"
            hint="Counts every on-site code of the store, whichever rule issued it."
            path="onsite.offer.maxPerDay"
            problems={problems}
          >
            <input
              name="onsiteMaxPerDay"
              type="number"
              step="any"
              value={offer.maxPerDay}
              onInput={(e) => setOffer({ maxPerDay: number(e.currentTarget.value) })}
              {...field('onsite.offer.maxPerDay')}
            />
          </Field>
        </div>
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
  const [problems, setProblems] = useState<Problems>({});
  const setStep = (index: number, step: CampaignStep) =>
    setDraft({ ...draft, steps: draft.steps.map((item, i) => (i === index ? step : item)) });

  const save = async (event: Event) => {
    event.preventDefault();
    const body = fromDraft(draft);
    if (typeof body === 'string') {
      setMessage({ ok: false, text: body });
      return;
    }
    const onsite = onsiteFromDraft(draft);
    if ('problems' in onsite) {
      setProblems(onsite.problems);
      setMessage({ ok: false, text: 'The on-site offer needs a fix: see the marked fields.' });
      return;
    }
    setBusy(true);
    setMessage(null);
    setProblems({});
    try {
      const full = { ...body, onsite: onsite.onsite };
      const result = saved
        ? await patch<Campaign>(`/admin/api/campaigns/${saved.id}`, full)
        : await post<Campaign>('/admin/api/campaigns', full);
      setSaved(result);
      setDraft(toDraft(result));
      setMessage({ ok: true, text: `Saved (version ${result.version}).` });
      if (!saved) history.replaceState(null, '', `#/campaigns/${result.id}`);
    } catch (error) {
      const found =
        error instanceof ApiError && error.status === 400
          ? fieldProblems(error.message, onsitePaths)
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
        <OnsiteFieldset draft={draft} problems={problems} onChange={setDraft} />
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
