import { sql, type SQL } from 'drizzle-orm';
import { rollupAtRank, rollupQuantile, variantRollups, type VariantRollup } from '../calls/rollup-stats.ts';
import { rowsOf, type Database } from '../db/client.ts';
import { clopperPearson, SCORE_INTERVAL_METHOD, scoreMeanInterval } from '../../core/stats/bounded.ts';
import { meanInterval, quantileRanks, twoProportionZ, welch, type Interval, type Sample, type TestResult } from '../../core/stats/math.ts';

/**
 * Per-variant stats of a route over a time window (GET /api/routes/{name}/stats), from the
 * call log (shadow calls excluded) and, when the table exists, eval scores keyed by call id.
 *
 * Definitions (also returned in `method`):
 * - error rate: calls with status upstream_error or gateway_error over calls the variant is
 *   answerable for (ok + upstream_error + gateway_error). client_error (bad input) and
 *   client_aborted are left out of both. Clopper–Pearson interval (stats-bounded.ts: it never
 *   covers less than nominal, Wilson does near 0); vs control: pooled two-proportion z-test.
 * - latency (ms) and cost (micro-USD in the log, reported in USD): over ok calls (cost: ok
 *   calls that were priced). Mean with a Student t interval; vs control: Welch's t-test.
 *   p50/p95 from percentile_cont; their interval is the distribution-free order-statistic
 *   interval (stats-math quantileRanks), read with percentile_disc.
 * - scores: mean per scorer with an interval that stays inside [0, 1] for [0, 1] scores
 *   (stats-bounded.ts scoreMeanInterval); vs control: Welch's t-test.
 * Counts, means, standard deviations and percentiles are computed in SQL; the intervals and
 * tests in TS. p-values are per comparison, not corrected for multiplicity.
 *
 * Source: a window with at most `exactMaxCalls` calls of the route is read from `calls`, exactly
 * as above. A larger one is read from the hourly rollup (plus the window's ragged edges from
 * `calls`): counts, error rates, means, standard deviations and the tests are the same (up to
 * float rounding); p50/p95 and their intervals are read from the latency histogram, within
 * 18.9% of the exact value (gateway/calls/rollup-histogram.ts); `method.source` says which.
 * Scores are read from `call_scores` alone: each carries its call's route, variant and start
 * time, and only production calls' scores count (no shadow, no eval run's own calls).
 */
export interface ScoreSource {
  /** Default `call_scores`. Skipped when the table does not exist. */
  table: string;
  /** Column with the call's id. Default `call_id`. */
  callId: string;
  /** Column with the scorer's name. Default `scorer`. */
  name: string;
  /** Numeric score column. Default `score`. */
  value: string;
}

export const DEFAULT_SCORE_SOURCE: ScoreSource = Object.freeze({ table: 'call_scores', callId: 'call_id', name: 'scorer', value: 'score' });

export interface StatsQuery {
  route: string;
  /** Config order; the control first is not required. */
  variants: readonly string[];
  control: string;
  since: Date;
  until: Date;
  /** Default 0.95. */
  confidence?: number;
  scores?: ScoreSource;
  /** Windows with more calls of the route than this read the rollup (default 20,000). */
  exactMaxCalls?: number;
}

export const EXACT_MAX_CALLS = 20_000;

export interface Estimate {
  value: number | null;
  ci: Interval | null;
}

export interface VariantStats {
  variant: string;
  is_control: boolean;
  calls: number;
  error_rate: Estimate & { errors: number; n: number };
  latency_ms: { n: number; mean: Estimate; p50: Estimate; p95: Estimate };
  cost_usd: { n: number; mean: Estimate };
  scores: Record<string, { n: number; mean: Estimate }>;
  vs_control: {
    error_rate: TestResult | null;
    latency_ms_mean: TestResult | null;
    cost_usd_mean: TestResult | null;
    scores: Record<string, TestResult | null>;
  } | null;
}

export interface RouteStats {
  object: 'route.stats';
  route: string;
  control: string;
  since: string;
  until: string;
  confidence: number;
  variants: VariantStats[];
  method: Record<string, string>;
}

