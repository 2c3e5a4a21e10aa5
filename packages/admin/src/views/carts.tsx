import { useState } from 'preact/hooks';
import {
  type CartDetail,
  type CartStatus,
  type CartSummary,
  cartStatuses,
  describeError,
  get,
  post,
} from '../api.js';
import { Badge, downloadText, Empty, Loading, Show, useLoad } from '../components.js';
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
            <div class="table-scroll">
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
            </div>
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

export function CartTimeline({ id }: { id: string }) {
  const [loaded, reload] = useLoad(() => get<CartDetail>(`/admin/api/carts/${id}`), [id]);
  return (
    <>
      <p>
        <a href="#/carts">← All carts</a>
      </p>
      <Show loaded={loaded} what="the cart" retry={reload}>
        {({ cart, timeline, eventsTruncated }) => (
          <>
            <h1 tabIndex={-1}>
              Cart {cart.externalId} <Badge value={cart.status} />
            </h1>
            <dl class="facts">
              <div>
                <dt>Value</dt>
                <dd>{money(cart)}</dd>
              </div>
              <div>
                <dt>Risk</dt>
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
                <dd>{cart.enrolment ?? '—'}</dd>
              </div>
              <div>
                <dt>Exit reason</dt>
                <dd>{cart.exitReason ?? '—'}</dd>
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
            <section aria-labelledby="timeline-heading">
              <h2 id="timeline-heading">Timeline</h2>
              {eventsTruncated && <p class="muted">Only the newest 500 events are shown.</p>}
              {timeline.length === 0 ? (
                <Empty>Nothing has happened to this cart yet.</Empty>
              ) : (
                <ol class="timeline">
                  {timeline.map((entry, index) => (
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
          </>
        )}
      </Show>
    </>
  );
}
