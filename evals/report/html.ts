import type { EvalRunRow, EvalScoreRow } from '../schema.ts';
import type { EvalSummary } from '../runner.ts';
import { escapeHtml, interval, num, pValue, signed } from './format.ts';
import { histogram, lineChart, type LineSeries } from './svg.ts';

/**
 * `sluice eval report <run> --html out.html`: one self-contained file (inline CSS and SVG, no
 * scripts or external assets) with the run's results, the gate, each scorer's mean over time
 * across earlier runs of the same job (per target), and this run's score distributions.
 */
export interface HtmlReportInput {
  run: EvalRunRow;
  /** Earlier and this run of the same job, oldest first (succeeded only). */
  history: EvalRunRow[];
  scores: EvalScoreRow[];
}

export function renderHtmlReport({ run, history, scores }: HtmlReportInput): string {
  const s = run.summary as unknown as EvalSummary | null;
  const title = `sluice eval — ${run.name}`;
  const body: string[] = [`<h1>${escapeHtml(run.name)}</h1>`, `<p class="meta">run <code>${run.id}</code> · ${escapeHtml(run.status)} · ${run.finishedAt?.toISOString() ?? run.createdAt.toISOString()}${run.datasetName ? ` · dataset <code>${escapeHtml(run.datasetName)}@${escapeHtml(run.datasetVersion ?? '')}</code>` : ''}</p>`];
  if (!s) {
    body.push(`<p>No results${run.error ? `: ${escapeHtml(run.error)}` : ''}.</p>`);
  } else {
    body.push(gateHtml(s), resultsTable(s));
    const scorers = [...new Set(Object.values(s.targets).flatMap((t) => Object.keys(t)))];
    body.push('<h2>Scores over time</h2><p class="meta">Mean of each target per run of this job (earlier runs and this one).</p>');
    for (const scorer of scorers) {
      const series: LineSeries[] = [];
      for (const target of Object.keys(s.targets)) {
        const points = history.flatMap((h) => {
          const hs = h.summary as unknown as EvalSummary | null;
          const mean = hs?.targets?.[target]?.[scorer]?.mean;
          return mean === null || mean === undefined ? [] : [{ x: (h.finishedAt ?? h.createdAt).getTime(), y: mean, label: h.id.slice(0, 8) }];
        });
        if (points.length) series.push({ name: target, points });
      }
      body.push(`<figure><figcaption>${escapeHtml(scorer)}</figcaption>${lineChart(series)}</figure>`);
    }
    body.push('<h2>Score distributions (this run)</h2>');
    for (const scorer of scorers) {
      const groups = Object.keys(s.targets).map((target) => ({
        name: target,
        values: scores.filter((r) => r.target === target && r.scorer === scorer && r.score !== null).map((r) => r.score!),
      }));
      body.push(`<figure><figcaption>${escapeHtml(scorer)}</figcaption>${histogram(groups)}</figure>`);
    }
    body.push(`<p class="meta">Method: ${Object.entries(s.method).map(([k, v]) => `<b>${escapeHtml(k)}</b>: ${escapeHtml(v)}`).join('; ')}</p>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:980px;color:#111827;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0;width:100%}th,td{padding:.3rem .6rem;border-bottom:1px solid #e5e7eb;text-align:left;white-space:nowrap}
th{background:#f9fafb}td.n{text-align:right;font-variant-numeric:tabular-nums}.meta{color:#6b7280}
.regression{color:#b91c1c;font-weight:600}.improvement{color:#15803d;font-weight:600}
.gate{padding:.6rem .9rem;border-radius:6px;margin:1rem 0}.gate.fail{background:#fee2e2}.gate.pass{background:#dcfce7}.gate.skipped{background:#f3f4f6}
figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}code{font-size:12px}
</style></head><body>
${body.join('\n')}
</body></html>
`;
}

function gateHtml(s: EvalSummary): string {
  if (!s.gate) return '<div class="gate skipped">No gate in this job.</div>';
  return `<div class="gate ${s.gate.verdict}"><b>Gate ${s.gate.verdict.toUpperCase()}</b> — ${escapeHtml(s.gate.scorer)} may drop at most ${s.gate.max_drop} at ${Math.round(s.gate.confidence * 100)}% confidence. ${escapeHtml(s.gate.reason)}</div>`;
}

function resultsTable(s: EvalSummary): string {
  const rows: string[] = [];
  for (const [target, scorers] of Object.entries(s.targets)) {
    for (const [scorer, m] of Object.entries(scorers)) {
      const c = s.comparisons.find((x) => x.target === target && x.scorer === scorer);
      rows.push(
        `<tr><td>${escapeHtml(target)}</td><td>${escapeHtml(scorer)}</td><td class="n">${m.n}${m.nulls ? ` (+${m.nulls} null)` : ''}</td><td class="n">${num(m.mean)}</td><td class="n">${interval(m.ci)}</td>` +
          `<td class="n">${c ? signed(c.delta) : target === s.baseline ? 'baseline' : ''}</td><td class="n">${c ? interval(c.delta_ci) : ''}</td><td class="n">${c ? pValue(c.p_adjusted) : ''}</td>` +
          `<td class="${c?.verdict ?? ''}">${c ? c.verdict.replace('_', ' ') : ''}</td></tr>`,
      );
    }
  }
  const pct = `${Math.round(s.confidence * 100)}%`;
  return `<table><thead><tr><th>target</th><th>scorer</th><th>n</th><th>mean</th><th>${pct} CI</th><th>Δ vs ${escapeHtml(s.baseline ?? 'baseline')}</th><th>${pct} CI</th><th>p (adj)</th><th>verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
