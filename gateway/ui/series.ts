/** Time buckets and percentiles for the overview charts (pure; tested beside). */

export type { ChartSpec } from './charts/spec.ts';

export interface CallPoint {
  started_at: string;
  latency_ms: number;
  status: string;
  cost_usd: number | null;
  cache_status: string | null;
}

/** Nearest-rank percentile of a sorted array (p in [0, 1]); null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

/** p50 and p95 latency of the ok calls among `points`. */
export function latencyPercentiles(points: readonly CallPoint[]): { p50: number | null; p95: number | null } {
  const lat = points.filter((p) => p.status === 'ok').map((p) => p.latency_ms).sort((a, b) => a - b);
  return { p50: percentile(lat, 0.5), p95: percentile(lat, 0.95) };
}

export interface Bucketed {
  x: number[];
  calls: number[];
  errors: number[];
  cost: Array<number | null>;
  p50: Array<number | null>;
  p95: Array<number | null>;
  hitRate: Array<number | null>;
}

/** Calls grouped into buckets of `stepMs` over [since, until); empty buckets are kept (zero calls). */
export function bucketCalls(points: readonly CallPoint[], since: number, until: number, stepMs: number): Bucketed {
  const start = Math.floor(since / stepMs) * stepMs;
  const n = Math.max(1, Math.ceil((until - start) / stepMs));
  const groups: CallPoint[][] = Array.from({ length: n }, () => []);
  for (const p of points) {
    const t = Date.parse(p.started_at);
    const i = Math.floor((t - start) / stepMs);
    if (i >= 0 && i < n) groups[i]!.push(p);
  }
  const out: Bucketed = { x: [], calls: [], errors: [], cost: [], p50: [], p95: [], hitRate: [] };
  groups.forEach((g, i) => {
    out.x.push((start + i * stepMs) / 1000);
    out.calls.push(g.length);
    out.errors.push(g.filter((p) => p.status !== 'ok').length);
    const priced = g.filter((p) => p.cost_usd !== null);
    out.cost.push(priced.length ? priced.reduce((s, p) => s + p.cost_usd!, 0) : g.length ? null : 0);
    const lat = g.filter((p) => p.status === 'ok').map((p) => p.latency_ms).sort((a, b) => a - b);
    out.p50.push(percentile(lat, 0.5));
    out.p95.push(percentile(lat, 0.95));
    const looked = g.filter((p) => p.cache_status === 'hit' || p.cache_status === 'miss');
    out.hitRate.push(looked.length ? (looked.filter((p) => p.cache_status === 'hit').length / looked.length) * 100 : null);
  });
  return out;
}

export const RANGES = {
  '1h': { ms: 3_600_000, stepMs: 5 * 60_000, label: 'Last hour' },
  '24h': { ms: 86_400_000, stepMs: 3_600_000, label: 'Last 24 hours' },
  '7d': { ms: 7 * 86_400_000, stepMs: 6 * 3_600_000, label: 'Last 7 days' },
  '30d': { ms: 30 * 86_400_000, stepMs: 86_400_000, label: 'Last 30 days' },
} as const;

export type RangeId = keyof typeof RANGES;

export function rangeOf(value: string | undefined): RangeId {
  return value !== undefined && Object.hasOwn(RANGES, value) ? (value as RangeId) : '24h';
}
