import type { Context } from 'hono';
import type { UiEnv } from '../env.ts';
import * as f from '../format.ts';
import { html, type Html } from '../html.ts';
import { page, stat, table } from '../layout.ts';
import { statusBadge } from './calls.ts';
import type { CallDetail, CallScore, List } from './types.ts';

/** Scores shown on a call's page (the API's default bound is 100). */
const SCORE_LIMIT = '50';

/** `/ui/calls/:id`: one call with its payload, retrieved context, attempts, scores, trace id and cost. */
export async function callPage(c: Context<UiEnv>): Promise<Html> {
  const id = c.req.param('id') ?? '';
  const api = c.get('api');
  const path = `/api/calls/${encodeURIComponent(id)}`;
  const [res, scores] = await Promise.all([api.get<CallDetail>(path), api.get<List<CallScore> & { has_more: boolean }>(`${path}/scores`, { limit: SCORE_LIMIT })]);
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
${scoresSection(scores.ok ? scores.body : null, scores.error)}
${call.metadata ? html`<h2>Metadata</h2><pre tabindex="0">${f.pretty(call.metadata)}</pre>` : ''}
${p?.truncated ? html`<p class="muted">The payload was truncated when it was logged.</p>` : ''}`,
  });
}

function scoresSection(list: (List<CallScore> & { has_more: boolean }) | null, error: string | null): Html {
  // Without the eval extension (`sluice serve` mounts it) there is no scores endpoint.
  if (!list) return html`<p class="empty">Scores could not be read: ${error ?? 'no answer'}.</p>`;
  return html`${table(
    'Scores of this call: online evals, eval runs and feedback, newest first',
    ['Scorer', 'Score', 'Label / explanation', 'Source', 'When'],
    list.data.map((s) => [
      html`<code>${s.scorer}</code>`,
      html`<span data-testid="score-${s.scorer}">${f.num(s.score)}</span>`,
      [s.label ? html`<span class="badge">${s.label}</span> ` : '', s.reason ?? (s.label ? '' : '—')],
      s.run_id ? html`${s.source} <a href="/ui/evals/${s.run_id}">run</a>` : s.source,
      f.time(s.created_at),
    ]),
    'No scores for this call (online scoring, eval runs and POST /api/feedback attach them).',
  )}${list.has_more ? html`<p class="muted">Only the newest ${list.data.length} scores are shown.</p>` : ''}`;
}

const attemptValue = (v: unknown): string =>
  typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : typeof v === 'object' ? JSON.stringify(v) : String(v);
