import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { type Breakdown, get, type Kpis, type Overview as OverviewData } from '../api.js';
import { Empty, Show, TableScroll, useLoad } from '../components.js';
import {
  compare,
  formatCount,
  formatMoneyList,
  formatRate,
  localToday,
  type PeriodPreset,
  periodPresets,
  periodProblem,
  presetPeriod,
} from '../format.js';

const kpiLabels: {
  key: Exclude<keyof Kpis, 'revenueRecovered' | 'recoveryRate'>;
  label: string;
}[] = [
  { key: 'carts', label: 'Carts tracked' },
  { key: 'abandoned', label: 'Abandoned' },
  { key: 'enrolled', label: 'Enrolled' },
  { key: 'messaged', label: 'Messaged' },
  { key: 'opened', label: 'Opened' },
  { key: 'clicked', label: 'Clicked' },
  { key: 'recovered', label: 'Recovered' },
  { key: 'convertedUnassisted', label: 'Bought without help' },
];

const breakdowns = [
  { by: 'campaign', label: 'Campaign' },
  { by: 'step', label: 'Step' },
  { by: 'channel', label: 'Channel' },
  { by: 'overlay', label: 'Overlay' },
  { by: 'device', label: 'Device' },
  { by: 'exit_reason', label: 'Exit reason' },
] as const;

const funnelLabels: Record<string, string> = {
  carts: 'Carts',
  checkout: 'Checkout',
  abandoned: 'Abandoned',
  messaged: 'Messaged',
  opened: 'Opened',
  clicked: 'Clicked',
  recovered: 'Recovered',
};

function Delta({ current, previous }: { current: number; previous: number }) {
  const { trend, text } = compare(current, previous);
  return (
    <span class={`delta delta-${trend}`} title="Against the previous period">
      {text}
    </span>
  );
}

function KpiGrid({ data }: { data: OverviewData }) {
  const { current, previous } = data;
  return (
    <section aria-labelledby="kpi-heading">
      <h2 id="kpi-heading">
        Key figures{' '}
        <span class="muted">
          (against {data.previousFrom} – {data.previousTo})
        </span>
      </h2>
      <dl class="kpis">
        {kpiLabels.map(({ key, label }) => (
          <div class="kpi" key={key} data-kpi={key}>
            <dt>{label}</dt>
            <dd>
              <span class="value">{formatCount(current[key])}</span>
              <Delta current={current[key]} previous={previous[key]} />
              <span class="previous muted">was {formatCount(previous[key])}</span>
            </dd>
          </div>
        ))}
        <div class="kpi" data-kpi="recoveryRate">
          <dt>Recovery rate</dt>
          <dd>
            <span class="value">{formatRate(current.recoveryRate)}</span>
            <span class="previous muted">was {formatRate(previous.recoveryRate)}</span>
          </dd>
        </div>
        <div class="kpi wide" data-kpi="revenueRecovered">
          <dt>Revenue recovered</dt>
          <dd>
            <span class="value">{formatMoneyList(current.revenueRecovered)}</span>
            <span class="previous muted">was {formatMoneyList(previous.revenueRecovered)}</span>
          </dd>
        </div>
      </dl>
    </section>
  );
}

function SeriesChart({ series }: { series: OverviewData['series'] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element || series.length === 0) return;
    const times = series.map((point) => Date.parse(`${point.date}T00:00:00Z`) / 1000);
    const width = () => Math.max(300, element.clientWidth);
    const chart = new uPlot(
      {
        width: width(),
        height: 260,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        scales: { x: { time: true } },
        series: [
          {},
          { label: 'Carts', stroke: '#2563eb', width: 2 },
          { label: 'Abandoned', stroke: '#d97706', width: 2 },
          { label: 'Recovered', stroke: '#059669', width: 2 },
        ],
        axes: [{}, { label: 'carts' }],
      },
      [
        times,
        series.map((point) => point.carts),
        series.map((point) => point.abandoned),
        series.map((point) => point.recovered),
      ],
      element,
    );
    const resize = () => chart.setSize({ width: width(), height: 260 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      chart.destroy();
    };
  }, [series]);
  if (series.length === 0) return <Empty>No days in this period.</Empty>;
  return (
    <figure class="chart">
      <div ref={box} />
      <figcaption class="muted">Carts, abandoned and recovered carts by day.</figcaption>
    </figure>
  );
}

