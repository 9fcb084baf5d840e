import type { EvalSummary } from '../runner.ts';
import { interval, num, pValue, signed } from './format.ts';

/**
 * The terminal report: per target and scorer the mean with its interval, and for candidates the
 * paired delta vs the baseline with its interval, the BH-adjusted p-value and the verdict; then
 * the gate's decision.
 */
export function renderTable(runId: string, s: EvalSummary): string {
  const pct = `${Math.round(s.confidence * 100)}%`;
  const compared = s.comparisons.length > 0;
  const header = ['target', 'scorer', 'n', 'mean', `${pct} CI`, ...(compared ? [`Δ vs ${s.baseline}`, `${pct} CI`, 'p (adj)', 'verdict'] : [])];
  const rows: string[][] = [];
  for (const [target, scorers] of Object.entries(s.targets)) {
    for (const [scorer, m] of Object.entries(scorers)) {
      const cmp = s.comparisons.find((c) => c.target === target && c.scorer === scorer);
      const row = [target, scorer, `${m.n}${m.nulls ? ` (+${m.nulls} null)` : ''}`, num(m.mean), interval(m.ci)];
      if (compared) {
        row.push(
          cmp ? signed(cmp.delta) : target === s.baseline ? 'baseline' : '',
          cmp ? interval(cmp.delta_ci) : '',
          cmp ? pValue(cmp.p_adjusted) : '',
          cmp ? cmp.verdict.replace('_', ' ') : '',
        );
      }
      rows.push(row);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [
    `run ${runId}  ${s.job}  dataset ${s.dataset.name}@${s.dataset.version} (${s.dataset.items} items, ${s.counts.units} runs${s.counts.failed_units ? `, ${s.counts.failed_units} failed` : ''})`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ];
  if (s.gate) {
    const mark = s.gate.verdict === 'fail' ? 'FAIL' : s.gate.verdict === 'pass' ? 'PASS' : 'SKIPPED';
    out.push(`gate: ${s.gate.scorer} may drop at most ${s.gate.max_drop} at ${Math.round(s.gate.confidence * 100)}% confidence → ${mark}: ${s.gate.reason}`);
  } else {
    out.push('gate: none');
  }
  out.push(s.regression ? 'verdict: REGRESSION' : 'verdict: no regression');
  return `${out.join('\n')}\n`;
}
