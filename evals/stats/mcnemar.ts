import { logGamma, normalCdf } from '../../core/stats/math.ts';

export interface McNemarResult {
  /** Items the baseline passed and the candidate failed. */
  b: number;
  /** Items the baseline failed and the candidate passed. */
  c: number;
  /** One-sided p-value for "the candidate fails more often". */
  p: number;
  method: 'exact' | 'chi2-cc';
}

/** Below this many discordant pairs the exact binomial is used (the χ² approximation is poor). */
export const EXACT_BELOW = 50;

/** P(X ≥ k) for X ~ Binomial(n, ½), summed in log space. */
export function binomialUpperTail(k: number, n: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  const lnHalfN = n * Math.log(0.5);
  let p = 0;
  for (let i = k; i <= n; i++) p += Math.exp(logGamma(n + 1) - logGamma(i + 1) - logGamma(n - i + 1) + lnHalfN);
  return Math.min(1, p);
}

/**
 * McNemar's test for paired pass/fail outcomes (0/1 scores). Only discordant pairs carry
 * information: under H0 each is equally likely to go either way, so b ~ Binomial(b + c, ½).
 * Exact binomial tail for small counts; otherwise the continuity-corrected normal (the signed
 * square root of McNemar's χ²), one-sided.
 */
export function mcnemarLess(baseline: readonly number[], candidate: readonly number[]): McNemarResult {
  let b = 0;
  let c = 0;
  for (let i = 0; i < baseline.length; i++) {
    const x = baseline[i]!;
    const y = candidate[i]!;
    if (x === 1 && y === 0) b++;
    else if (x === 0 && y === 1) c++;
  }
  const n = b + c;
  if (n === 0) return { b, c, p: 1, method: 'exact' };
  if (n < EXACT_BELOW) return { b, c, p: binomialUpperTail(b, n), method: 'exact' };
  const z = (b - c - 1) / Math.sqrt(n);
  return { b, c, p: 1 - normalCdf(z), method: 'chi2-cc' };
}
