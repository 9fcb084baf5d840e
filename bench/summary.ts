/**
 * Turns the trials into medians, paired per-round ratios and the goal verdicts (issue 4).
 * Differences and ratios are computed within a round first (gateway vs direct measured a few
 * seconds apart) and the median taken over rounds, which cancels drift better than comparing
 * two medians.
 */
import type { SuiteResult, Trial } from './suite.ts';
import type { Target } from './targets.ts';
import type { ScenarioKey } from './workload.ts';

export type TargetName = Target['name'];

export interface Medians {
  trials: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  ttfbP50: number;
  ttfbP90: number;
  ttfbP99: number;
  /** Summed over trials: transport errors + non-2xx + streams without [DONE]. */
  failures: number;
  /** Summed over trials: connections the fake upstream accepted, and requests it answered. */
  upstreamConnections: number;
  upstreamRequests: number;
  /** CPU time of the target process per request, µs (NaN where /proc is missing). */
  cpuUsPerRequest: number;
}

export type Verdict = 'met' | 'not met' | 'n/a';

export interface Goal {
  id: string;
  goal: string;
  measured: string;
  verdict: Verdict;
}

export interface Ratios {
  throughputGatewayOverBare50: number;
  throughputGatewayOverDirect50: number;
  /** gateway CPU per request ÷ bare proxy CPU per request at 50 conns: the throughput ratio without the noise of other work. */
  cpuPerRequestGatewayOverBare50: number;
  p50OverheadGatewayMs: number;
  p50OverheadBareMs: number;
  ttfbOverheadGatewayMs: number;
  ttfbOverheadBareMs: number;
  streamTotalOverheadGatewayMs: number;
  cacheHitRps: number | null;
}

export interface Summary {
  medians: Partial<Record<ScenarioKey, Partial<Record<TargetName, Medians>>>>;
  ratios: Ratios;
  goals: Goal[];
  failures: number;
}

export const GOALS = { throughputRatio: 0.5, p50OverheadMs: 0.25, ttfbOverheadMs: 1, cacheRps: 10_000, rssMb: 200, rssEmbeddedMb: 300 } as const;

/**
 * The RSS goal for a gateway on `database` (what its /healthz says): 200 MB on a Postgres server
 * (issues 4 and 20); embedded, PGlite's WASM heap is in the process and issue 20 sets 300 MB.
 */
export function rssGoal(database: string): { mb: number; label: string } {
  return database === 'pglite' ? { mb: GOALS.rssEmbeddedMb, label: 'embedded PGlite, issue 20' } : { mb: GOALS.rssMb, label: database };
}

