import type { Context } from 'hono';
import type { UiEnv } from '../env.ts';
import * as f from '../format.ts';
import { html, jsonBlock, type Html } from '../html.ts';
import { page, table } from '../layout.ts';
import type { ChartSpec } from '../series.ts';
import { driftSection } from './drift.ts';
import type { EvalRun, List } from './types.ts';

interface SeriesPoint {
  day: string;
  n: number;
  mean: number;
  ewma: number;
  ewma_alarm: string | null;
  cusum_alarm: string | null;
}
interface ScoreSeries {
  route: string | null;
  variant: string | null;
  prompt: string | null;
  scorer: string;
  reference: { mean: number | null; sd: number | null };
  points: SeriesPoint[];
  alarms: Array<{ day: string; chart: string; direction: string }>;
}
interface ItemResult {
  item_id: string;
  target: string;
  output: unknown;
  scores: Record<string, number | null>;
}

const RUN_STATUSES = ['', 'queued', 'running', 'succeeded', 'failed'];

/** `/ui/evals?name=&status=&route=&scorer=`: eval runs, and scores over time with their control charts. */
export async function evalsPage(c: Context<UiEnv>): Promise<Html> {
  const api = c.get('api');
  const q = { name: c.req.query('name') || undefined, status: RUN_STATUSES.find((s) => s && s === c.req.query('status')) };
  const slice = { route: c.req.query('route') || undefined, scorer: c.req.query('scorer') || undefined };
  const [runs, series, drift] = await Promise.all([
    api.get<List<EvalRun>>('/api/evals/runs', q),
    api.get<{ since: string; until: string; series: ScoreSeries[] }>('/api/evals/timeseries', slice),
    driftSection(api, slice),
  ]);
  const list = series.ok ? series.body.series : [];
  const input = (name: string, label: string, value: string | undefined) => html`<label for="f-${name}">${label} <input id="f-${name}" name="${name}" value="${value ?? ''}"></label>`;
  return page({
    title: 'Evals',
    view: 'evals',
    charts: true,
    error: runs.error ?? series.error,
    body: html`
<form class="filters" method="get" action="/ui/evals">
  ${input('name', 'Run name', q.name)}
  <label for="f-status">Status <select id="f-status" name="status">${RUN_STATUSES.map((s) => html`<option value="${s}"${s === (q.status ?? '') ? html` selected` : ''}>${s || 'any'}</option>`)}</select></label>
  ${input('route', 'Route', slice.route)}
  ${input('scorer', 'Scorer', slice.scorer)}
  <button type="submit">Filter</button>
</form>
<h2>Runs</h2>
${table(
  'Eval runs, newest first',
  ['Run', 'Status', 'Mode', 'Dataset', 'Created', 'Finished', 'Trigger'],
  (runs.ok ? runs.body.data : []).map((r) => [
    html`<a href="/ui/evals/${r.id}">${r.name}</a>`,
    html`<span class="badge ${r.status === 'failed' ? 'bad' : r.status === 'succeeded' ? 'good' : ''}">${r.status}</span>`,
    r.mode,
    r.dataset ? `${r.dataset.name}${r.dataset.version === null ? '' : ` v${r.dataset.version}`}` : '—',
    f.time(r.created_at),
    f.time(r.finished_at),
    r.trigger,
  ]),
  'No eval runs.',
)}
<h2>Scores over time</h2>
<p class="muted">Daily mean of online, feedback and eval scores on logged calls (<code>/api/evals/timeseries</code>), with the EWMA and the reference mean; alarms are the control chart's (UTC days).</p>
${list.length === 0 ? html`<p class="empty">No scores in the last 30 days.</p>` : html`<div class="charts">${list.map((s, i) => seriesChart(s, i, xRangeOf(series.body.since, series.body.until)))}</div>`}
<h2>Drift</h2>
${drift}`,
  });
}

const xRangeOf = (since: string, until: string): [number, number] => [Date.parse(since) / 1000, Date.parse(until) / 1000];

function seriesChart(s: ScoreSeries, i: number, xRange: [number, number]): Html {
  const title = `${s.scorer} · ${s.route ?? 'any route'}${s.variant ? ` / ${s.variant}` : ''}${s.prompt ? ` · ${s.prompt}` : ''}`;
  const spec: ChartSpec = {
    x: s.points.map((p) => Date.parse(`${p.day}T00:00:00Z`) / 1000),
    unit: 'score',
    xRange,
    series: [
      { label: 'daily mean', values: s.points.map((p) => p.mean) },
      { label: 'EWMA', values: s.points.map((p) => p.ewma) },
      { label: 'reference mean', values: s.points.map(() => s.reference.mean) },
    ],
  };
  const last = s.points[s.points.length - 1];
  return html`<section class="chart-box" aria-labelledby="series-${i}-title">
  <h2 id="series-${i}-title">${title}</h2>
  <p class="muted">Latest day: mean ${f.num(last?.mean ?? null)} over ${last?.n ?? 0} scores${s.alarms.length ? html` · <span class="badge bad">${s.alarms.length} alarm${s.alarms.length > 1 ? 's' : ''}</span>` : ''}</p>
  <div class="chart" data-source="series-${i}-data" role="img" aria-label="${title}, daily mean over time"></div>
  ${jsonBlock(`series-${i}-data`, spec)}
</section>`;
}

/** `/ui/evals/:id`: one run with its summary and the results per item, outputs included. */
export async function evalRunPage(c: Context<UiEnv>): Promise<Html> {
  const api = c.get('api');
  const id = encodeURIComponent(c.req.param('id') ?? '');
  const [run, results] = await Promise.all([api.get<EvalRun>(`/api/evals/runs/${id}`), api.get<{ items: ItemResult[] }>(`/api/evals/runs/${id}/results`)]);
  if (!run.ok) return page({ title: 'Eval run', view: 'evals', error: run.error, body: html`<p><a href="/ui/evals">Back to evals</a></p>` });
  const r = run.body;
  const items = results.ok ? results.body.items : [];
  const scorers = [...new Set(items.flatMap((it) => Object.keys(it.scores)))];
  return page({
    title: `Eval run ${r.name}`,
    view: 'evals',
    error: results.error ?? r.error,
    body: html`
<p><a href="/ui/evals">Back to evals</a></p>
<p>Status <span class="badge">${r.status}</span> · created ${f.time(r.created_at)} · finished ${f.time(r.finished_at)} · <code>${r.id}</code></p>
<h2>Summary</h2>
<pre tabindex="0">${f.pretty(r.summary)}</pre>
<h2>Results per item</h2>
${table(
  'Each item and target with its output and scores',
  ['Item', 'Target', 'Output', ...scorers],
  items.map((it) => [it.item_id, it.target, html`<pre tabindex="0">${typeof it.output === 'string' ? it.output : f.pretty(it.output)}</pre>`, ...scorers.map((s) => f.num(it.scores[s] ?? null))]),
  'No results yet.',
)}`,
  });
}
