/**
 * A fixed-size latency histogram: 1 µs buckets below 100 ms, 1 ms buckets up to 60 s, one
 * overflow bucket above. Recording is an array increment, so the load generator neither
 * allocates per request nor pauses for GC while it measures, and a ten-minute soak costs the
 * same memory as a one-second trial. Percentiles are exact to the microsecond below 100 ms.
 */
const FINE_LIMIT_US = 100_000;
const COARSE_LIMIT_MS = 60_000;
const FINE_BUCKETS = FINE_LIMIT_US;
const COARSE_BUCKETS = COARSE_LIMIT_MS - FINE_LIMIT_US / 1000;

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export class Histogram {
  private readonly buckets = new Uint32Array(FINE_BUCKETS + COARSE_BUCKETS + 1);
  private n = 0;
  private sum = 0;
  private maxMs = 0;

  record(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    const us = Math.floor(v * 1000);
    let i: number;
    if (us < FINE_LIMIT_US) i = us;
    else if (v < COARSE_LIMIT_MS) i = FINE_BUCKETS + Math.floor(v) - FINE_LIMIT_US / 1000;
    else i = FINE_BUCKETS + COARSE_BUCKETS;
    this.buckets[i] = (this.buckets[i] ?? 0) + 1;
    this.n++;
    this.sum += v;
    if (v > this.maxMs) this.maxMs = v;
  }

  get count(): number {
    return this.n;
  }

  /** The value (ms, bucket midpoint) at quantile q in [0, 1], nearest-rank. */
  quantile(q: number): number {
    if (this.n === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= rank) return Math.min(this.valueOf(i), this.maxMs);
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    return {
      count: this.n,
      mean: this.n === 0 ? Number.NaN : round3(this.sum / this.n),
      p50: round3(this.quantile(0.5)),
      p90: round3(this.quantile(0.9)),
      p99: round3(this.quantile(0.99)),
      max: round3(this.maxMs),
    };
  }

  reset(): void {
    this.buckets.fill(0);
    this.n = 0;
    this.sum = 0;
    this.maxMs = 0;
  }

  private valueOf(i: number): number {
    if (i < FINE_BUCKETS) return (i + 0.5) / 1000;
    if (i < FINE_BUCKETS + COARSE_BUCKETS) return FINE_LIMIT_US / 1000 + (i - FINE_BUCKETS) + 0.5;
    return this.maxMs;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
