import { SCORE_INTERVAL_METHOD, scoreInterval } from '../../core/stats/bounded.ts';
import type { Interval } from '../../core/stats/math.ts';
import { benjaminiHochberg } from './bh.ts';
import { pairedBootstrapCi } from './bootstrap.ts';
import { isBinary, mean } from './describe.ts';
import { mcnemarLess } from './mcnemar.ts';
import { signFlipLess } from './permutation.ts';
import { createRng } from './prng.ts';

/** Scores of one target for one scorer, by item id (null = not applicable). */
export type ScoreColumn = ReadonlyMap<string, number | null>;
/** target → scorer → scores. */
export type ScoreTable = ReadonlyMap<string, ReadonlyMap<string, ScoreColumn>>;

export interface GateSpec {
  scorer: string;
  /** Largest tolerated drop of the mean (same units as the score). */
  max_drop: number;
  confidence: number;
}

export interface ScorerSummary {
  n: number;
  nulls: number;
  mean: number | null;
  /**
   * Interval of the mean at the run's confidence; inside [0, 1] for scores in [0, 1]
   * (gateway/routing/stats-bounded.ts says which interval and why).
   */
  ci: Interval | null;
}

export type Verdict = 'regression' | 'improvement' | 'no_change' | 'insufficient_data';

export interface Comparison {
  target: string;
  baseline: string;
  scorer: string;
  /** Items scored (non-null) for both targets. */
  pairs: number;
  /** Mean of candidate − baseline over the pairs. */
  delta: number | null;
  /** Paired bootstrap percentile interval of the delta (inside [−1, 1] for [0, 1] scores: it is a mean of differences). */
  delta_ci: Interval | null;
  /** One-sided p-value for "the candidate is worse". */
  p: number | null;
  /** Benjamini–Hochberg adjusted across every comparison of the run. */
  p_adjusted: number | null;
  test: 'mcnemar' | 'sign_flip' | null;
  mcnemar?: { b: number; c: number; method: string };
  /** The drop that counts as material for this scorer (the gate's max_drop, else 0). */
  max_drop: number;
  verdict: Verdict;
}

export interface GateResult {
  scorer: string;
  max_drop: number;
  confidence: number;
  verdict: 'pass' | 'fail' | 'skipped';
  reason: string;
  /** Targets that regressed on the gate's scorer. */
  failed_targets: string[];
}

export interface RunSummary {
  confidence: number;
  baseline: string | null;
  targets: Record<string, Record<string, ScorerSummary>>;
  comparisons: Comparison[];
  gate: GateResult | null;
  regression: boolean;
  method: Record<string, string>;
}

export interface CompareOptions {
  baseline: string | null;
  /** Targets compared with the baseline; default every other target. */
  candidates?: readonly string[];
  gate: GateSpec | null;
  /** Used when there is no gate. Default 0.95. */
  confidence?: number;
  resamples?: number;
  seed?: number | string;
}

export const METHOD: Record<string, string> = {
  mean_ci: SCORE_INTERVAL_METHOD,
  delta_ci: 'paired bootstrap percentile interval of mean(candidate − baseline) over items scored for both',
  p: 'one-sided p for "candidate worse": exact McNemar (binomial, < 50 discordant pairs; χ² with continuity correction above) when both columns are 0/1, else a sign-flip permutation test',
  p_adjusted: 'Benjamini–Hochberg across all (target, scorer) comparisons of the run',
  verdict: 'regression when p_adjusted < 1 − confidence and delta < −max_drop; improvement when the delta interval lies above 0',
};

function summarise(col: ScoreColumn, confidence: number): ScorerSummary {
  const xs = [...col.values()].filter((v): v is number => v !== null);
  const m = xs.length ? mean(xs) : null;
  return { n: xs.length, nulls: col.size - xs.length, mean: m, ci: scoreInterval(xs, confidence) };
}

function pairsOf(base: ScoreColumn, cand: ScoreColumn): { b: number[]; c: number[] } {
  const b: number[] = [];
  const c: number[] = [];
  // Sorted ids so the resampling order (hence the seeded result) never depends on arrival order.
  for (const id of [...cand.keys()].sort()) {
    const y = cand.get(id);
    const x = base.get(id);
    if (x === null || x === undefined || y === null || y === undefined) continue;
    b.push(x);
    c.push(y);
  }
  return { b, c };
}

