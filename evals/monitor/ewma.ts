/**
 * The EWMA detector of a monitor (DESIGN §4.6), on consecutive, non-overlapping buckets of the
 * monitor's window. Overlapping windows (a 15-minute window evaluated every 30 s) would make
 * consecutive observations nearly identical, and a textbook limit on them would alarm far more
 * often than its nominal rate; buckets keep the observations independent when the traffic is.
 *
 * Each bucket's metric value x_b is standardised against reference buckets just before the
 * watched ones: z_b = (x_b − μ₀) / σ₀, with μ₀ and σ₀ the mean and sd of the reference values
 * (the spread between buckets already holds the sampling noise at the traffic's volume). The
 * EWMA e_t = λ·z_t + (1 − λ)·e_{t−1} (e_0 = 0) alarms one-sided, in the metric's bad direction,
 * when it passes L·√(λ/(2−λ)·(1 − (1−λ)^{2t})). Its error rates (seeded simulation,
 * ewma.test.ts, README): see EWMA_ERROR_RATES.
 */
export interface EwmaParams {
  lambda: number;
  L: number;
}

/** `low`: a drop is bad (scores); `high`: a rise is bad (error rate, latency, cost). */
export type BadDirection = 'low' | 'high';

export interface EwmaVerdict {
  /** Null when there are too few reference or watched buckets to say anything. */
  breached: boolean | null;
  ewma: number | null;
  limit: number | null;
  reference: { mean: number; sd: number; buckets: number } | null;
  watched: number;
}

/** Fewest reference buckets that give a usable σ₀. */
export const MIN_REFERENCE_BUCKETS = 8;

/** Mean and sd of the reference buckets, with a floor for a flat reference; null when too few. */
export function referenceScale(reference: readonly number[]): { mean: number; sd: number; sigma: number } | null {
  if (reference.length < MIN_REFERENCE_BUCKETS) return null;
  const mean = reference.reduce((s, x) => s + x, 0) / reference.length;
  const sd = Math.sqrt(reference.reduce((s, x) => s + (x - mean) ** 2, 0) / (reference.length - 1));
  // A flat reference (every bucket the same, e.g. no errors at all): any move is news, but a
  // zero σ would make every z infinite; the floor is a tenth of the scale of the values.
  return { mean, sd, sigma: sd > 0 ? sd : Math.max(Math.abs(mean) * 0.1, 1e-9) };
}

export function ewmaVerdict(reference: readonly number[], watched: readonly number[], params: EwmaParams, bad: BadDirection): EwmaVerdict {
  const scale = referenceScale(reference);
  if (!scale || watched.length === 0) return { breached: null, ewma: null, limit: null, reference: null, watched: watched.length };
  const { lambda, L } = params;
  let e = 0;
  for (const x of watched) e = lambda * ((x - scale.mean) / scale.sigma) + (1 - lambda) * e;
  const t = watched.length;
  const limit = L * Math.sqrt((lambda / (2 - lambda)) * (1 - (1 - lambda) ** (2 * t)));
  const breached = bad === 'high' ? e > limit : e < -limit;
  return { breached, ewma: e, limit, reference: { mean: scale.mean, sd: scale.sd, buckets: reference.length }, watched: t };
}

export interface CusumVerdict {
  breached: boolean | null;
  /** The one-sided CUSUM statistic after the last watched bucket. */
  cusum: number | null;
  h: number;
  reference: { mean: number; sd: number; buckets: number } | null;
  watched: number;
}

/**
 * One-sided CUSUM in the bad direction over the watched buckets' z values:
 * S_t = max(0, S_{t−1} + d·z_t − k), alarm when S_t > h (d = +1 for `high`, −1 for `low`).
 * Same buckets and reference as the EWMA; its error rates are in ewma.test.ts.
 */
export function cusumVerdict(reference: readonly number[], watched: readonly number[], params: { k: number; h: number }, bad: BadDirection): CusumVerdict {
  const scale = referenceScale(reference);
  if (!scale || watched.length === 0) return { breached: null, cusum: null, h: params.h, reference: null, watched: watched.length };
  const d = bad === 'high' ? 1 : -1;
  let s = 0;
  let breached = false;
  for (const x of watched) {
    s = Math.max(0, s + d * ((x - scale.mean) / scale.sigma) - params.k);
    if (s > params.h) breached = true;
  }
  return { breached, cusum: s, h: params.h, reference: { mean: scale.mean, sd: scale.sd, buckets: reference.length }, watched: watched.length };
}
