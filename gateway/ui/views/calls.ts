import type { Context } from 'hono';
import type { UiEnv } from '../env.ts';
import * as f from '../format.ts';
import { html, type Html } from '../html.ts';
import { page, table } from '../layout.ts';
import type { Call, List } from './types.ts';

const FILTERS = ['route', 'model', 'status', 'user', 'key', 'since', 'until'] as const;
const STATUSES = ['', 'ok', 'upstream_error', 'client_error', 'client_aborted', 'gateway_error', 'interrupted'];

export function statusBadge(status: string): Html {
  return html`<span class="badge ${status === 'ok' ? 'good' : 'bad'}">${status}</span>`;
}

/** `/ui/calls`: the call log, newest first, with the API's filters in the query string. */
export async function callsPage(c: Context<UiEnv>): Promise<Html> {
  const q: Record<string, string | undefined> = {};
  for (const k of FILTERS) q[k] = c.req.query(k) || undefined;
  const cursor = c.req.query('cursor') || undefined;
  const res = await c.get('api').get<List<Call>>('/api/calls', { ...q, limit: '50', cursor });
  const rows = res.ok ? res.body.data : [];
  const next = res.ok ? res.body.next_cursor : null;
  const nextHref = next ? `/ui/calls?${new URLSearchParams({ ...defined(q), cursor: next }).toString()}` : null;
  const input = (name: string, label: string, placeholder = '') =>
    html`<label for="f-${name}">${label} <input id="f-${name}" name="${name}" value="${q[name] ?? ''}" placeholder="${placeholder}"></label>`;
  return page({
    title: 'Calls',
    view: 'calls',
    error: res.error,
    body: html`
<form class="filters" method="get" action="/ui/calls">
  ${input('route', 'Route')}
  ${input('model', 'Model')}
  <label for="f-status">Status <select id="f-status" name="status">${STATUSES.map(
    (s) => html`<option value="${s}"${s === (q.status ?? '') ? html` selected` : ''}>${s || 'any'}</option>`,
  )}</select></label>
  ${input('user', 'User')}
  ${input('key', 'Key id')}
  ${input('since', 'Since', '2025-01-31T00:00:00Z')}
  ${input('until', 'Until', '2025-02-01T00:00:00Z')}
  <button type="submit">Filter</button>
  <a href="/ui/calls">Clear</a>
</form>
${table(
  'Calls, newest first',
  ['Started', 'Route / variant', 'Model', 'Status', 'Latency', 'Tokens in/out', 'Cost', 'Cache'],
  rows.map((r) => [
    html`<a href="/ui/calls/${r.id}">${f.time(r.started_at)}</a>`,
    r.route ? `${r.route}${r.variant ? ` / ${r.variant}` : ''}` : '—',
    r.model ?? '—',
    statusBadge(r.status),
    f.ms(r.latency_ms),
    r.usage ? `${r.usage.input_tokens ?? '—'} / ${r.usage.output_tokens ?? '—'}` : '—',
    f.usd(r.cost_usd),
    r.cache_status ?? '—',
  ]),
  'No calls match these filters.',
)}
${nextHref ? html`<p><a href="${nextHref}" rel="next">Older calls</a></p>` : ''}`,
  });
}

function defined(q: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined));
}
