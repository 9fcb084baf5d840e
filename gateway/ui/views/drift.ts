import type { ApiClient } from '../api-client.ts';
import * as f from '../format.ts';
import { html, type Html } from '../html.ts';
import { table } from '../layout.ts';

interface DriftMetric {
  n_reference: number;
  n_current: number;
  psi: number | null;
  psi_level: string | null;
  ks: { d: number; p: number } | null;
  mean_reference: number | null;
  mean_current: number | null;
}
interface DriftReport {
  current: { since: string; until: string };
  reference: { since: string; until: string };
  metrics: Record<string, DriftMetric>;
  scores: Record<string, DriftMetric>;
}

/** The drift section of /ui/evals: `GET /api/evals/drift` for the same route and scorer slice. */
export async function driftSection(api: ApiClient, slice: { route?: string | undefined; scorer?: string | undefined }): Promise<Html> {
  const res = await api.get<DriftReport>('/api/evals/drift', slice);
  if (!res.ok) return html`<p class="error">${res.error}</p>`;
  const d = res.body;
  const rows = [...Object.entries(d.metrics), ...Object.entries(d.scores).map(([k, v]) => [`score:${k}`, v] as const)];
  return html`<p class="muted">Current ${f.time(d.current.since)} – ${f.time(d.current.until)} against reference ${f.time(d.reference.since)} – ${f.time(d.reference.until)}; PSI and two-sample KS over ok calls.</p>
${table(
  'Drift of production traffic',
  ['Metric', 'Calls (ref / now)', 'Mean (ref / now)', 'PSI', 'Level', 'KS D (p)'],
  rows.map(([name, m]) => [
    name,
    `${m.n_reference} / ${m.n_current}`,
    `${f.num(m.mean_reference)} / ${f.num(m.mean_current)}`,
    f.num(m.psi),
    m.psi_level ? html`<span class="badge ${m.psi_level === 'stable' ? 'good' : 'bad'}">${m.psi_level}</span>` : '—',
    m.ks ? `${f.num(m.ks.d)} (${f.num(m.ks.p)})` : '—',
  ]),
  'No traffic to compare.',
)}`;
}