export function median(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const failuresOf = (t: Trial): number => t.result.errors + t.result.non2xx + t.result.badBodies;

function mediansOf(trials: readonly Trial[]): Medians {
  const m = (f: (t: Trial) => number): number => r3(median(trials.map(f)));
  return {
    trials: trials.length,
    rps: Math.round(median(trials.map((t) => t.result.rps))),
    p50: m((t) => t.result.latency.p50),
    p90: m((t) => t.result.latency.p90),
    p99: m((t) => t.result.latency.p99),
    ttfbP50: m((t) => t.result.ttfb.p50),
    ttfbP90: m((t) => t.result.ttfb.p90),
    ttfbP99: m((t) => t.result.ttfb.p99),
    failures: trials.reduce((n, t) => n + failuresOf(t), 0),
    upstreamConnections: trials.reduce((n, t) => n + t.upstream.connections, 0),
    upstreamRequests: trials.reduce((n, t) => n + t.upstream.requests, 0),
    cpuUsPerRequest: Math.round(median(trials.map((t) => t.cpuUsPerRequest ?? Number.NaN))),
  };
}

/** median over rounds of f(a's trial, b's trial) for one scenario. */
function paired(trials: readonly Trial[], scenario: ScenarioKey, a: TargetName, b: TargetName, f: (x: Trial, y: Trial) => number): number {
  const values: number[] = [];
  for (const x of trials) {
    if (x.scenario !== scenario || x.target !== a) continue;
    const y = trials.find((t) => t.scenario === scenario && t.target === b && t.round === x.round);
    if (y) values.push(f(x, y));
  }
  return median(values);
}

const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const signed = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(3)}` : 'n/a');
const verdict = (ok: boolean | null): Verdict => (ok === null ? 'n/a' : ok ? 'met' : 'not met');

export function summarise(suite: SuiteResult, database: string): Summary {
  const rssGoalOf = rssGoal(database);
  const medians: Summary['medians'] = {};
  for (const t of suite.trials) {
    const byTarget = (medians[t.scenario] ??= {});
    byTarget[t.target] ??= mediansOf(suite.trials.filter((x) => x.scenario === t.scenario && x.target === t.target));
  }
  const tr = suite.trials;
  const rpsRatio = (x: Trial, y: Trial): number => x.result.rps / y.result.rps;
  const p50Diff = (x: Trial, y: Trial): number => x.result.latency.p50 - y.result.latency.p50;
  const ttfbDiff = (x: Trial, y: Trial): number => x.result.ttfb.p50 - y.result.ttfb.p50;
  const cache = medians['cache-50']?.gateway;
  const ratios: Ratios = {
    throughputGatewayOverBare50: r3(paired(tr, 'json-50', 'gateway', 'bare', rpsRatio)),
    throughputGatewayOverDirect50: r3(paired(tr, 'json-50', 'gateway', 'direct', rpsRatio)),
    cpuPerRequestGatewayOverBare50: r3(paired(tr, 'json-50', 'gateway', 'bare', (x, y) => (x.cpuUsPerRequest ?? Number.NaN) / (y.cpuUsPerRequest ?? Number.NaN))),
    p50OverheadGatewayMs: r3(paired(tr, 'json-1', 'gateway', 'direct', p50Diff)),
    p50OverheadBareMs: r3(paired(tr, 'json-1', 'bare', 'direct', p50Diff)),
    ttfbOverheadGatewayMs: r3(paired(tr, 'stream-1', 'gateway', 'direct', ttfbDiff)),
    ttfbOverheadBareMs: r3(paired(tr, 'stream-1', 'bare', 'direct', ttfbDiff)),
    streamTotalOverheadGatewayMs: r3(paired(tr, 'stream-1', 'gateway', 'direct', p50Diff)),
    cacheHitRps: cache ? cache.rps : null,
  };

  const { rss } = suite;
  const first = rss.roundPeaksMb[0] ?? null;
  const last = rss.roundPeaksMb.at(-1) ?? null;
  const rssKnown = rss.peakMb !== null && rss.afterMb !== null;
  const flat =
    rssKnown && first !== null && last !== null && rss.afterMb! <= rss.peakMb! + 2 && last - first <= Math.max(10, first * 0.1);
  const g50 = medians['json-50'];
  const goals: Goal[] = [
    {
      id: 'throughput',
      goal: `throughput at 50 conns ≥ ${GOALS.throughputRatio} × bare proxy`,
      measured:
        `${fmt(ratios.throughputGatewayOverBare50, 2)} × (gateway ${g50?.gateway?.rps ?? 'n/a'} vs bare ${g50?.bare?.rps ?? 'n/a'} req/s); ` +
        `CPU per request ${fmt(ratios.cpuPerRequestGatewayOverBare50, 2)} × the bare proxy's`,
      verdict: verdict(Number.isFinite(ratios.throughputGatewayOverBare50) ? ratios.throughputGatewayOverBare50 >= GOALS.throughputRatio : null),
    },
    {
      id: 'p50-overhead',
      goal: `p50 overhead at 1 conn ≤ ${GOALS.p50OverheadMs} ms`,
      measured: `${signed(ratios.p50OverheadGatewayMs)} ms (bare proxy ${signed(ratios.p50OverheadBareMs)} ms)`,
      verdict: verdict(Number.isFinite(ratios.p50OverheadGatewayMs) ? ratios.p50OverheadGatewayMs <= GOALS.p50OverheadMs : null),
    },
    {
      id: 'ttfb-overhead',
      goal: `stream first-byte overhead ≤ ${GOALS.ttfbOverheadMs} ms`,
      measured: `${signed(ratios.ttfbOverheadGatewayMs)} ms (bare proxy ${signed(ratios.ttfbOverheadBareMs)} ms)`,
      verdict: verdict(Number.isFinite(ratios.ttfbOverheadGatewayMs) ? ratios.ttfbOverheadGatewayMs <= GOALS.ttfbOverheadMs : null),
    },
    {
      id: 'cache-hit',
      goal: `cache hit ≥ ${GOALS.cacheRps.toLocaleString('en-US')} req/s`,
      measured: ratios.cacheHitRps === null ? suite.cache.detail : `${ratios.cacheHitRps} req/s`,
      verdict: verdict(ratios.cacheHitRps === null ? null : ratios.cacheHitRps >= GOALS.cacheRps),
    },
    {
      id: 'rss',
      goal: `gateway RSS ≤ ${rssGoalOf.mb} MB under load and flat after (${rssGoalOf.label})`,
      measured: rssKnown
        ? `peak ${rss.peakMb} MB (per round ${rss.roundPeaksMb.join(' / ')}), ${rss.afterSamplesMb.length} s after ${rss.afterMb} MB, idle before ${rss.baselineMb} MB`
        : 'n/a (no /proc)',
      verdict: verdict(rssKnown ? rss.peakMb! <= rssGoalOf.mb && flat : null),
    },
  ];
  return { medians, ratios, goals, failures: tr.reduce((n, t) => n + failuresOf(t), 0) };
}

