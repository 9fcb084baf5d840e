import type { Context } from 'hono';
import type { UiEnv } from '../env.ts';
import * as f from '../format.ts';
import { html, type Html } from '../html.ts';
import { page, table } from '../layout.ts';
import type { Incident, List } from './types.ts';

const STATUSES = ['open', 'resolved', 'all'] as const;

/** `/ui/incidents?status=open|resolved|all&monitor=`: monitor breaches, with ack and resolve. */
export async function incidentsPage(c: Context<UiEnv>): Promise<Html> {
  const status = STATUSES.find((s) => s === c.req.query('status')) ?? 'open';
  const monitor = c.req.query('monitor') || undefined;
  const res = await c.get('api').get<List<Incident>>('/api/incidents', { status: status === 'all' ? undefined : status, monitor });
  const rows = res.ok ? res.body.data : [];
  const back = `/ui/incidents?${new URLSearchParams({ status, ...(monitor ? { monitor } : {}) }).toString()}`;
  const action = (i: Incident, what: 'ack' | 'resolve', label: string) =>
    html`<form class="inline" method="post" action="/ui/incidents/${i.id}/${what}"><input type="hidden" name="back" value="${back}"><button type="submit" class="secondary" aria-label="${label} incident ${i.monitor} opened ${f.time(i.opened_at)}">${label}</button></form>`;
  return page({
    title: 'Incidents',
    view: 'incidents',
    notice: c.req.query('ok'),
    error: c.req.query('failed') ? 'The change was refused by the API.' : res.error,
    body: html`
<form class="filters" method="get" action="/ui/incidents">
  <label for="f-status">Status <select id="f-status" name="status">${STATUSES.map((s) => html`<option value="${s}"${s === status ? html` selected` : ''}>${s}</option>`)}</select></label>
  <label for="f-monitor">Monitor <input id="f-monitor" name="monitor" value="${monitor ?? ''}"></label>
  <button type="submit">Filter</button>
</form>
${table(
  'Incidents, newest first',
  ['Opened', 'Monitor', 'Metric', 'Value / baseline', 'Status', 'Evidence', 'Actions'],
  rows.map((i) => [
    f.time(i.opened_at),
    i.monitor,
    i.metric,
    `${f.num(i.value)} / ${f.num(i.baseline)}`,
    html`<span class="badge ${i.status === 'open' ? 'bad' : 'good'}">${i.status}</span>${i.acknowledged_at ? html` <span class="muted">acknowledged ${f.time(i.acknowledged_at)}</span>` : ''}${i.resolved_by ? html` <span class="muted">by ${i.resolved_by}</span>` : ''}`,
    html`<details><summary>show</summary><pre tabindex="0">${f.pretty(i.evidence)}</pre></details>`,
    i.status === 'open' ? html`${i.acknowledged_at ? '' : action(i, 'ack', 'Acknowledge')} ${action(i, 'resolve', 'Resolve')}` : '',
  ]),
  status === 'open' ? 'No open incidents.' : 'No incidents.',
)}`,
  });
}

/** POST /ui/incidents/:id/ack|resolve → the API, then back to the list (post/redirect/get). */
export async function incidentAction(c: Context<UiEnv>, what: 'ack' | 'resolve'): Promise<Response> {
  const id = c.req.param('id') ?? '';
  const res = await c.get('api').send('POST', `/api/incidents/${encodeURIComponent(id)}/${what}`);
  const form = await c.req.parseBody();
  const back = typeof form.back === 'string' && form.back.startsWith('/ui/incidents') ? form.back : '/ui/incidents';
  const sep = back.includes('?') ? '&' : '?';
  return c.redirect(`${back}${sep}${res.ok ? `ok=${what === 'ack' ? 'acked' : 'resolved'}` : 'failed=1'}`, 303);
}
