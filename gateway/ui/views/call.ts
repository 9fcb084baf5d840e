import type { Context } from 'hono';
import type { UiEnv } from '../env.ts';
import * as f from '../format.ts';
import { html, type Html } from '../html.ts';
import { page, stat, table } from '../layout.ts';
import { statusBadge } from './calls.ts';
import type { CallDetail } from './types.ts';

/** `/ui/calls/:id`: one call with its payload, retrieved context, attempts, trace id and cost. */
export async function callPage(c: Context<UiEnv>): Promise<Html> {
  const id = c.req.param('id') ?? '';
  const res = await c.get('api').get<CallDetail>(`/api/calls/${encodeURIComponent(id)}`);
  if (!res.ok) return page({ title: 'Call', view: 'calls', error: res.error, body: html`<p><a href="/ui/calls">Back to calls</a></p>` });
  const call = res.body;
  const p = call.payload;
  const attempts = call.attempts.map((a) => Object.entries(a));
  return page({
    title: `Call ${call.id}`,
    view: 'calls',
    body: html`
<p><a href="/ui/calls">Back to calls</a></p>
<dl class="stats">
  ${stat('Status', html`${statusBadge(call.status)} <span class="muted">HTTP ${call.http_status}</span>`)}
  ${stat('Started', f.time(call.started_at))}
  ${stat('Route / variant', call.route ? `${call.route} / ${call.variant ?? '—'}` : '—')}
  ${stat('Model', call.model ? `${call.provider ?? ''}/${call.model}` : '—')}
  ${stat('Latency', f.ms(call.latency_ms), 'call-latency')}
  ${stat('Cost', f.usd(call.cost_usd), 'call-cost')}
  ${stat('Tokens in / out', call.usage ? `${call.usage.input_tokens ?? '—'} / ${call.usage.output_tokens ?? '—'}` : '—')}
  ${stat('Cache', call.cache_status ?? '—')}
  ${stat('Trace id', html`<code>${call.trace_id ?? '—'}</code>`, 'trace-id')}
  ${stat('Prompt', call.prompt_name ? `${call.prompt_name}@${call.prompt_version ?? '?'}` : '—')}
</dl>
${call.error_message ? html`<p class="error">${call.error_code}: ${call.error_message}</p>` : ''}
<h2>Attempts</h2>
${table(
  'Upstream attempts, in order',
  ['#', 'Details'],
  attempts.map((entries, i) => [String(i + 1), html`${entries.map(([k, v]) => html`<code>${k}</code>=${attemptValue(v)} `)}`]),
  'No upstream attempt (answered from the cache or refused before the upstream).',
)}
<h2>Request</h2>
${p ? html`<pre tabindex="0">${f.pretty(p.request)}</pre>` : html`<p class="empty">No payload was logged for this call.</p>`}
<h2>Response</h2>
${p ? html`<pre tabindex="0">${f.pretty(p.response)}</pre>` : html`<p class="empty">No payload was logged for this call.</p>`}
<h2>Retrieved context</h2>
${call.retrieved_doc_ids?.length ? html`<p>Documents: ${call.retrieved_doc_ids.map((d) => html`<code>${d}</code> `)} <span class="muted">(${f.ms(call.retrieval_ms)})</span></p>` : html`<p class="empty">No retrieval for this call.</p>`}
${p?.rag ? html`<pre tabindex="0">${f.pretty(p.rag)}</pre>` : ''}
<h2>Scores</h2>
<p class="empty">The admin API has no read endpoint for a call's scores yet (<code>POST /api/feedback</code> only writes them); they show in the route's stats and the eval views.</p>
${call.metadata ? html`<h2>Metadata</h2><pre tabindex="0">${f.pretty(call.metadata)}</pre>` : ''}
${p?.truncated ? html`<p class="muted">The payload was truncated when it was logged.</p>` : ''}`,
  });
}

const attemptValue = (v: unknown): string =>
  typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : typeof v === 'object' ? JSON.stringify(v) : String(v);