function Funnel({ funnel }: { funnel: OverviewData['funnel'] }) {
  const top = Math.max(1, ...funnel.map((stage) => stage.count));
  const first = funnel[0]?.count ?? 0;
  return (
    <section aria-labelledby="funnel-heading">
      <h2 id="funnel-heading">Funnel</h2>
      {funnel.length === 0 ? (
        <Empty>No carts in this period.</Empty>
      ) : (
        <ol class="funnel">
          {funnel.map((stage) => (
            <li key={stage.stage} data-stage={stage.stage}>
              <span class="stage">{funnelLabels[stage.stage] ?? stage.stage}</span>
              <span class="bar-track">
                <span class="bar" style={{ width: `${(stage.count / top) * 100}%` }} />
              </span>
              <span class="count">{formatCount(stage.count)}</span>
              <span class="muted share">{first ? formatRate(stage.count / first) : '—'}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function BreakdownTable({ from, to }: { from: string; to: string }) {
  const [by, setBy] = useState<(typeof breakdowns)[number]['by']>('campaign');
  const query = `by=${by}&from=${from}&to=${to}`;
  const [loaded, reload] = useLoad(
    () => get<Breakdown>(`/admin/api/analytics/breakdown?${query}`),
    [query],
  );
  return (
    <section aria-labelledby="breakdown-heading">
      <div class="row">
        <h2 id="breakdown-heading">Breakdown</h2>
        <label class="inline">
          By{' '}
          <select value={by} onChange={(e) => setBy(e.currentTarget.value as typeof by)}>
            {breakdowns.map((item) => (
              <option key={item.by} value={item.by}>
                {item.label}
              </option>
            ))}
          </select>
        </label>
        <a class="button" href={`/admin/api/analytics/breakdown?${query}&format=csv`} download>
          Download CSV
        </a>
      </div>
      <Show loaded={loaded} what="the breakdown" retry={reload}>
        {(table) =>
          table.rows.length === 0 ? (
            <Empty>Nothing to break down in this period.</Empty>
          ) : (
            <TableScroll
              label={`Breakdown by ${breakdowns.find((item) => item.by === by)?.label ?? by}`}
            >
              <table>
                <thead>
                  <tr>
                    <th scope="col">{breakdowns.find((item) => item.by === by)?.label}</th>
                    {table.columns.map((column) => (
                      <th scope="col" class="number" key={column.key}>
                        {column.label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {table.rows.map((row) => (
                    <tr key={row.key}>
                      <th scope="row">{row.label}</th>
                      {table.columns.map((column) => (
                        <td class="number" key={column.key}>
                          {formatCount(row.values[column.key] ?? 0)}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )
        }
      </Show>
    </section>
  );
}

export function Overview() {
  const [preset, setPreset] = useState<PeriodPreset | 'custom'>('30d');
  const [period, setPeriod] = useState(() => presetPeriod('30d', localToday()));
  const [draft, setDraft] = useState(period);
  const problem = periodProblem(draft.from, draft.to);
  const query = `from=${period.from}&to=${period.to}`;
  const [loaded, reload] = useLoad(
    () => get<OverviewData>(`/admin/api/analytics/overview?${query}`),
    [query],
  );

  const choose = (value: string) => {
    if (value === 'custom') {
      setPreset('custom');
      return;
    }
    const next = presetPeriod(value as PeriodPreset, localToday());
    setPreset(value as PeriodPreset);
    setDraft(next);
    setPeriod(next);
  };

  return (
    <>
      <h1 tabIndex={-1}>Overview</h1>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          if (!problem) setPeriod(draft);
        }}
      >
        <label class="inline">
          Period{' '}
          <select value={preset} onChange={(e) => choose(e.currentTarget.value)}>
            {periodPresets.map((item) => (
              <option key={item.id} value={item.id}>
                {item.label}
              </option>
            ))}
            <option value="custom">Custom…</option>
          </select>
        </label>
        {preset === 'custom' && (
          <>
            <label class="inline">
              From{' '}
              <input
                type="date"
                value={draft.from}
                onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
              />
            </label>
            <label class="inline">
              To{' '}
              <input
                type="date"
                value={draft.to}
                onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })}
              />
            </label>
            <button type="submit" disabled={problem !== null}>
              Show
            </button>
            {problem && <span class="muted">{problem}</span>}
          </>
        )}
        <a class="button" href={`/admin/api/analytics/overview?${query}&format=csv`} download>
          Download CSV
        </a>
      </form>
      <Show loaded={loaded} what="the overview" retry={reload}>
        {(data) => (
          <>
            <p class="muted">
              {data.from} – {data.to}, days in {data.timezone}.
            </p>
            <KpiGrid data={data} />
            <section aria-labelledby="series-heading">
              <h2 id="series-heading">By day</h2>
              <SeriesChart series={data.series} />
            </section>
            <Funnel funnel={data.funnel} />
          </>
        )}
      </Show>
      <BreakdownTable from={period.from} to={period.to} />
    </>
  );
}
