import type { Interval } from '../../core/stats/math.ts';
import { mean, quantileSorted } from './describe.ts';
import type { Rng } from './prng.ts';

export interface BootstrapOptions {
  confidence: number;
  resamples: number;
  rng: Rng;
}

/**
 * Paired bootstrap percentile interval of the mean difference: resample items (pairs) with
 * replacement and take the mean of their differences `candidate − baseline`. Pairing keeps the
 * per-item difficulty out of the variance, which is why eval targets run on the same items.
 */
export function pairedBootstrapCi(diffs: readonly number[], opts: BootstrapOptions): Interval | null {
  const n = diffs.length;
  if (n === 0) return null;
  if (n === 1) return [diffs[0]!, diffs[0]!];
  const means = new Float64Array(opts.resamples);
  for (let b = 0; b < opts.resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diffs[Math.floor(opts.rng() * n)]!;
    means[b] = s / n;
  }
  means.sort();
  const alpha = 1 - opts.confidence;
  const sorted = Array.from(means);
  return [quantileSorted(sorted, alpha / 2), quantileSorted(sorted, 1 - alpha / 2)];
}

/** Mean of `a[i] − b[i]`. */
export function meanDiff(a: readonly number[], b: readonly number[]): number {
  return mean(a.map((x, i) => x - b[i]!));
}