/** Candidate vs baseline per scorer, with the multiplicity correction and the gate's decision. */
export function compareTargets(table: ScoreTable, opts: CompareOptions): RunSummary {
  const confidence = opts.gate?.confidence ?? opts.confidence ?? 0.95;
  const alpha = 1 - confidence;
  const resamples = opts.resamples ?? 2000;
  const seed = String(opts.seed ?? 0);
  const targets: RunSummary['targets'] = {};
  for (const [target, scorers] of table) {
    targets[target] = {};
    for (const [scorer, col] of scorers) targets[target][scorer] = summarise(col, confidence);
  }

  const comparisons: Comparison[] = [];
  const base = opts.baseline === null ? undefined : table.get(opts.baseline);
  if (base && opts.baseline !== null) {
    for (const [target, scorers] of table) {
      if (target === opts.baseline || (opts.candidates && !opts.candidates.includes(target))) continue;
      for (const [scorer, col] of scorers) {
        const baseCol = base.get(scorer);
        const maxDrop = opts.gate && opts.gate.scorer === scorer ? opts.gate.max_drop : 0;
        const { b, c } = baseCol ? pairsOf(baseCol, col) : { b: [], c: [] };
        const cmp: Comparison = {
          target,
          baseline: opts.baseline,
          scorer,
          pairs: b.length,
          delta: null,
          delta_ci: null,
          p: null,
          p_adjusted: null,
          test: null,
          max_drop: maxDrop,
          verdict: 'insufficient_data',
        };
        if (b.length >= 2) {
          const diffs = c.map((y, i) => y - b[i]!);
          cmp.delta = mean(diffs);
          cmp.delta_ci = pairedBootstrapCi(diffs, { confidence, resamples, rng: createRng(`${seed}:ci:${target}:${scorer}`) });
          if (isBinary(b) && isBinary(c)) {
            const m = mcnemarLess(b, c);
            cmp.p = m.p;
            cmp.test = 'mcnemar';
            cmp.mcnemar = { b: m.b, c: m.c, method: m.method };
          } else {
            cmp.p = signFlipLess(diffs, { resamples, rng: createRng(`${seed}:perm:${target}:${scorer}`) });
            cmp.test = 'sign_flip';
          }
        }
        comparisons.push(cmp);
      }
    }
  }
  const adjusted = benjaminiHochberg(comparisons.map((c) => c.p ?? Number.NaN));
  comparisons.forEach((c, i) => {
    const q = adjusted[i]!;
    if (c.p === null || c.delta === null) return;
    c.p_adjusted = q;
    if (q < alpha && c.delta < -c.max_drop) c.verdict = 'regression';
    else if (c.delta_ci && c.delta_ci[0] > 0) c.verdict = 'improvement';
    else c.verdict = 'no_change';
  });

  const gate = opts.gate ? decideGate(opts.gate, comparisons, opts.baseline) : null;
  return {
    confidence,
    baseline: base ? opts.baseline : null,
    targets,
    comparisons,
    gate,
    regression: gate?.verdict === 'fail',
    method: METHOD,
  };
}

function decideGate(spec: GateSpec, comparisons: readonly Comparison[], baseline: string | null): GateResult {
  const out = { scorer: spec.scorer, max_drop: spec.max_drop, confidence: spec.confidence };
  const relevant = comparisons.filter((c) => c.scorer === spec.scorer);
  if (baseline === null || relevant.length === 0) {
    return { ...out, verdict: 'skipped', reason: baseline === null ? 'no baseline target to compare with' : `no paired scores for '${spec.scorer}'`, failed_targets: [] };
  }
  const failed = relevant.filter((c) => c.verdict === 'regression').map((c) => c.target);
  if (failed.length > 0) {
    const worst = relevant.find((c) => c.target === failed[0])!;
    return {
      ...out,
      verdict: 'fail',
      reason: `${failed.join(', ')} dropped ${fmt(-(worst.delta ?? 0))} on ${spec.scorer} vs ${baseline} (max ${spec.max_drop}, p_adj ${fmt(worst.p_adjusted ?? 1)})`,
      failed_targets: failed,
    };
  }
  if (relevant.every((c) => c.verdict === 'insufficient_data')) {
    return { ...out, verdict: 'skipped', reason: `fewer than 2 paired scores for '${spec.scorer}'`, failed_targets: [] };
  }
  return { ...out, verdict: 'pass', reason: `no significant drop beyond ${spec.max_drop} on ${spec.scorer}`, failed_targets: [] };
}

const fmt = (x: number): string => (Math.abs(x) >= 0.001 || x === 0 ? x.toFixed(3) : x.toExponential(2));
