import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import {
  type CartDetail,
  type CartStatus,
  type CartSummary,
  cartStatuses,
  describeError,
  get,
  post,
} from '../api.js';
import { Badge, downloadText, Empty, Loading, Show, TableScroll, useLoad } from '../components.js';
import {
  addDays,
  formatDateTime,
  formatMoney,
  formatRate,
  parseAmountToMinor,
  startOfLocalDay,
  toCsv,
} from '../format.js';

interface Filters {
  statuses: CartStatus[];
  minValue: string;
  maxValue: string;
  from: string;
  to: string;
  email: string;
}

const noFilters: Filters = {
  statuses: [],
  minValue: '',
  maxValue: '',
  from: '',
  to: '',
  email: '',
};

/** The search body the API takes, or the reason the filters cannot be used. */
function searchBody(filters: Filters): Record<string, unknown> | string {
  const body: Record<string, unknown> = { limit: 50 };
  if (filters.statuses.length) body.statuses = filters.statuses;
  for (const [key, text, name] of [
    ['minValueMinor', filters.minValue, 'Least value'],
    ['maxValueMinor', filters.maxValue, 'Most value'],
  ] as const) {
    if (!text.trim()) continue;
    const minor = parseAmountToMinor(text);
    if (minor === null) return `${name}: enter an amount such as 25 or 25.50.`;
    body[key] = minor;
  }
  if (filters.from) body.from = startOfLocalDay(filters.from);
  // "To" includes its whole day.
  if (filters.to) body.to = startOfLocalDay(addDays(filters.to, 1));
  if (filters.email.trim()) body.email = filters.email.trim();
  return body;
}

export const money = (cart: Pick<CartSummary, 'valueMinor' | 'currency'>) =>
  cart.currency ? formatMoney({ currency: cart.currency, amountMinor: cart.valueMinor }) : '—';

export const score = (value: number | null) => (value === null ? '—' : formatRate(value));

function cartsCsv(carts: readonly CartSummary[]): string {
  return toCsv([
    [
      'id',
      'external_id',
      'status',
      'value_minor',
      'currency',
      'lines',
      'score',
      'device',
      'email',
      'last_activity_at',
      'abandoned_at',
      'converted_at',
      'enrolment',
      'exit_reason',
    ],
    ...carts.map((cart) => [
      cart.id,
      cart.externalId,
      cart.status,
      cart.valueMinor,
      cart.currency,
      cart.lineCount,
      cart.score,
      cart.device,
      cart.email,
      cart.lastActivityAt,
      cart.abandonedAt,
      cart.convertedAt,
      cart.enrolment,
      cart.exitReason,
    ]),
  ]);
}

type Results =
  | { state: 'loading' }
  | { state: 'error'; error: unknown }
  | { state: 'ready'; carts: CartSummary[]; nextCursor: string | null; more: boolean };

