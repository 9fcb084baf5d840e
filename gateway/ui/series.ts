/** Time ranges of the overview and its chart arrays from `GET /api/usage/series` (pure; tested beside). */
import type { UsageSeries } from '../calls/rollup-series.ts';

export type { ChartSpec } from './charts/spec.ts';
export type { UsageSeries } from '../calls/rollup-series.ts';

export interface Bucketed {
  /** Bucket starts, Unix seconds. */
  x: number[];
  calls: number[];
  errors: number[];
  cost: Array<number | null>;
  p50: Array<number | null>;
  p95: Array<number | null>;
  /** Percent. */
  hitRate: Array<number | null>;
}

/** The series as the column arrays the charts draw. */
export function seriesColumns(s: Pick<UsageSeries, 'data'>): Bucketed {
  const out: Bucketed = { x: [], calls: [], errors: [], cost: [], p50: [], p95: [], hitRate: [] };
  for (const p of s.data) {
    out.x.push(Date.parse(p.t) / 1000);
    out.calls.push(p.calls);
    out.errors.push(p.errors);
    out.cost.push(p.cost_usd);
    out.p50.push(p.latency_p50_ms);
    out.p95.push(p.latency_p95_ms);
    out.hitRate.push(p.cache_hit_rate === null ? null : p.cache_hit_rate * 100);
  }
  return out;
}

export const RANGES = {
  '1h': { ms: 3_600_000, step: '5m', label: 'Last hour' },
  '24h': { ms: 86_400_000, step: '1h', label: 'Last 24 hours' },
  '7d': { ms: 7 * 86_400_000, step: '6h', label: 'Last 7 days' },
  '30d': { ms: 30 * 86_400_000, step: '1d', label: 'Last 30 days' },
} as const;

export type RangeId = keyof typeof RANGES;

export function rangeOf(value: string | undefined): RangeId {
  return value !== undefined && Object.hasOwn(RANGES, value) ? (value as RangeId) : '24h';
}
