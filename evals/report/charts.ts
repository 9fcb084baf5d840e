import { alignSeries, chartJson, histogram, type ChartSpec } from '../../gateway/ui/charts/spec.ts';
import type { EvalRunRow, EvalScoreRow } from '../schema.ts';
import type { EvalSummary } from '../runner.ts';
import { escapeHtml } from './format.ts';

/**
 * The report's charts, shaped here and drawn in the page by the dashboard's chart code
 * (gateway/ui/assets/app.js, inlined with uPlot): each scorer's mean per target over the job's
 * runs on a time axis, and this run's score distribution as counts.
 */
export interface ReportChart {
  id: string;
  title: string;
  /** What the chart shows, for screen readers (the chart is a canvas). */
  label: string;
  spec: ChartSpec;
}

export function scoresOverTime(history: readonly EvalRunRow[], targets: readonly string[], scorer: string, id: string): ReportChart {
  const series = targets.map((target) => ({
    label: target,
    points: history.flatMap((h) => {
      const mean = (h.summary as unknown as EvalSummary | null)?.targets?.[target]?.[scorer]?.mean;
      return mean === null || mean === undefined ? [] : [{ x: Math.floor((h.finishedAt ?? h.createdAt).getTime() / 1000), y: mean }];
    }),
  }));
  return {
    id,
    title: scorer,
    label: `${scorer}: mean score per target over ${history.length} run${history.length === 1 ? '' : 's'} of this job`,
    spec: { ...alignSeries(series.filter((s) => s.points.length > 0)), unit: 'mean score' },
  };
}

export function distribution(scores: readonly EvalScoreRow[], targets: readonly string[], scorer: string, id: string): ReportChart {
  const groups = targets.map((target) => ({
    label: target,
    values: scores.filter((r) => r.target === target && r.scorer === scorer && r.score !== null).map((r) => r.score!),
  }));
  const all = groups.flatMap((g) => g.values);
  // Scores are usually in [0, 1]; a scorer with another range (latency, cost) keeps its own.
  const lo = Math.min(0, ...all);
  const hi = Math.max(1, ...all);
  return {
    id,
    title: scorer,
    label: `${scorer}: number of items per score bin, per target (this run)`,
    // No scores at all (every one null): no series, so the chart says there is no data.
    spec: { ...histogram(all.length ? groups : [], { lo, hi, bins: 10 }), unit: 'items', integer: true, xKind: 'value', xLabel: 'score (bin centre)' },
  };
}

export function chartBox(c: ReportChart): string {
  return `<section class="chart-box" aria-labelledby="${c.id}-title">
<h3 id="${c.id}-title">${escapeHtml(c.title)}</h3>
<div class="chart" data-source="${c.id}-data" role="img" aria-label="${escapeHtml(c.label)}"></div>
<script type="application/json" id="${c.id}-data">${chartJson(c.spec)}</script>
</section>`;
}