export function Carts() {
  const [filters, setFilters] = useState<Filters>(noFilters);
  const [results, setResults] = useState<Results>({ state: 'loading' });
  const [problem, setProblem] = useState<string | null>(null);
  const [applied, setApplied] = useState<Record<string, unknown>>({ limit: 50 });

  const run = async (
    body: Record<string, unknown>,
    after?: { carts: CartSummary[]; cursor: string },
  ) => {
    if (after) {
      setResults({ state: 'ready', carts: after.carts, nextCursor: after.cursor, more: true });
    } else {
      setResults({ state: 'loading' });
    }
    try {
      const page = await post<{ carts: CartSummary[]; nextCursor: string | null }>(
        '/admin/api/carts/search',
        after ? { ...body, cursor: after.cursor } : body,
      );
      setResults({
        state: 'ready',
        carts: [...(after?.carts ?? []), ...page.carts],
        nextCursor: page.nextCursor,
        more: false,
      });
    } catch (error) {
      setResults({ state: 'error', error });
    }
  };

  useLoad(() => run(applied), []);

  const submit = (event: Event) => {
    event.preventDefault();
    const body = searchBody(filters);
    if (typeof body === 'string') {
      setProblem(body);
      return;
    }
    setProblem(null);
    setApplied(body);
    void run(body);
  };
  const toggle = (status: CartStatus, on: boolean) =>
    setFilters({
      ...filters,
      statuses: on ? [...filters.statuses, status] : filters.statuses.filter((s) => s !== status),
    });

  return (
    <>
      <h1 tabIndex={-1}>Carts</h1>
      <form class="filters" onSubmit={submit} aria-label="Search carts">
        <fieldset>
          <legend>Status</legend>
          {cartStatuses.map((status) => (
            <label class="inline" key={status}>
              <input
                type="checkbox"
                name="status"
                value={status}
                checked={filters.statuses.includes(status)}
                onChange={(e) => toggle(status, e.currentTarget.checked)}
              />{' '}
              {status}
            </label>
          ))}
        </fieldset>
        <label>
          Least value
          <input
            name="minValue"
            inputMode="decimal"
            value={filters.minValue}
            onInput={(e) => setFilters({ ...filters, minValue: e.currentTarget.value })}
          />
        </label>
        <label>
          Most value
          <input
            name="maxValue"
            inputMode="decimal"
            value={filters.maxValue}
            onInput={(e) => setFilters({ ...filters, maxValue: e.currentTarget.value })}
          />
        </label>
        <label>
          Active from
          <input
            name="from"
            type="date"
            value={filters.from}
            onInput={(e) => setFilters({ ...filters, from: e.currentTarget.value })}
          />
        </label>
        <label>
          Active to
          <input
            name="to"
            type="date"
            value={filters.to}
            onInput={(e) => setFilters({ ...filters, to: e.currentTarget.value })}
          />
        </label>
        <label>
          Shopper email
          <input
            name="email"
            type="email"
            value={filters.email}
            onInput={(e) => setFilters({ ...filters, email: e.currentTarget.value })}
          />
        </label>
        <div class="actions">
          <button type="submit" class="primary">
            Search
          </button>
          <button
            type="button"
            onClick={() => {
              setFilters(noFilters);
              setProblem(null);
              setApplied({ limit: 50 });
              void run({ limit: 50 });
            }}
          >
            Clear
          </button>
        </div>
        {problem && (
          <p class="state error" role="alert">
            {problem}
          </p>
        )}
      </form>
      {results.state === 'loading' && <Loading what="carts" />}
      {results.state === 'error' && (
        <div class="state error" role="alert">
          <p>{describeError(results.error)}</p>
          <button type="button" onClick={() => run(applied)}>
            Try again
          </button>
        </div>
      )}
      {results.state === 'ready' &&
        (results.carts.length === 0 ? (
          <Empty>No carts match. Carts appear here once the storefront sends events.</Empty>
        ) : (
          <>
            <div class="row">
              <p class="muted" role="status">
                {results.carts.length} {results.carts.length === 1 ? 'cart' : 'carts'} shown
                {results.nextCursor ? ', more available' : ''}.
              </p>
              <button
                type="button"
                onClick={() => downloadText('carts.csv', cartsCsv(results.carts))}
              >
                Export CSV
              </button>
            </div>
            <TableScroll label="Carts found">
              <table class="carts">
                <thead>
                  <tr>
                    <th scope="col">Cart</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="number">
                      Value
                    </th>
                    <th scope="col" class="number">
                      Lines
                    </th>
                    <th scope="col" class="number">
                      Risk
                    </th>
                    <th scope="col">Shopper</th>
                    <th scope="col">Last activity</th>
                  </tr>
                </thead>
                <tbody>
                  {results.carts.map((cart) => (
                    <tr key={cart.id} data-cart={cart.id}>
                      <td>
                        <a href={`#/carts/${cart.id}`}>{cart.externalId}</a>
                      </td>
                      <td>
                        <Badge value={cart.status} />
                      </td>
                      <td class="number">{money(cart)}</td>
                      <td class="number">{cart.lineCount}</td>
                      <td class="number">{score(cart.score)}</td>
                      <td>{cart.email ?? <span class="muted">anonymous</span>}</td>
                      <td>{formatDateTime(cart.lastActivityAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
            {results.nextCursor && (
              <button
                type="button"
                disabled={results.more}
                onClick={() =>
                  run(applied, { carts: results.carts, cursor: results.nextCursor as string })
                }
              >
                {results.more ? 'Loading…' : 'Load more'}
              </button>
            )}
          </>
        ))}
    </>
  );
}

/** One line of what a timeline entry's detail says, without dumping personal data as JSON. */
function detailText(entry: CartDetail['timeline'][number]): string {
  const detail = entry.detail;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(detail)) {
    if (value === null || value === undefined || typeof value === 'object') continue;
    parts.push(`${key}: ${String(value)}`);
  }
  return parts.join(' · ');
}

// What the timeline's answer adds to `CartDetail` (see `GET /admin/api/carts/{id}` in /docs).

interface RiskPoint {
  at: string;
  score: number;
  types: string[];
}

interface OverlayShown {
  overlayId: string;
  kind: 'exit_modal' | 'return_slide_in' | 'other';
  shownAt: string | null;
  variant: string | null;
  actions: { at: string; action: string; reason: string | null }[];
}

interface DiscountCode {
  code: string;
  kind: string;
  value: number;
  currency: string | null;
  minSubtotalMinor: number | null;
  origin: string;
  state: 'issued' | 'used' | 'expired';
  createdAt: string;
  expiresAt: string | null;
  usedAt: string | null;
}

type CartStory = Omit<CartDetail, 'cart'> & {
  cart: CartDetail['cart'] & { exitReasonAt: string | null };
  eventCount: number;
  risk: { points: RiskPoint[]; changes: number; eventsReplayed: number; complete: boolean };
  overlays: OverlayShown[];
  overlaysTruncated: boolean;
  discounts: DiscountCode[];
  discountsTruncated: boolean;
};

type TimelineEntry = CartDetail['timeline'][number];

const words = (value: string) => value.replaceAll('_', ' ');

const overlayNames: Record<OverlayShown['kind'], string> = {
  exit_modal: 'Exit modal',
  return_slide_in: 'Return slide-in',
  other: 'Overlay',
};

/** What the shopper did, as a merchant says it. */
function actionText(action: OverlayShown['actions'][number]): string {
  switch (action.action) {
    case 'copy_code':
      return 'copied the code';
    case 'checkout':
      return 'went to checkout';
    case 'dismiss':
      return 'dismissed it';
    case 'capture_submitted':
      return 'left an address';
    case 'reason':
      return `answered why: ${action.reason ? words(action.reason) : 'no reason given'}`;
    default:
      return words(action.action);
  }
}

function offerText(discount: DiscountCode): string {
  if (discount.kind === 'percent') return `${discount.value} % off`;
  if (discount.kind === 'fixed' && discount.currency) {
    return `${formatMoney({ currency: discount.currency, amountMinor: discount.value })} off`;
  }
  if (discount.kind === 'free_shipping') return 'free shipping';
  return words(discount.kind);
}

/** The risk as a step line: each value holds until the next frame changed it. */
function RiskChart({ points }: { points: RiskPoint[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element || points.length === 0) return;
    const width = () => Math.max(280, element.clientWidth);
    const times = points.map((point) => Date.parse(point.at) / 1000);
    const alone = times.length === 1 ? times[0] : undefined;
    const chart = new uPlot(
      {
        width: width(),
        height: 200,
        legend: { show: false },
        scales: {
          // One point alone: uPlot would stretch a time axis over years; show ten minutes.
          x: { time: true, ...(alone === undefined ? {} : { range: [alone - 300, alone + 300] }) },
          y: { range: [0, 100] },
        },
        series: [
          {},
          {
            label: 'Risk',
            stroke: '#b45309',
            width: 2,
            ...(uPlot.paths.stepped ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
          },
        ],
        axes: [{}, { values: (_chart, ticks) => ticks.map((tick) => `${tick}%`) }],
      },
      [times, points.map((point) => Math.round(point.score * 1000) / 10)],
      element,
    );
    const resize = () => chart.setSize({ width: width(), height: 200 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      chart.destroy();
    };
  }, [points]);
  const first = points[0];
  const last = points.at(-1);
  const highest = points.reduce<RiskPoint | undefined>(
    (top, point) => (!top || point.score > top.score ? point : top),
    undefined,
  );
  const summary =
    first && last && highest
      ? `Risk from ${formatRate(first.score)} to ${formatRate(last.score)}, highest ${formatRate(highest.score)} at ${formatDateTime(highest.at)}.`
      : '';
  return <div class="risk-chart" ref={box} role="img" aria-label={summary} />;
}

function RiskSection({ risk, score: current }: { risk: CartStory['risk']; score: number | null }) {
  return (
    <section aria-labelledby="risk-heading">
      <h2 id="risk-heading">Risk over time</h2>
      {risk.points.length === 0 ? (
        <Empty>No events to compute the risk from.</Empty>
      ) : (
        <figure class="chart">
          <RiskChart points={risk.points} />
          <figcaption class="muted">
            Abandonment risk after each batch of events the server received, recomputed from the
            cart's {risk.eventsReplayed} stored {risk.eventsReplayed === 1 ? 'event' : 'events'}{' '}
            with the scoring the server uses; the risk stored now is {score(current)}.
            {risk.points.length < risk.changes
              ? ` ${risk.points.length} of ${risk.changes} changes shown, evenly spread.`
              : ''}
            {risk.complete ? '' : ' Only the first events are replayed: the line stops early.'}
          </figcaption>
          <details>
            <summary>Risk values as a table</summary>
            <TableScroll label="Risk values">
              <table>
                <caption class="visually-hidden">Risk after each change</caption>
                <thead>
                  <tr>
                    <th scope="col">Received</th>
                    <th scope="col" class="number">
                      Risk
                    </th>
                    <th scope="col">Events in that batch</th>
                  </tr>
                </thead>
                <tbody>
                  {risk.points.map((point) => (
                    <tr key={point.at}>
                      <td>
                        <time dateTime={point.at}>{formatDateTime(point.at)}</time>
                      </td>
                      <td class="number">{formatRate(point.score)}</td>
                      <td>{point.types.join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          </details>
        </figure>
      )}
    </section>
  );
}

function OverlaysSection({ story }: { story: CartStory }) {
  return (
    <section aria-labelledby="overlays-heading">
      <h2 id="overlays-heading">On-site overlays</h2>
      {story.overlaysTruncated && <p class="muted">Only the newest 200 overlay events are read.</p>}
      {story.overlays.length === 0 ? (
        <Empty>No overlay was shown on this cart.</Empty>
      ) : (
        <TableScroll label="Overlays shown">
          <table class="overlays">
            <thead>
              <tr>
                <th scope="col">Shown</th>
                <th scope="col">Overlay</th>
                <th scope="col">What the shopper did</th>
              </tr>
            </thead>
            <tbody>
              {story.overlays.map((overlay) => (
                <tr key={overlay.overlayId} data-overlay={overlay.overlayId}>
                  <td>{formatDateTime(overlay.shownAt)}</td>
                  <td>
                    {overlayNames[overlay.kind] ?? 'Overlay'}
                    {overlay.variant ? ` (variant ${overlay.variant})` : ''}
                  </td>
                  <td>
                    {overlay.actions.length === 0 ? (
                      <span class="muted">nothing</span>
                    ) : (
                      <ul class="plain">
                        {overlay.actions.map((action, index) => (
                          <li key={`${action.at}-${index}`}>
                            <time dateTime={action.at}>{formatDateTime(action.at)}</time>{' '}
                            {actionText(action)}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}

function MessagesSection({ messages }: { messages: TimelineEntry[] }) {
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return (
    <section aria-labelledby="messages-heading">
      <h2 id="messages-heading">Recovery messages</h2>
      {messages.length === 0 ? (
        <Empty>No recovery message for this cart.</Empty>
      ) : (
        <TableScroll label="Messages and their status">
          <table class="messages">
            <thead>
              <tr>
                <th scope="col" class="number">
                  Step
                </th>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Scheduled</th>
                <th scope="col">Sent</th>
                <th scope="col">Opened</th>
                <th scope="col">Clicked</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {messages.map((message, index) => {
                const detail = message.detail;
                return (
                  <tr key={text(detail.id) ?? String(index)}>
                    {/* The ledger counts steps from 0; the campaign editor from 1. */}
                    <td class="number">
                      {typeof detail.step === 'number' ? detail.step + 1 : '—'}
                    </td>
                    <td>{text(detail.channel) ?? '—'}</td>
                    <td>
                      <Badge value={message.type} />
                    </td>
                    <td>{formatDateTime(text(detail.scheduledAt))}</td>
                    <td>{formatDateTime(text(detail.sentAt))}</td>
                    <td>{formatDateTime(text(detail.openedAt))}</td>
                    <td>{formatDateTime(text(detail.clickedAt))}</td>
                    <td>{text(detail.suppressReason) ?? text(detail.error) ?? ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}

function DiscountsSection({ story }: { story: CartStory }) {
  return (
    <section aria-labelledby="discounts-heading">
      <h2 id="discounts-heading">Discount codes</h2>
      {story.discountsTruncated && <p class="muted">Only the first 50 codes are listed.</p>}
      {story.discounts.length === 0 ? (
        <Empty>No discount code was issued for this cart.</Empty>
      ) : (
        <TableScroll label="Codes and their state">
          <table class="discounts">
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Offer</th>
                <th scope="col">Issued by</th>
                <th scope="col">State</th>
                <th scope="col">Issued</th>
                <th scope="col">Expires</th>
                <th scope="col">Used</th>
              </tr>
            </thead>
            <tbody>
              {story.discounts.map((discount) => (
                <tr key={discount.code} data-code={discount.code}>
                  <td>
                    <code>{discount.code}</code>
                  </td>
                  <td>{offerText(discount)}</td>
                  <td>{discount.origin === 'onsite' ? 'on-site overlay' : 'recovery message'}</td>
                  <td>
                    <Badge value={discount.state} />
                  </td>
                  <td>{formatDateTime(discount.createdAt)}</td>
                  <td>{formatDateTime(discount.expiresAt)}</td>
                  <td>{formatDateTime(discount.usedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}

const timelineKinds = [
  { value: 'all', label: 'Everything' },
  { value: 'event', label: 'Shopper’s events' },
  { value: 'message', label: 'Messages' },
  { value: 'discount', label: 'Discount codes' },
  { value: 'outcome', label: 'Abandonment and order' },
] as const;
type TimelineKind = (typeof timelineKinds)[number]['value'];

function shown(entry: TimelineEntry, kind: TimelineKind): boolean {
  if (kind === 'all') return true;
  if (kind === 'outcome') return entry.kind === 'abandoned' || entry.kind === 'order';
  return entry.kind === kind;
}

function TimelineSection({ story }: { story: CartStory }) {
  const [kind, setKind] = useState<TimelineKind>('all');
  const entries = story.timeline.filter((entry) => shown(entry, kind));
  return (
    <section aria-labelledby="timeline-heading">
      <div class="row">
        <h2 id="timeline-heading">Timeline</h2>
        <label class="inline" for="timeline-kind">
          Show
        </label>
        <select
          id="timeline-kind"
          name="timelineKind"
          value={kind}
          onChange={(e) => setKind(e.currentTarget.value as TimelineKind)}
        >
          {timelineKinds.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </div>
      {story.eventsTruncated && (
        <p class="muted">Only the newest 500 of the cart's {story.eventCount} events are shown.</p>
      )}
      {entries.length === 0 ? (
        <Empty>
          {story.timeline.length === 0
            ? 'Nothing has happened to this cart yet.'
            : 'Nothing of this kind happened to this cart.'}
        </Empty>
      ) : (
        <ol class="timeline">
          {entries.map((entry, index) => (
            <li key={`${entry.at}-${index}`} class={`entry entry-${entry.kind}`}>
              <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
              <span class="kind">{entry.kind}</span>
              <strong class="type">{entry.type}</strong>
              <span class="detail muted">{detailText(entry)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function CartTimeline({ id }: { id: string }) {
  const [loaded, reload] = useLoad(() => get<CartStory>(`/admin/api/carts/${id}`), [id]);
  return (
    <>
      <p>
        <a href="#/carts">← All carts</a>
      </p>
      {/* The heading is there from the start, so the view's focus lands on it at once. */}
      <h1 tabIndex={-1}>
        Cart
        {loaded.state === 'ready' && (
          <>
            {' '}
            {loaded.value.cart.externalId} <Badge value={loaded.value.cart.status} />
          </>
        )}
      </h1>
      <Show loaded={loaded} what="the cart" retry={reload}>
        {(story) => {
          const { cart } = story;
          return (
            <>
              <dl class="facts">
                <div>
                  <dt>Value</dt>
                  <dd>{money(cart)}</dd>
                </div>
                <div>
                  <dt>Risk now</dt>
                  <dd>{score(cart.score)}</dd>
                </div>
                <div>
                  <dt>Shopper</dt>
                  <dd>{cart.email ?? 'anonymous'}</dd>
                </div>
                <div>
                  <dt>Device</dt>
                  <dd>{cart.device ?? '—'}</dd>
                </div>
                <div>
                  <dt>Abandoned</dt>
                  <dd>{formatDateTime(cart.abandonedAt)}</dd>
                </div>
                <div>
                  <dt>Enrolment</dt>
                  <dd>{cart.enrolment ? words(cart.enrolment) : '—'}</dd>
                </div>
                <div>
                  <dt>Exit reason</dt>
                  <dd>
                    {cart.exitReason
                      ? `${words(cart.exitReason)} (${formatDateTime(cart.exitReasonAt)})`
                      : '—'}
                  </dd>
                </div>
                <div>
                  <dt>Order</dt>
                  <dd>
                    {cart.orderId
                      ? `${cart.orderId}${cart.orderValueMinor !== null && cart.currency ? ` (${formatMoney({ currency: cart.currency, amountMinor: cart.orderValueMinor })})` : ''}`
                      : '—'}
                  </dd>
                </div>
              </dl>
              <RiskSection risk={story.risk} score={cart.score} />
              <section aria-labelledby="lines-heading">
                <h2 id="lines-heading">Lines</h2>
                {cart.lines.length === 0 ? (
                  <Empty>The cart has no lines.</Empty>
                ) : (
                  <ul class="lines">
                    {cart.lines.map((line, index) => (
                      <li key={String(line.id ?? index)}>
                        {String(line.quantity ?? 1)} × {String(line.title ?? line.id ?? 'item')}
                        {line.variant ? ` (${String(line.variant)})` : ''}
                      </li>
                    ))}
                  </ul>
                )}
              </section>
              <OverlaysSection story={story} />
              <MessagesSection
                messages={story.timeline.filter((entry) => entry.kind === 'message')}
              />
              <DiscountsSection story={story} />
              <TimelineSection story={story} />
            </>
          );
        }}
      </Show>
    </>
  );
}
