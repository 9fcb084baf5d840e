import type { Context } from 'hono';
import type { UiEnv } from '../env.ts';
import * as f from '../format.ts';
import { html, type Html } from '../html.ts';
import { page, stat, table } from '../layout.ts';
import type { Estimate, List, Rollout, Route, RouteStats } from './types.ts';

/** `/ui/routes`: every route with its live weights. */
export async function routesPage(c: Context<UiEnv>): Promise<Html> {
  const res = await c.get('api').get<List<Route>>('/api/routes');
  const routes = res.ok ? res.body.data : [];
  return page({
    title: 'Routes',
    view: 'routes',
    error: res.error,
    body: table(
      'Routes and their live weights',
      ['Route', 'Control', 'Variants (live share)', 'Weights from'],
      routes.map((r) => [
        html`<a href="/ui/routes/${encodeURIComponent(r.name)}">${r.name}</a>`,
        r.control,
        r.variants.map((v) => `${v.name} ${f.pct(v.share)}`).join(', '),
        r.weights_source,
      ]),
      'No routes are configured.',
    ),
  });
}

const SINCE = ['1h', '24h', '7d', '30d'] as const;
const withCi = (e: Estimate, fmt: (v: number) => string) =>
  e.value === null ? '—' : html`${fmt(e.value)} <span class="muted">${f.interval(e.ci, fmt)}</span>`;

/** `/ui/routes/:name?since=7d`: variants, live weights, per-variant stats with intervals, the rollout and its evidence. */
export async function routePage(c: Context<UiEnv>): Promise<Html> {
  const api = c.get('api');
  const name = c.req.param('name') ?? '';
  const since = SINCE.find((s) => s === c.req.query('since')) ?? '7d';
  const enc = encodeURIComponent(name);
  const [route, stats, rollout] = await Promise.all([
    api.get<Route>(`/api/routes/${enc}`),
    api.get<RouteStats>(`/api/routes/${enc}/stats`, { since }),
    api.get<Rollout>(`/api/routes/${enc}/rollout`),
  ]);
  if (!route.ok) return page({ title: `Route ${name}`, view: 'routes', error: route.error, body: html`<p><a href="/ui/routes">Back to routes</a></p>` });
  const r = route.body;
  const s = stats.ok ? stats.body : null;
  const ro = rollout.ok ? rollout.body : null;
  const scorers = s ? [...new Set(s.variants.flatMap((v) => Object.keys(v.scores)))] : [];
  return page({
    title: `Route ${r.name}`,
    view: 'routes',
    notice: c.req.query('ok'),
    error: c.req.query('failed') ? 'The change was refused by the API.' : stats.error,
    body: html`
<p><a href="/ui/routes">Back to routes</a></p>
<h2>Variants and live weights</h2>
${table(
  `Variants of ${r.name}`,
  ['Variant', 'Live weight', 'Live share', 'Config weight', 'Targets'],
  r.variants.map((v) => [
    html`${v.name}${v.name === r.control ? html` <span class="badge">control</span>` : ''}`,
    f.num(v.weight),
    f.pct(v.share),
    f.num(v.config_weight),
    v.targets.map((t) => `${t.target}${t.breaker && t.breaker.state !== 'closed' ? ` (breaker ${t.breaker.state})` : ''}`).join(', '),
  ]),
)}
<p class="muted">Weights from ${r.weights_source}${r.updated_at ? `, changed ${f.time(r.updated_at)} by ${r.updated_by ?? '?'}` : ''}.</p>
<h2>Per-variant stats</h2>
<form class="filters" method="get" action="/ui/routes/${enc}">
  <label for="f-since">Window <select id="f-since" name="since">${SINCE.map((x) => html`<option value="${x}"${x === since ? html` selected` : ''}>last ${x}</option>`)}</select></label>
  <button type="submit">Show</button>
</form>
${s ? table(
  `Per-variant stats with ${f.pct(s.confidence, 0)} intervals`,
  ['Variant', 'Calls', 'Error rate', 'Latency p50', 'Latency p95', 'Mean cost', ...scorers.map((k) => `Score ${k}`), 'p vs control (errors)'],
  s.variants.map((v) => [
    v.variant,
    String(v.calls),
    withCi(v.error_rate, (x) => f.pct(x)),
    withCi(v.latency_ms.p50, f.ms),
    withCi(v.latency_ms.p95, f.ms),
    withCi(v.cost_usd.mean, f.usd),
    ...scorers.map((k) => (v.scores[k] ? withCi(v.scores[k].mean, (x) => f.num(x)) : '—')),
    v.vs_control?.error_rate?.p_value === undefined ? '—' : f.num(v.vs_control.error_rate.p_value ?? null),
  ]),
) : html`<p class="empty">No stats.</p>`}
<h2>Rollout</h2>
${ro ? rolloutSection(ro, `/ui/routes/${enc}/rollout/abort`) : html`<p class="empty">No rollout of this route yet.</p>`}`,
  });
}

/** Rows of evidence shown: a rollout looks every monitoring interval, so its evidence grows long. */
const EVIDENCE_ROWS = 50;

export function rolloutSection(ro: Rollout, abortAction: string): Html {
  return html`<dl class="stats">
  ${stat('State', html`<span data-testid="rollout-state">${ro.state}</span>`)}
  ${stat('Candidate', ro.candidate)}
  ${stat('Step', `${ro.step + 1} of ${ro.steps.length} (${ro.percent}%)`)}
  ${stat('Started', f.time(ro.started_at))}
</dl>
${ro.state === 'running'
  ? html`<form method="post" action="${abortAction}" class="actions" data-confirm="Abort this rollout and restore the previous weights?"><button type="submit" class="danger">Abort rollout</button></form>`
  : ''}
${table(
  `Rollout evidence, newest first, one row per guard and look${ro.evidence.length > EVIDENCE_ROWS ? ` (latest ${EVIDENCE_ROWS} of ${ro.evidence.length})` : ''}`,
  ['At', 'Metric', 'Control', 'Candidate', 'Delta', 'p-value', 'Decision'],
  [...ro.evidence].reverse().slice(0, EVIDENCE_ROWS).map((e) => [f.time(e.at), e.metric, f.num(e.control), f.num(e.candidate), f.num(e.delta), f.num(e.p_value), e.decision]),
  'No evidence yet: the first look comes after the first step interval.',
)}`;
}

/** POST /ui/routes/:name/rollout/abort → DELETE /api/routes/{name}/rollout. */
export async function abortRouteRollout(c: Context<UiEnv>): Promise<Response> {
  const enc = encodeURIComponent(c.req.param('name') ?? '');
  const res = await c.get('api').send('DELETE', `/api/routes/${enc}/rollout`);
  return c.redirect(`/ui/routes/${enc}?${res.ok ? 'ok=rollout_aborted' : 'failed=1'}`, 303);
}
