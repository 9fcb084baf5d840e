import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../db/client.ts';
import { decodeHistogram, histogramQuantile, valueAtRank } from './rollup-histogram.ts';
import { measureReads } from './rollup-sql.ts';
import { rollupRows } from './rollup.ts';

/** One variant's totals over a window, from the hourly rollup plus the window's raw edges. */
export interface VariantRollup {
  variant: string;
  calls: number;
  /** ok + upstream_error + gateway_error. */
  answerable: number;
  /** upstream_error + gateway_error. */
  errors: number;
  latN: number;
  latMean: number | null;
  latSd: number | null;
  latMin: number | null;
  latMax: number | null;
  hist: number[];
  costN: number;
  costMean: number | null;
  costSd: number | null;
}

const MEASURES = ['calls', 'ok', 'failed', 'ok_latency_sum', 'ok_latency_sumsq', 'ok_latency_min', 'ok_latency_max', 'ok_latency_hist', 'ok_priced', 'ok_cost_sum', 'ok_cost_sumsq'];

/** Sample standard deviation from n, Σx and Σx² (null below two values, like stddev_samp). */
export function sdFromSums(n: number, sum: number, sumsq: number): number | null {
  if (n < 2) return null;
  return Math.sqrt(Math.max(0, (sumsq - (sum * sum) / n) / (n - 1)));
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Per-variant totals of a route's non-shadow calls in [since, until): counts exact; means and
 * standard deviations from Σx and Σx² (float8: exact to ~1e-12 relative for latencies and
 * micro-USD costs); the latency histogram for percentiles (rollup-histogram.ts bounds the error).
 */
export async function variantRollups(
  database: Pick<Database, 'db'>,
  q: { route: string; since: Date; until: Date },
): Promise<VariantRollup[]> {
  const where = sql`route = ${q.route} and shadow = false and variant is not null`;
  const rows = rowsOf<Record<string, unknown>>(
    await database.db.execute(sql`
      select u.variant, ${sql.raw(measureReads(MEASURES, 'u.'))}
      from ${rollupRows(q, MEASURES, where)} u
      group by u.variant`),
  );
  return rows.map((r) => {
    const latN = Number(r.ok);
    const costN = Number(r.ok_priced);
    const latSum = Number(r.ok_latency_sum);
    const costSum = Number(r.ok_cost_sum);
    return {
      variant: String(r.variant),
      calls: Number(r.calls),
      answerable: Number(r.ok) + Number(r.failed),
      errors: Number(r.failed),
      latN,
      latMean: latN > 0 ? latSum / latN : null,
      latSd: sdFromSums(latN, latSum, Number(r.ok_latency_sumsq)),
      latMin: num(r.ok_latency_min),
      latMax: num(r.ok_latency_max),
      hist: decodeHistogram(r.ok_latency_hist),
      costN,
      costMean: costN > 0 ? costSum / costN : null,
      costSd: sdFromSums(costN, costSum, Number(r.ok_cost_sumsq)),
    };
  });
}

/** Latency percentile p of a variant's ok calls, from its histogram. */
export const rollupQuantile = (v: VariantRollup, p: number): number | null => histogramQuantile(v.hist, p, v.latMin, v.latMax);

/** The latency of the call at 1-based rank k (percentile_disc's value), from the histogram. */
export const rollupAtRank = (v: VariantRollup, k: number): number | null => valueAtRank(v.hist, k - 0.5, v.latMin, v.latMax);
