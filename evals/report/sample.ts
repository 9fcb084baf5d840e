import type { EvalItem } from '../datasets/item.ts';
import type { EvalSummary } from '../runner.ts';
import type { EvalRunRow, EvalScoreRow } from '../schema.ts';
import type { HtmlReportInput } from './html.ts';

/**
 * A made-up report input for the report's tests (unit and browser): three runs of one job a few
 * hours apart, two targets whose means coincide in one run (overlapping series), and items with
 * markup, long and multi-line text.
 */
export const HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>';
export const LONG = `${'A long answer that goes on. '.repeat(40)}END-OF-LONG`;

const targets = ['v1', 'v2'];
const scorers = ['contains', 'groundedness'];

function summary(means: Record<string, Record<string, number>>): EvalSummary {
  return {
    job: 'qa-job',
    dataset: { name: 'qa', version: 'abc123', items: 6 },
    counts: { units: 12, failed_units: 0, scores: 24, null_scores: 1 },
    duration_ms: 1234,
    confidence: 0.95,
    baseline: 'v1',
    targets: Object.fromEntries(targets.map((t) => [t, Object.fromEntries(scorers.map((s) => [s, { n: 6, nulls: 0, mean: means[t]![s]!, ci: [0, 1] as [number, number] }]))])),
    comparisons: scorers.map((s) => ({ target: 'v2', baseline: 'v1', scorer: s, pairs: 6, delta: means.v2![s]! - means.v1![s]!, delta_ci: [-0.5, 0.1] as [number, number], p: 0.2, p_adjusted: 0.3, test: 'sign_flip' as const, verdict: 'no_change' as const })),
    gate: { scorer: 'contains', max_drop: 0.1, confidence: 0.95, verdict: 'pass', reason: 'no target dropped', failed_targets: [] },
    regression: false,
    method: { mean_ci: 'Wilson <interval>' },
  } as unknown as EvalSummary;
}

function runRow(id: string, at: string, s: EvalSummary): EvalRunRow {
  const t = new Date(at);
  return {
    id, name: 'qa-job', job: {}, mode: 'offline', status: 'succeeded', datasetName: 'qa', datasetVersion: 'abc123', trigger: 'cli',
    createdAt: t, startedAt: t, finishedAt: t, heartbeatAt: null, worker: null, progress: null, error: null, summary: s as unknown as Record<string, unknown>,
  };
}

export const SAMPLE_ITEMS: EvalItem[] = [
  { item_id: 'q0', input: 'What is 2+2?', expected: '4' },
  { item_id: 'q1', input: HOSTILE, expected: { answer: '<b>bold</b>' } },
  { item_id: 'q2', input: LONG, expected: 'short' },
  { item_id: 'q3', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Line one\nline two\nline three\nline four\nline five\nline six\nline seven' }] },
  { item_id: 'q4', input: 'Capital of France?', expected: 'Paris' },
  { item_id: 'q5', input: 'Say nothing', expected: '' },
];

function outputOf(item: string, target: string): string | null {
  if (item === 'q1') return `${target} says ${HOSTILE}`;
  if (item === 'q2' && target === 'v2') return LONG;
  if (item === 'q5' && target === 'v2') return null;
  return `${target} answer to ${item}`;
}

export function sampleReport(): HtmlReportInput {
  const history = [
    runRow('0190a000-0000-7000-8000-000000000001', '2026-03-02T09:15:00Z', summary({ v1: { contains: 0.5, groundedness: 0.8 }, v2: { contains: 0.5, groundedness: 0.8 } })),
    runRow('0190a000-0000-7000-8000-000000000002', '2026-03-02T13:40:00Z', summary({ v1: { contains: 0.667, groundedness: 0.75 }, v2: { contains: 0.5, groundedness: 0.7 } })),
    runRow('0190a000-0000-7000-8000-000000000003', '2026-03-02T18:05:00Z', summary({ v1: { contains: 0.833, groundedness: 0.9 }, v2: { contains: 0.667, groundedness: 0.7 } })),
  ];
  const run = history[2]!;
  const scores: EvalScoreRow[] = targets.flatMap((target, ti) =>
    SAMPLE_ITEMS.flatMap((it, ii) =>
      scorers.map((scorer) => {
        const output = outputOf(it.item_id, target);
        const score = output === null && scorer === 'groundedness' ? null : ((ii + ti + (scorer === 'contains' ? 0 : 3)) % 4) / 3;
        return {
          runId: run.id, itemId: it.item_id, target, output, scorer, score: score === null ? null : Math.min(1, score),
          reason: score === null ? 'no output <to score>' : null, details: null, judgePromptVersion: null, judgeModel: null, callId: null, latencyMs: 10, costUsd: null, createdAt: run.createdAt,
        };
      }),
    ),
  );
  return { run, history, scores, items: SAMPLE_ITEMS };
}