interface AggRow {
  variant: string;
  calls: number;
  answerable: number;
  errors: number;
  lat_n: number;
  lat_mean: number | null;
  lat_sd: number | null;
  p50: number | null;
  p95: number | null;
  cost_n: number;
  cost_mean: number | null;
  cost_sd: number | null;
}

interface ScoreRow {
  variant: string;
  scorer: string;
  n: number;
  mean: number | null;
  sd: number | null;
  min: number;
  max: number;
  binary: boolean;
}

const METHOD: Record<string, string> = {
  error_rate: 'errors (upstream_error, gateway_error) / (ok + upstream_error + gateway_error); Clopper–Pearson (exact) interval; vs control: pooled two-proportion z-test, two-sided',
  latency_ms: 'ok calls; mean with Student t interval; p50/p95 by percentile_cont with a distribution-free order-statistic interval; vs control: Welch t-test on the means, two-sided',
  cost_usd: 'ok, priced calls; mean with Student t interval; vs control: Welch t-test, two-sided',
  scores: `mean of each scorer over scored calls; interval: ${SCORE_INTERVAL_METHOD}; vs control: Welch t-test, two-sided`,
};


const ROLLUP_LATENCY_METHOD =
  'ok calls; mean with Student t interval; p50/p95 and their order-statistic interval read from the hourly rollup\'s latency histogram (log buckets, 4 per doubling: within 18.9%); vs control: Welch t-test on the means, two-sided';

