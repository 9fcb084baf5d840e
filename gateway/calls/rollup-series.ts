import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../db/client.ts';
import { addInto, decodeHistogram, emptyHistogram, histogramQuantile, LATENCY_REL_ERROR } from './rollup-histogram.ts';
import { measureReads } from './rollup-sql.ts';
import { MINUTE_MS } from './rollup.ts';

/** One time bucket of `GET /api/usage/series`. */
export interface UsageSeriesPoint {
  /** Bucket start, UTC ISO 8601. */
  t: string;
  calls: number;
  /** Calls whose status is not ok. */
  errors: number;
  /** Sum over priced calls; null when the bucket has calls and none was priced (0 when empty). */
  cost_usd: number | null;
  /** Over ok calls, read from the latency histogram (see `method`). */
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  /** Hits over cache lookups (hit + miss); null when there were none. */
  cache_hit_rate: number | null;
}

export interface UsageSeries {
  object: 'usage.series';
  since: string;
  until: string;
  step_seconds: number;
  data: UsageSeriesPoint[];
  /** Over the whole window. */
  latency_ms: { p50: number | null; p95: number | null };
  method: string;
}

/** Most buckets one request may ask for (a chart has a few hundred pixels). */
export const SERIES_MAX_BUCKETS = 1500;

const METHOD =
  `from the per-minute rollup: minutes that start in [since, until) (bounds round down to the minute); ` +
  `buckets aligned to multiples of step since the Unix epoch (UTC). Latency percentiles are read from a ` +
  `fixed log-bucket histogram (4 buckets per doubling, 0.25 ms to 17.5 min), within ${(LATENCY_REL_ERROR * 100).toFixed(1)}% ` +
  `of the exact value.`;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Calls, errors, cost, ok latency p50/p95 and cache hit rate per bucket of `stepMs` over
 * [since, until), from call_rollups_minute: one index range of at most a minute per minute of
 * the window, whatever the call volume. Empty buckets are kept (zero calls).
 */
export async function usageSeries(
  database: Pick<Database, 'db'>,
  range: { since: Date; until: Date; stepMs: number },
): Promise<UsageSeries> {
  const { since, until, stepMs } = range;
  const start = Math.floor(since.getTime() / stepMs) * stepMs;
  const n = Math.max(1, Math.ceil((until.getTime() - start) / stepMs));
  if (n > SERIES_MAX_BUCKETS) throw new RangeError(`at most ${SERIES_MAX_BUCKETS} buckets`);
  const from = new Date(Math.floor(since.getTime() / MINUTE_MS) * MINUTE_MS);
  const rows = rowsOf<Record<string, unknown>>(
    await database.db.execute(sql`
      select floor(extract(epoch from bucket) * 1000 / ${stepMs}::float8)::float8 as step_index,
        ${sql.raw(measureReads(['calls', 'ok', 'priced', 'cost_micros', 'cache_hits', 'cache_misses', 'ok_latency_min', 'ok_latency_max', 'ok_latency_hist']))}
      from call_rollups_minute
      where bucket >= ${from.toISOString()}::timestamptz and bucket < ${until.toISOString()}::timestamptz
      group by 1`),
  );
  const byIndex = new Map(rows.map((r) => [Number(r.step_index) - start / stepMs, r]));
  const all = emptyHistogram();
  let min: number | null = null;
  let max: number | null = null;
  const data: UsageSeriesPoint[] = [];
  for (let i = 0; i < n; i++) {
    const r = byIndex.get(i);
    const calls = r ? Number(r.calls) : 0;
    const hist = r ? decodeHistogram(r.ok_latency_hist) : emptyHistogram();
    const lo = r ? num(r.ok_latency_min) : null;
    const hi = r ? num(r.ok_latency_max) : null;
    addInto(all, hist);
    if (lo !== null) min = min === null ? lo : Math.min(min, lo);
    if (hi !== null) max = max === null ? hi : Math.max(max, hi);
    const looked = r ? Number(r.cache_hits) + Number(r.cache_misses) : 0;
    data.push({
      t: new Date(start + i * stepMs).toISOString(),
      calls,
      errors: r ? calls - Number(r.ok) : 0,
      cost_usd: r && Number(r.priced) > 0 ? Number(r.cost_micros) / 1e6 : calls > 0 ? null : 0,
      latency_p50_ms: histogramQuantile(hist, 0.5, lo, hi),
      latency_p95_ms: histogramQuantile(hist, 0.95, lo, hi),
      cache_hit_rate: looked > 0 ? Number(r!.cache_hits) / looked : null,
    });
  }
  return {
    object: 'usage.series',
    since: since.toISOString(),
    until: until.toISOString(),
    step_seconds: stepMs / 1000,
    data,
    latency_ms: { p50: histogramQuantile(all, 0.5, min, max), p95: histogramQuantile(all, 0.95, min, max) },
    method: METHOD,
  };
}