/** The q-quantile (0…1) of the finite values, linear between order statistics. */
export function quantile(values: readonly number[], q: number): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const pos = Math.min(1, Math.max(0, q)) * (xs.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(xs.length - 1, lo + 1);
  return xs[lo]! + (xs[hi]! - xs[lo]!) * (pos - lo);
}

export function mean(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v));
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sum of squared deviations from the mean (for pooled variances). */
export function sumSquares(values: readonly number[]): number {
  const m = mean(values);
  return values.filter((v) => Number.isFinite(v)).reduce((s, v) => s + (v - m) ** 2, 0);
}

/** Student's t two-sided 95% critical value for `df` degrees of freedom (table, then the normal's). */
export function t975(df: number): number {
  const table = [Number.NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086];
  if (!(df >= 1)) return Number.NaN;
  const d = Math.floor(df);
  if (d < table.length) return table[d]!;
  return d < 30 ? 2.06 - ((d - 20) * (2.06 - 2.042)) / 10 : d < 60 ? 2.021 : 1.98;
}

/**
 * A distribution-free 95% interval for the median of n independent values: the order
 * statistics whose binomial(n, ½) tail probabilities are each ≤ 2.5% (null below n = 6).
 */
export function medianInterval(values: readonly number[]): { lo: number; hi: number } | null {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = xs.length;
  if (n < 6) return null;
  if (n > 1000) {
    const k = Math.max(1, Math.floor(n / 2 - 0.98 * Math.sqrt(n)));
    return { lo: xs[k - 1]!, hi: xs[n - k]! };
  }
  // Largest k with P(Binomial(n, ½) ≤ k − 1) ≤ 0.025: the interval is [x_(k), x_(n+1−k)].
  let cdf = 0;
  let coef = 1;
  let k = 0;
  for (let j = 0; j < n; j++) {
    cdf += coef / 2 ** n;
    if (cdf > 0.025) break;
    k = j + 1;
    coef = (coef * (n - j)) / (j + 1);
  }
  if (k === 0) return null;
  return { lo: xs[k - 1]!, hi: xs[n - k]! };
}
