/**
 * The fixed latency histogram kept in the rollups (ok calls only), and percentiles read from it.
 *
 * Bucket edges are 2^(k/4) ms for k = −8 … 80: 0.25 ms to 2^20 ms (17.5 min), four buckets per
 * doubling, so a bucket's upper edge is 2^¼ ≈ 1.189 × its lower edge. Bucket 0 holds latencies
 * under 0.25 ms and the last one those of 2^20 ms and more (Postgres `width_bucket` numbering).
 *
 * Error bound: an estimate lies in the same bucket as the true percentile (log-linear
 * interpolation inside the bucket, clamped to the observed min and max), so it is within
 * 18.9% of the exact value (2^¼ − 1) — for a percentile of one bucket, where the calls fall
 * evenly in log-latency, much closer. Below 0.25 ms and above 17.5 min only min/max bound it.
 */

/** Edges in ms (ascending); `width_bucket` over these gives indexes 0 … EDGES.length. */
export const LATENCY_EDGES_MS: readonly number[] = Object.freeze(Array.from({ length: 89 }, (_, i) => 2 ** ((i - 8) / 4)));

/** Number of buckets (one more than edges). */
export const LATENCY_BUCKETS = LATENCY_EDGES_MS.length + 1;

/** Worst-case relative error of a percentile inside the edges. */
export const LATENCY_REL_ERROR = 2 ** 0.25 - 1;

/** The edges as a Postgres float8[] literal. */
export const EDGES_SQL = `'{${LATENCY_EDGES_MS.join(',')}}'::float8[]`;

/**
 * Storage: a histogram is one `numeric`, Σ countᵢ · 10^(12·i) — twelve decimal digits per bucket.
 * Adding two such numbers adds the histograms bucket by bucket (no bucket reaches 10^12 calls),
 * so the writer's merge is `a + b` and a reader's total over any number of rows is one `sum()`,
 * which Postgres does far faster than summing 90 array elements per row. Numeric stores the
 * zeros beyond the lowest and highest non-empty bucket for free, so a typical row's histogram
 * takes ~100 bytes.
 */
const DIGITS = 12;

/** SQL giving an ok call's bucket index, NULL for any other call (computed once per row). */
export const bucketOf = (latency: string, ok: string): string => `case when ${ok} then width_bucket(${latency}::float8, ${EDGES_SQL}) end`;

/**
 * SQL for the histogram of a group of call rows that all share the bucket index `lb` (the
 * producers group by it first, then add these up): count · 10^(12·lb), or 0 when `lb` is NULL.
 */
// ('1e' || n)::numeric is an exact power of ten with scale 0, and ~100× cheaper than power().
export const histogramOfGroup = (lb: string): string => `coalesce(count(*) * ('1e' || (${DIGITS} * ${lb}))::numeric, 0)`;

/** Bucket counts from a histogram number as Postgres prints it (any fractional part ignored). */
export function decodeHistogram(value: unknown): number[] {
  const digits = String(value ?? '0').split('.')[0]!.replace(/^-/, '');
  const out = emptyHistogram();
  for (let i = 0, end = digits.length; end > 0 && i < LATENCY_BUCKETS; i++, end -= DIGITS) {
    out[i] = Number(digits.slice(Math.max(0, end - DIGITS), end));
  }
  return out;
}

/** Adds `b` into `a` (same length), returning `a`. */
export function addInto(a: number[], b: readonly number[]): number[] {
  for (let i = 0; i < a.length; i++) a[i]! += b[i] ?? 0;
  return a;
}

export const emptyHistogram = (): number[] => new Array<number>(LATENCY_BUCKETS).fill(0);

/**
 * The value at fractional rank `rank` (1-based, continuous: `p·n` for percentile p), by
 * log-linear interpolation inside its bucket; clamped to [min, max] when they are known.
 */
export function valueAtRank(hist: readonly number[], rank: number, min: number | null, max: number | null): number | null {
  const n = hist.reduce((s, c) => s + c, 0);
  if (n === 0) return null;
  const r = Math.min(Math.max(rank, 0), n);
  let before = 0;
  let i = 0;
  for (; i < hist.length - 1; i++) {
    if (before + hist[i]! >= r && hist[i]! > 0) break;
    before += hist[i]!;
  }
  const c = hist[i]!;
  const f = c > 0 ? Math.min(1, Math.max(0, (r - before) / c)) : 1;
  const lo = i === 0 ? (min ?? 0) : LATENCY_EDGES_MS[i - 1]!;
  const hi = i < LATENCY_EDGES_MS.length ? LATENCY_EDGES_MS[i]! : (max ?? lo);
  const v = lo > 0 && hi > lo ? lo * (hi / lo) ** f : lo + (hi - lo) * f;
  return clamp(v, min, max);
}

/** Percentile p ∈ [0, 1] (percentile_cont-like: rank p·n). */
export function histogramQuantile(hist: readonly number[], p: number, min: number | null, max: number | null): number | null {
  const n = hist.reduce((s, c) => s + c, 0);
  return valueAtRank(hist, p * n, min, max);
}

function clamp(v: number, min: number | null, max: number | null): number {
  let out = v;
  if (min !== null && out < min) out = min;
  if (max !== null && out > max) out = max;
  return out;
}