function fromRollup(v: VariantRollup): AggRow {
  return {
    variant: v.variant,
    calls: v.calls,
    answerable: v.answerable,
    errors: v.errors,
    lat_n: v.latN,
    lat_mean: v.latMean,
    lat_sd: v.latSd,
    p50: rollupQuantile(v, 0.5),
    p95: rollupQuantile(v, 0.95),
    cost_n: v.costN,
    cost_mean: v.costMean,
    cost_sd: v.costSd,
  };
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function routeStats(database: Database, q: StatsQuery): Promise<RouteStats> {
  const confidence = q.confidence ?? 0.95;
  const { db } = database;
  const window = sql`route = ${q.route} and shadow = false and variant is not null and started_at >= ${q.since.toISOString()} and started_at < ${q.until.toISOString()}`;
  const rolled = await variantRollups(database, q);
  const useRollup = rolled.reduce((n, v) => n + v.calls, 0) > (q.exactMaxCalls ?? EXACT_MAX_CALLS);
  const aggs = useRollup ? rolled.map(fromRollup) : rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select variant,
        count(*)::int as calls,
        (count(*) filter (where status in ('ok', 'upstream_error', 'gateway_error')))::int as answerable,
        (count(*) filter (where status in ('upstream_error', 'gateway_error')))::int as errors,
        (count(*) filter (where status = 'ok'))::int as lat_n,
        (avg(latency_ms) filter (where status = 'ok'))::float8 as lat_mean,
        (stddev_samp(latency_ms) filter (where status = 'ok'))::float8 as lat_sd,
        (percentile_cont(0.5) within group (order by latency_ms) filter (where status = 'ok'))::float8 as p50,
        (percentile_cont(0.95) within group (order by latency_ms) filter (where status = 'ok'))::float8 as p95,
        (count(cost_micros) filter (where status = 'ok'))::int as cost_n,
        (avg(cost_micros::float8) filter (where status = 'ok'))::float8 as cost_mean,
        (stddev_samp(cost_micros::float8) filter (where status = 'ok'))::float8 as cost_sd
      from calls where ${window}
      group by variant`),
  ).map(
    (r): AggRow => ({
      variant: String(r.variant),
      calls: Number(r.calls),
      answerable: Number(r.answerable),
      errors: Number(r.errors),
      lat_n: Number(r.lat_n),
      lat_mean: num(r.lat_mean),
      lat_sd: num(r.lat_sd),
      p50: num(r.p50),
      p95: num(r.p95),
      cost_n: Number(r.cost_n),
      cost_mean: num(r.cost_mean),
      cost_sd: num(r.cost_sd),
    }),
  );
  const byVariant = new Map(aggs.map((a) => [a.variant, a]));
  const order = [...q.variants, ...aggs.map((a) => a.variant).filter((v) => !q.variants.includes(v)).sort()];

  const quantileCi = async (variant: string, n: number, p: number): Promise<Interval | null> => {
    const ranks = quantileRanks(n, p, confidence);
    if (!ranks) return null;
    if (useRollup) {
      const v = rolled.find((r) => r.variant === variant)!;
      const [lo, hi] = ranks.map((k) => rollupAtRank(v, k));
      return lo === null || lo === undefined || hi === null || hi === undefined ? null : [lo, hi];
    }
    // percentile_disc(f) is the value at rank ceil(f·n); (rank − ½)/n lands on the rank exactly.
    const [lo, hi] = ranks.map((k) => (k - 0.5) / n);
    const [row] = rowsOf<{ lo: unknown; hi: unknown }>(
      await db.execute(sql`
        select (percentile_disc(${lo}::float8) within group (order by latency_ms))::float8 as lo,
               (percentile_disc(${hi}::float8) within group (order by latency_ms))::float8 as hi
        from calls where ${window} and variant = ${variant} and status = 'ok'`),
    );
    return row ? [Number(row.lo), Number(row.hi)] : null;
  };

  const scoreRows = q.scores && q.scores !== DEFAULT_SCORE_SOURCE ? await scoresByVariant(database, window, q.scores) : await productionScoresByVariant(database, q);
  const variants: VariantStats[] = [];
  for (const variant of order) {
    const a = byVariant.get(variant);
    const latN = a?.lat_n ?? 0;
    const [p50ci, p95ci] = latN > 0 ? [await quantileCi(variant, latN, 0.5), await quantileCi(variant, latN, 0.95)] : [null, null];
    const scores: VariantStats['scores'] = {};
    for (const s of scoreRows.filter((r) => r.variant === variant)) {
      scores[s.scorer] = { n: s.n, mean: scoreEstimate(s, confidence) };
    }
    const costUsd = (v: number | null) => (v === null ? null : v / 1e6);
    variants.push({
      variant,
      is_control: variant === q.control,
      calls: a?.calls ?? 0,
      error_rate: {
        value: a && a.answerable > 0 ? a.errors / a.answerable : null,
        ci: clopperPearson(a?.errors ?? 0, a?.answerable ?? 0, confidence),
        errors: a?.errors ?? 0,
        n: a?.answerable ?? 0,
      },
      latency_ms: {
        n: latN,
        mean: meanEstimate(a?.lat_mean ?? null, a?.lat_sd ?? null, latN, confidence),
        p50: { value: a?.p50 ?? null, ci: p50ci },
        p95: { value: a?.p95 ?? null, ci: p95ci },
      },
      cost_usd: {
        n: a?.cost_n ?? 0,
        mean: scaleEstimate(meanEstimate(a?.cost_mean ?? null, a?.cost_sd ?? null, a?.cost_n ?? 0, confidence), costUsd),
      },
      scores,
      vs_control: null,
    });
  }

  const control = byVariant.get(q.control);
  const controlScores = scoreRows.filter((r) => r.variant === q.control);
  for (const v of variants) {
    if (v.is_control) continue;
    const a = byVariant.get(v.variant);
    const scoreTests: Record<string, TestResult | null> = {};
    for (const s of scoreRows.filter((r) => r.variant === v.variant)) {
      const c = controlScores.find((r) => r.scorer === s.scorer);
      scoreTests[s.scorer] = c ? welch(sample(s.n, s.mean, s.sd), sample(c.n, c.mean, c.sd)) : null;
    }
    const cost = a && control ? welch(sample(a.cost_n, a.cost_mean, a.cost_sd), sample(control.cost_n, control.cost_mean, control.cost_sd)) : null;
    v.vs_control = {
      error_rate: a && control ? twoProportionZ(a.errors, a.answerable, control.errors, control.answerable) : null,
      latency_ms_mean: a && control ? welch(sample(a.lat_n, a.lat_mean, a.lat_sd), sample(control.lat_n, control.lat_mean, control.lat_sd)) : null,
      cost_usd_mean: cost && { ...cost, diff: cost.diff / 1e6 },
      scores: scoreTests,
    };
  }

  return {
    object: 'route.stats',
    route: q.route,
    control: q.control,
    since: q.since.toISOString(),
    until: q.until.toISOString(),
    confidence,
    variants,
    method: useRollup ? { ...METHOD, latency_ms: ROLLUP_LATENCY_METHOD, source: 'rollup' } : { ...METHOD, source: 'calls' },
  };
}

function sample(n: number, mean: number | null, sd: number | null): Sample {
  return { n, mean: mean ?? Number.NaN, sd: sd ?? 0 };
}

function meanEstimate(mean: number | null, sd: number | null, n: number, confidence: number): Estimate {
  if (mean === null || n === 0) return { value: null, ci: null };
  return { value: mean, ci: sd === null ? null : meanInterval(mean, sd, n, confidence) };
}

function scoreEstimate(s: ScoreRow, confidence: number): Estimate {
  if (s.mean === null || s.n === 0) return { value: null, ci: null };
  const { ci } = scoreMeanInterval({ n: s.n, mean: s.mean, sd: s.sd ?? 0, min: s.min, max: s.max, binary: s.binary }, confidence);
  return { value: s.mean, ci };
}

function scaleEstimate(e: Estimate, f: (v: number | null) => number | null): Estimate {
  return { value: f(e.value), ci: e.ci && [f(e.ci[0])!, f(e.ci[1])!] };
}

/**
 * Scores per variant and scorer from `call_scores` alone: each score carries its call's route,
 * variant, start time and whether it was production traffic (not shadow, not an eval run's own
 * call; evals/monitor/score-call-fields.ts), so no per-call join with the call log (at 1M calls
 * that join scanned the whole window).
 */
async function productionScoresByVariant(database: Database, q: StatsQuery): Promise<ScoreRow[]> {
  // call_scores is created by the migrations (0007) every database here runs: no existence check.
  return scoreRowsOf(
    rowsOf<Record<string, unknown>>(
      await database.db.execute(sql`
        select variant, scorer::text as scorer, count(*)::int as n,
          avg(score::float8)::float8 as mean, stddev_samp(score::float8)::float8 as sd,
          min(score::float8)::float8 as min, max(score::float8)::float8 as max,
          bool_and(score::float8 in (0, 1)) as binary
        from call_scores
        where production and route = ${q.route} and variant is not null and score is not null
          and call_started_at >= ${q.since.toISOString()} and call_started_at < ${q.until.toISOString()}
        group by 1, 2
        order by 1, 2`),
    ),
  );
}

/** Scores per variant and scorer from a custom score table joined per call; empty when the table is not there (yet). */
async function scoresByVariant(database: Database, window: SQL, src: ScoreSource): Promise<ScoreRow[]> {
  const [exists] = rowsOf<{ r: string | null }>(await database.db.execute(sql`select to_regclass(${src.table})::text as r`));
  if (!exists?.r) return [];
  const s = sql.identifier;
  const rows = rowsOf<Record<string, unknown>>(
    await database.db.execute(sql`
      select c.variant, s.${s(src.name)}::text as scorer, count(*)::int as n,
        avg(s.${s(src.value)}::float8)::float8 as mean, stddev_samp(s.${s(src.value)}::float8)::float8 as sd,
        min(s.${s(src.value)}::float8)::float8 as min, max(s.${s(src.value)}::float8)::float8 as max,
        bool_and(s.${s(src.value)}::float8 in (0, 1)) as binary
      from (select id, variant from calls where ${window}) c
      join ${s(src.table)} s on s.${s(src.callId)} = c.id
      where s.${s(src.value)} is not null
      group by 1, 2
      order by 1, 2`),
  );
  return scoreRowsOf(rows);
}

function scoreRowsOf(rows: Record<string, unknown>[]): ScoreRow[] {
  return rows.map((r) => ({
    variant: String(r.variant),
    scorer: String(r.scorer),
    n: Number(r.n),
    mean: num(r.mean),
    sd: num(r.sd),
    min: Number(r.min),
    max: Number(r.max),
    binary: r.binary === true || r.binary === 't',
  }));
}
