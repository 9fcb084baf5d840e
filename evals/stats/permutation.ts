import type { Rng } from './prng.ts';

export interface SignFlipOptions {
  resamples: number;
  rng: Rng;
}

/**
 * Sign-flip (paired permutation) test of H0: the differences are symmetric about 0, against
 * the one-sided alternative that their mean is below 0 (the candidate is worse). Each
 * resample flips every difference's sign with probability ½; the p-value counts the observed
 * statistic as one of the resamples, (1 + #{T* ≤ T}) / (1 + B), so it is never 0 and the test
 * keeps its level exactly. Zero differences carry no information and cannot change the sum.
 */
export function signFlipLess(diffs: readonly number[], opts: SignFlipOptions): number {
  const xs = diffs.filter((d) => d !== 0);
  if (xs.length === 0) return 1;
  let observed = 0;
  for (const d of xs) observed += d;
  // Scale-free tolerance so ties with the observed sum (floating point) count as "as extreme".
  const tol = 1e-12 * xs.reduce((s, d) => s + Math.abs(d), 0);
  let extreme = 0;
  for (let b = 0; b < opts.resamples; b++) {
    if (flippedSum(xs, opts.rng) <= observed + tol) extreme++;
  }
  return (1 + extreme) / (1 + opts.resamples);
}

/** Σ ±d with independent fair signs; one 32-bit draw supplies 32 signs. */
function flippedSum(xs: readonly number[], rng: () => number): number {
  let s = 0;
  let bits = 0;
  for (let i = 0; i < xs.length; i++) {
    if ((i & 31) === 0) bits = (rng() * 4294967296) >>> 0;
    s += bits & 1 ? -xs[i]! : xs[i]!;
    bits >>>= 1;
  }
  return s;
}

/** Two-sided version: |T*| ≥ |T|. */
export function signFlipTwoSided(diffs: readonly number[], opts: SignFlipOptions): number {
  const xs = diffs.filter((d) => d !== 0);
  if (xs.length === 0) return 1;
  const observed = Math.abs(xs.reduce((s, d) => s + d, 0));
  const tol = 1e-12 * xs.reduce((s, d) => s + Math.abs(d), 0);
  let extreme = 0;
  for (let b = 0; b < opts.resamples; b++) {
    if (Math.abs(flippedSum(xs, opts.rng)) >= observed - tol) extreme++;
  }
  return (1 + extreme) / (1 + opts.resamples);
}
