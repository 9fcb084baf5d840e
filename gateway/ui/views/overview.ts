import type { Context } from 'hono';
import type { UiEnv } from '../env.ts';
import * as f from '../format.ts';
import { html, jsonBlock, type Html } from '../html.ts';
import { page, stat } from '../layout.ts';
import { RANGES, rangeOf, seriesColumns, type ChartSpec, type UsageSeries } from '../series.ts';
import type { List, UsageRow } from './types.ts';

/**
 * Totals from `/api/usage` (exact over the range); charts and the latency percentiles from
 * `/api/usage/series` (the per-minute rollup), so every call of the range counts, at any volume.
 */
export async function overviewPage(c: Context<UiEnv>): Promise<Html> {
  const api = c.get('api');
  const range = rangeOf(c.req.query('range'));
  const { ms: spanMs, step } = RANGES[range];
  const until = c.get('clock')();
  const since = until - spanMs;
  const window = { since: new Date(since).toISOString(), until: new Date(until).toISOString() };
  const [usage, series] = await Promise.all([
    api.get<List<UsageRow>>('/api/usage', { group_by: 'day', ...window }),
    api.get<UsageSeries>('/api/usage/series', { ...window, step }),
  ]);
  const rows = usage.ok ? usage.body.data : [];
  const total = sum(rows, (r) => r.calls);
  const errors = sum(rows, (r) => r.errors);
  const priced = rows.filter((r) => r.cost_usd !== null);
  const cost = priced.length ? sum(priced, (r) => r.cost_usd!) : null;
  const hits = sum(rows, (r) => r.cache_hits);
  const hitRates = rows.filter((r) => r.cache_hit_rate !== null && r.cache_hit_rate > 0);
  const looked = sum(hitRates, (r) => r.cache_hits / r.cache_hit_rate!);
  const b = seriesColumns(series.ok ? series.body : { data: [] });
  const all = series.ok ? series.body.latency_ms : { p50: null, p95: null };

  const xRange: [number, number] = [b.x[0] ?? since / 1000, until / 1000];
  const charts: Array<{ id: string; title: string; spec: ChartSpec }> = [
    { id: 'calls', title: 'Calls and errors', spec: { x: b.x, unit: 'calls', integer: true, xRange, series: [{ label: 'calls', values: b.calls }, { label: 'errors', values: b.errors }] } },
    { id: 'cost', title: 'Cost (USD)', spec: { x: b.x, unit: 'USD', xRange, series: [{ label: 'cost', values: b.cost }] } },
    { id: 'latency', title: 'Latency of ok calls (ms)', spec: { x: b.x, unit: 'ms', xRange, series: [{ label: 'p50', values: b.p50 }, { label: 'p95', values: b.p95 }] } },
    { id: 'cache', title: 'Cache hit rate (%)', spec: { x: b.x, unit: '%', xRange, series: [{ label: 'hit rate', values: b.hitRate }] } },
  ];

  return page({
    title: 'Overview',
    view: 'overview',
    charts: true,
    error: usage.error ?? series.error,
    body: html`
<form class="filters" method="get" action="/ui">
  <label for="range">Time range <select id="range" name="range">${Object.entries(RANGES).map(
    ([id, r]) => html`<option value="${id}"${id === range ? html` selected` : ''}>${r.label}</option>`,
  )}</select></label>
  <button type="submit">Show</button>
</form>
<dl class="stats">
  ${stat('Calls', total, 'calls-total')}
  ${stat('Errors', html`${errors} <span class="muted">(${f.pct(total ? errors / total : null)})</span>`, 'errors-total')}
  ${stat('Cost', f.usd(cost), 'cost-total')}
  ${stat('Latency p50', f.ms(all.p50), 'latency-p50')}
  ${stat('Latency p95', f.ms(all.p95), 'latency-p95')}
  ${stat('Cache hit rate', f.pct(looked ? hits / looked : null), 'cache-hit-rate')}
</dl>
<p class="muted">Totals from <code>/api/usage</code> over ${RANGES[range].label.toLowerCase()}; charts from <code>/api/usage/series</code> (every call of the range, per minute rounded; latency percentiles from a histogram, within 19%), in UTC.</p>
<div class="charts">${charts.map(
  (ch) => html`<section class="chart-box" aria-labelledby="chart-${ch.id}-title">
  <h2 id="chart-${ch.id}-title">${ch.title}</h2>
  <div class="chart" data-source="chart-${ch.id}-data" role="img" aria-label="${ch.title} over ${RANGES[range].label.toLowerCase()}"></div>
  ${jsonBlock(`chart-${ch.id}-data`, ch.spec)}
</section>`,
)}</div>`,
  });
}

function sum<T>(rows: readonly T[], pick: (r: T) => number): number {
  return rows.reduce((s, r) => s + pick(r), 0);
}
