import { inlineChartCode } from '../../gateway/ui/charts/inline.ts';
import type { EvalItem } from '../datasets/item.ts';
import type { EvalRunRow, EvalScoreRow } from '../schema.ts';
import type { EvalSummary } from '../runner.ts';
import { chartBox, distribution, scoresOverTime } from './charts.ts';
import { escapeHtml, interval, num, pValue, signed } from './format.ts';
import { itemsSection } from './items.ts';
import { REPORT_CSS } from './style.ts';

/**
 * `sluice eval report <run> --html out.html`: one self-contained file that works offline (CSS,
 * uPlot and the dashboard's chart code inlined; no external URL) with the run's results, the
 * gate, each scorer's mean over time across the job's runs (per target), this run's score
 * distributions and the results per item.
 */
export interface HtmlReportInput {
  run: EvalRunRow;
  /** Earlier and this run of the same job, oldest first (succeeded only). */
  history: EvalRunRow[];
  scores: EvalScoreRow[];
  /** The run's dataset items, for their input and expected answer (omitted: outputs and scores only). */
  items?: readonly EvalItem[];
}

export function renderHtmlReport({ run, history, scores, items }: HtmlReportInput): string {
  const s = run.summary as unknown as EvalSummary | null;
  const title = `sluice eval — ${run.name}`;
  const body: string[] = [
    `<h1>${escapeHtml(run.name)}</h1>`,
    `<p class="meta">run <code>${escapeHtml(run.id)}</code> · ${escapeHtml(run.status)} · ${(run.finishedAt ?? run.createdAt).toISOString()}${run.datasetName ? ` · dataset <code>${escapeHtml(run.datasetName)}@${escapeHtml(run.datasetVersion ?? '')}</code>` : ''}</p>`,
  ];
  if (!s) {
    body.push(`<p>No results${run.error ? `: ${escapeHtml(run.error)}` : ''}.</p>`);
  } else {
    const targets = Object.keys(s.targets);
    const scorers = [...new Set(Object.values(s.targets).flatMap((t) => Object.keys(t)))];
    body.push(
      gateHtml(s),
      resultsTable(s),
      '<noscript><p class="meta">The charts need JavaScript; the numbers are in the tables.</p></noscript>',
      '<h2>Scores over time</h2><p class="meta">Mean score of each target in each run of this job (earlier runs and this one), at the time the run finished (UTC).</p>',
      `<div class="charts">${scorers.map((scorer, i) => chartBox(scoresOverTime(history, targets, scorer, `trend-${i}`))).join('\n')}</div>`,
      '<h2>Score distributions (this run)</h2><p class="meta">Number of items per score bin, per target.</p>',
      `<div class="charts">${scorers.map((scorer, i) => chartBox(distribution(scores, targets, scorer, `dist-${i}`))).join('\n')}</div>`,
      itemsSection(scores, targets, items),
      `<p class="meta">Method: ${Object.entries(s.method).map(([k, v]) => `<b>${escapeHtml(k)}</b>: ${escapeHtml(v)}`).join('; ')}</p>`,
    );
  }
  const code = inlineChartCode();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>${code.css}</style>
<style>${REPORT_CSS}</style></head><body><main>
${body.join('\n')}
</main>
${code.scripts.map((js) => `<script>${js}</script>`).join('\n')}
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
  return `<div class="table-wrap"><table><thead><tr><th>target</th><th>scorer</th><th>n</th><th>mean</th><th>${pct} CI</th><th>Δ vs ${escapeHtml(s.baseline ?? 'baseline')}</th><th>${pct} CI</th><th>p (adj)</th><th>verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}
