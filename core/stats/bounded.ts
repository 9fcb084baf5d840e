import { incompleteBeta, meanInterval, studentTQuantile, zFor, type Interval } from './math.ts';

/**
 * Intervals for means of scores that live in [0, 1] (every built-in eval score, error rates),
 * which must never reach outside [0, 1] — a Student t interval does near the edges (0.96 ± 0.08
 * on four scores says 1.04). Both intervals here come from Beta quantiles, so they stay inside
 * [0, 1] by construction; nothing is clamped.
 *
 * - Pass/fail scores (every value 0 or 1) and rates: Clopper–Pearson, the "exact" interval.
 *   Chosen over Wilson because its coverage never drops below the nominal level for any p and
 *   n, while Wilson's does, right where evals live (few items, rates near 0 or 1): at n = 50,
 *   p = 0.02 a 95% Wilson interval covers only 92.2% of the time, and 83.7% at n = 5, p = 0.035
 *   (Jeffreys and Agresti–Coull dip to ~87% and ~90%). The price is a somewhat wider interval.
 * - Other scores in [0, 1]: Korn–Graubard (1998), i.e. Clopper–Pearson at the effective sample
 *   size n* = m(1 − m) / (s²/n), shrunk by (z / t_{n−1})² for a variance estimated from n
 *   values. A binary sample of size n* has the same mean and standard error as the data, so the
 *   interval is close to mean ± t·s/√n away from the edges and bends inside [0, 1] near them.
 *   Chosen over a bootstrap percentile interval (under-covers at n = 10 and collapses to a point
 *   on all-equal samples) and a logit interval (undefined at a mean of 0 or 1); on seeded
 *   simulations of skewed [0, 1] scores it covers at least as well as the t interval
 *   (stats-bounded.test.ts: n = 10 draws of 1 − u⁸, 87.8% against t's 80.7%; neither reaches the
 *   nominal 95% on scores that skewed, so read intervals of ten items as rough).
 * - Values outside [0, 1] (a custom score, latency): the plain Student t interval.
 */

/** The p-quantile of Beta(a, b) (a, b > 0 may be fractional), by bisection on its CDF. */
export function betaQuantile(p: number, a: number, b: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  let lo = 0;
  let hi = 1;
  // I_x(a, b) is monotone in x; 200 halvings reach the double-precision floor well before.
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = (lo + hi) / 2;
    if (incompleteBeta(mid, a, b) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Clopper–Pearson interval for x successes out of n; x may be fractional (Korn–Graubard uses
 * an effective count). [0, ·] at x = 0 and [·, 1] at x = n. Null when n ≤ 0.
 */
export function clopperPearson(x: number, n: number, confidence: number): Interval | null {
  if (!(n > 0)) return null;
  const alpha = 1 - confidence;
  const lo = x <= 0 ? 0 : betaQuantile(alpha / 2, x, n - x + 1);
  const hi = x >= n ? 1 : betaQuantile(1 - alpha / 2, x + 1, n - x);
  return [lo, hi];
}

/**
 * Korn–Graubard interval for the mean of n values in [0, 1] with sample sd `sd` (n − 1
 * denominator). Null below two values. With no spread at all (every value equal, inside
 * (0, 1)) the sample says nothing about the variance, so it is taken at the largest a [0, 1]
 * score can have, m(1 − m) — the interval of a pass/fail sample with that mean — rather than
 * the zero-width point a t interval would give.
 */
export function kornGraubard(mean: number, sd: number, n: number, confidence: number): Interval | null {
  if (n < 2) return null;
  if (mean <= 0 || mean >= 1) return clopperPearson(mean <= 0 ? 0 : n, n, confidence);
  if (!(sd > 0)) return clopperPearson(mean * n, n, confidence);
  const dfAdjust = (zFor(confidence) / studentTQuantile(1 - (1 - confidence) / 2, n - 1)) ** 2;
  const nEff = ((mean * (1 - mean)) / ((sd * sd) / n)) * dfAdjust;
  return clopperPearson(mean * nEff, nEff, confidence);
}

/** What a score column's interval is computed from (in memory or from SQL aggregates). */
export interface ScoreSummary {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 when unknown or n < 2. */
  sd: number;
  min: number;
  max: number;
  /** Every value is exactly 0 or 1. */
  binary: boolean;
}

export type ScoreIntervalMethod = 'clopper_pearson' | 'korn_graubard' | 'student_t';

/** The interval for a score mean, by the rule in this file's header; `method` says which. */
export function scoreMeanInterval(s: ScoreSummary, confidence: number): { ci: Interval | null; method: ScoreIntervalMethod } {
  if (s.binary) return { ci: clopperPearson(Math.round(s.mean * s.n), s.n, confidence), method: 'clopper_pearson' };
  if (s.min >= 0 && s.max <= 1) return { ci: kornGraubard(s.mean, s.sd, s.n, confidence), method: 'korn_graubard' };
  return { ci: meanInterval(s.mean, s.sd, s.n, confidence), method: 'student_t' };
}

/** Summary statistics of plain values, for scoreMeanInterval. Null when empty. */
export function summarizeScores(xs: readonly number[]): ScoreSummary | null {
  const n = xs.length;
  if (n === 0) return null;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let binary = true;
  for (const x of xs) {
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
    if (x !== 0 && x !== 1) binary = false;
  }
  const mean = sum / n;
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  return { n, mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, min, max, binary };
}

/** The interval of the mean of `xs` (see scoreMeanInterval); null when empty. */
export function scoreInterval(xs: readonly number[], confidence: number): Interval | null {
  const s = summarizeScores(xs);
  return s && scoreMeanInterval(s, confidence).ci;
}

/** One-line description of the rule, for the `method` maps reports return. */
export const SCORE_INTERVAL_METHOD =
  'Clopper–Pearson (exact) when every score is 0 or 1; Korn–Graubard (Clopper–Pearson at the effective sample size m(1−m)/(s²/n), df-adjusted) for other scores in [0, 1], so the interval stays inside [0, 1]; Student t for values outside [0, 1]';
