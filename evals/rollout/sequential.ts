import { normalCdf, normalQuantile } from '../../core/stats/math.ts';
import type { Guard, GuardData, MeanArm, RateArm } from './types.ts';

/**
 * The statistics of a rollout's guards (DESIGN §4.6): always-valid p-values, so the engine may
 * look every evaluation interval, as often as it likes, and a healthy candidate is still rolled
 * back at most 1 − confidence of the time over the whole rollout.
 *
 * Test. Each guard's null hypothesis is "within tolerance" (non-inferiority, the tolerance is the
 * margin). Its estimate d̂ of the excess over the margin, in the bad direction, with variance V:
 *   score:*            d̂ = (control − candidate) − max_drop         (means)
 *   error_rate         d̂ = (candidate − control) − max_increase     (rates)
 *   cost_per_call_usd  d̂ = candidate − max_ratio · control          (means)
 *   latency_p95_ms     d̂ = exceed/n − (1 − q), V = q(1 − q)/n       (one proportion: the share of
 *                      candidate calls slower than max_ratio × the control's p_q upper bound)
 * goes into a mixture sequential probability ratio test (Johari et al., "Always valid
 * inference"), one-sided: a half-normal mixture of scale τ over the excess θ > 0, in closed form
 *   Λ = 2Φ(z)·√(V/(V+τ²))·exp(z²/2),   z = τ·d̂ / √(V(V+τ²)),
 * the two-sided normal mixture times 2Φ(z) ∈ (1, 2) for d̂ > 0. Every exp((θd̂ − θ²/2)/V), θ > 0, is
 * a martingale at the margin and a supermartingale inside it, in information time 1/V (nested
 * samples make d̂/V a Brownian motion in 1/V whatever the traffic split, so the steps' changing
 * shares are fine), so Ville's inequality gives P(ever Λ ≥ 1/α) ≤ α for any candidate within
 * tolerance, however many looks. p_n = min(p_{n−1}, 1/Λ_n); a look with d̂ ≤ 0 carries p (Λ < 1
 * there). Guards share α = 1 − confidence by Bonferroni, each breached at p ≤ α/k (decide.ts).
 *
 * τ (TAU_SCALE × the tolerance): max_drop for scores; 2·max(max_increase, 0.01) for error rates;
 * (max(max_ratio, 1.1) − 1) × the control's mean for cost; 1 − q for latency. For an excess δ
 * the expected crossing needs u = δ²/V with u·c²u/(1 + c²u) = 2 ln(k/(2α)) + ln(1 + c²u),
 * c = τ/δ, least at c ≈ 1: τ = max_drop is the fastest test of the 0.9 → 0.8 score drop (δ =
 * one tolerance; in a trial run τ = 2·max_drop caught it 87% instead of 92% at 6 calls/s).
 * Errors take twice their tolerance because error regressions come as jumps: 2% → 20% is then
 * caught at the first testable looks (median 240 s against 330 s at 10 calls/s) for 3 points less
 * power on 2% → 6%.
 *
 * Variances are plug-in with floors, so an arm with no spread behaves: rates use (events + ½)/(n + 1);
 * [0, 1] scores take the larger of the sample variance and ε(1 − ε), ε = ½/(n + 1), the smoothed
 * Bernoulli variance of an all-equal sample (0/1 scores get the smoothed Bernoulli variance, other
 * [0, 1] scores are not charged the Bernoulli maximum m(1 − m)); costs floor at a 1% coefficient
 * of variation. All 1.0 against all 0.0 on 20 calls each gives p ≈ 1e-44; equal arms give p = 1.
 *
 * Error rates (seeded simulations, decide.test.ts: steps [5, 25, 50, 100] × 300 s, a look every
 * 30 s, min_samples 100, confidence 0.95, guards score:groundedness 0.05 (0/1 scores, control 0.9,
 * every OK call scored), error_rate 0.02 (control 2%), latency_p95_ms 1.5 (lognormal, σ 0.5)):
 * - healthy candidate, 10 calls/s: rolled back in 0 of 2,000 rollouts;
 * - exactly at a tolerance, 10 calls/s: score −0.05 0.2% (2,000), error rate +2 points 0.1%,
 *   p95 × 1.5 0.8% (1,000 each); a single guard at α 0.05 looked at 400 times: 3.8% (score),
 *   1.5% (errors), 2.7% (cost), where a z-test at every look crosses 40% and 32%;
 * - 0.9 → 0.8 caught 37% at 2 calls/s, 74% at 4, 90% at 6, 98% at 8, 99.3% at 10, 100% at 20,
 *   median times to rollback 1,440 / 900 / 690 / 570 / 540 / 390 s from the start;
 * - 10 calls/s: errors 2% → 20% caught 100%, median 240 s; latency × 3 100%, median 210 s (the
 *   guards are first tested at ~200 s, when the 5% arm reaches min_samples).
 *
 * Time to detect. Over scored calls since the start, n_cand(t) and n_ctrl(t), with per-call
 * variances σ²_cand, σ²_ctrl (p(1 − p) for 0/1 scores) and excess δ over the tolerance, the look by
 * which half the rollouts are rolled back is the first t with
 *   δ² / (σ²_cand/n_cand(t) + σ²_ctrl/n_ctrl(t)) ≥ u*,   u* ≈ 10.1 (k = 3, confidence 0.95, τ = δ;
 *   7.6 for one guard, 11.2 for five),
 * within two looks of the simulation at 4–20 calls/s. At a constant candidate share s of R scored
 * calls/s that is t ≈ u*·(σ²_cand/s + σ²_ctrl/(1 − s)) / (R·δ²): 0.9 → 0.8 needs ≈ 13,300/R s at
 * 5%, 3,100/R s at 25%, 2,000/R s at 50%; on the schedule it lands in the 25% step from ~8
 * calls/s, in the 50% step below, and not before the rollout ends at 2 calls/s.
 * Scoring a sample of calls divides R by the sample rate.
 */

/** τ of each guard kind, as a multiple of its tolerance (see above). */
export const TAU_SCALE: Readonly<Record<GuardData['kind'], number>> = { mean_drop: 1, rate_increase: 2, mean_ratio: 1, quantile_ratio: 1 };

const SCORE_PREFIX = 'score:';
const ALLOWED = 'score:<scorer>, error_rate, latency_p95_ms, cost_per_call_usd';

export interface GuardTest {
  /** Means (scores, cost), rates (errors) or p95s (latency), as displayed. */
  control: number;
  candidate: number;
  /** candidate − control; candidate / control for the ratio guards (NaN/∞ when control is 0). */
  delta: number;
  /** The always-valid p-value: the running minimum over the rollout's looks. */
  pValue: number;
}

/** The kind of data a guard's metric is tested on; throws on a metric no guard has. */
export function guardKind(metric: string): GuardData['kind'] {
  if (metric.startsWith(SCORE_PREFIX) && metric.length > SCORE_PREFIX.length) return 'mean_drop';
  switch (metric) {
    case 'error_rate':
      return 'rate_increase';
    case 'latency_p95_ms':
      return 'quantile_ratio';
    case 'cost_per_call_usd':
      return 'mean_ratio';
    default:
      throw new Error(unknownMetric(metric));
  }
}

const unknownMetric = (metric: string) => `metric: unknown guard metric '${metric}'; allowed: ${ALLOWED}`;

/** Null when the guard is usable; else a message naming the field at fault. */
export function checkGuard(guard: Guard): string | null {
  let kind: GuardData['kind'];
  try {
    kind = guardKind(guard.metric);
  } catch {
    return unknownMetric(guard.metric);
  }
  const field = kind === 'mean_drop' ? 'max_drop' : kind === 'rate_increase' ? 'max_increase' : 'max_ratio';
  for (const other of ['max_drop', 'max_increase', 'max_ratio'] as const) {
    if (other !== field && guard[other] !== undefined) return `${other}: does not apply to ${guard.metric} (it takes ${field})`;
  }
  const v = guard[field];
  const finite = typeof v === 'number' && Number.isFinite(v);
  switch (kind) {
    case 'mean_drop':
      return finite && v > 0 && v < 1 ? null : `max_drop: ${guard.metric} needs max_drop in (0, 1), got ${String(v)}`;
    case 'rate_increase':
      return finite && v >= 0 && v < 1 ? null : `max_increase: error_rate needs max_increase in [0, 1), got ${String(v)}`;
    case 'quantile_ratio':
    case 'mean_ratio':
      return finite && v >= 1 ? null : `max_ratio: ${guard.metric} needs max_ratio ≥ 1, got ${String(v)}`;
  }
}

/**
 * 1-based rank of the order statistic that is an upper confidence bound of the q-quantile of n
 * values: P(X_(s) ≥ ξ_q) = P(Binomial(n, q) ≤ s − 1) ≥ confidence, with the normal approximation,
 * s = ⌈nq + z·√(nq(1−q))⌉ + 1, z = Φ⁻¹(confidence) (one-sided). Clamped to [1, n]: below
 * n ≈ 2z²q/(1−q) (~100 at q 0.95, confidence 0.95) it is the maximum, a weaker bound. 0 when n ≤ 0.
 */
export function quantileUpperRank(n: number, q: number, confidence: number): number {
  if (!(n > 0)) return 0;
  const s = Math.ceil(n * q + normalQuantile(confidence) * Math.sqrt(n * q * (1 - q))) + 1;
  return Math.min(n, Math.max(1, s));
}

/** The p-value after a look: min(previous, 1/Λ) with Λ the one-sided normal mixture above. */
export function mixturePValue(excess: number, variance: number, tau: number, previousP: number): number {
  // Λ rises with d̂ and Λ(0) = √(V/(V+τ²)) < 1: a look with no excess carries the p-value.
  if (!(excess > 0)) return previousP;
  if (!(variance > 0)) return 0;
  const total = variance + tau * tau;
  const z = (tau * excess) / Math.sqrt(variance * total);
  const logLambda = Math.log(2 * normalCdf(z)) + (z * z) / 2 + 0.5 * Math.log(variance / total);
  return Math.min(previousP, Math.exp(-logLambda), 1);
}

const mean = (a: MeanArm) => (a.n > 0 ? a.sum / a.n : Number.NaN);
const rate = (a: RateArm) => (a.n > 0 ? a.events / a.n : Number.NaN);
const smoothed = (a: RateArm) => (a.events + 0.5) / (a.n + 1);

function sampleVariance(a: MeanArm): number {
  if (a.n < 2) return 0;
  const m = a.sum / a.n;
  return Math.max(0, (a.sumSq - a.n * m * m) / (a.n - 1));
}

/** Per-value variance of [0, 1] scores, floored at a smoothed all-equal Bernoulli's. */
function scoreVariance(a: MeanArm): number {
  const e = 0.5 / (a.n + 1);
  return Math.max(sampleVariance(a), e * (1 - e));
}

/** Per-value variance of costs, floored at a 1% coefficient of variation. */
function costVariance(a: MeanArm): number {
  const m = Math.abs(mean(a));
  return Math.max(sampleVariance(a), (0.01 * m) ** 2, 1e-24);
}

/** Scores: the candidate's mean may be at most max_drop below the control's. */
export function meanDropTest(control: MeanArm, candidate: MeanArm, maxDrop: number, previousP: number): GuardTest {
  const c = mean(control);
  const k = mean(candidate);
  const v = scoreVariance(control) / control.n + scoreVariance(candidate) / candidate.n;
  return { control: c, candidate: k, delta: k - c, pValue: mixturePValue(c - k - maxDrop, v, TAU_SCALE.mean_drop * maxDrop, previousP) };
}

/** Error rate: the candidate's may be at most max_increase above the control's. */
export function rateIncreaseTest(control: RateArm, candidate: RateArm, maxIncrease: number, previousP: number): GuardTest {
  const c = rate(control);
  const k = rate(candidate);
  const pc = smoothed(control);
  const pk = smoothed(candidate);
  const v = (pc * (1 - pc)) / control.n + (pk * (1 - pk)) / candidate.n;
  // A zero tolerance still needs a mixture scale: a point of error rate.
  const tau = TAU_SCALE.rate_increase * Math.max(maxIncrease, 0.01);
  return { control: c, candidate: k, delta: k - c, pValue: mixturePValue(k - c - maxIncrease, v, tau, previousP) };
}

/** Cost per call: the candidate's mean may be at most max_ratio × the control's. */
export function meanRatioTest(control: MeanArm, candidate: MeanArm, maxRatio: number, previousP: number): GuardTest {
  const c = mean(control);
  const k = mean(candidate);
  const v = costVariance(candidate) / candidate.n + (maxRatio * maxRatio * costVariance(control)) / control.n;
  const scale = c > 0 ? c : k > 0 ? k : 1e-9;
  const tau = TAU_SCALE.mean_ratio * (Math.max(maxRatio, 1.1) - 1) * scale;
  return { control: c, candidate: k, delta: k / c, pValue: mixturePValue(k - maxRatio * c, v, tau, previousP) };
}

/**
 * Latency: under "candidate p_q ≤ max_ratio × control p_q" at most 1 − q of the candidate's calls
 * are slower than max_ratio × the control's p_q upper bound (the engine counts them); tested as
 * one proportion against 1 − q with its null variance q(1 − q)/n (exact at the margin,
 * conservative inside it).
 */
export function quantileRatioTest(data: Extract<GuardData, { kind: 'quantile_ratio' }>, previousP: number): GuardTest {
  const p0 = 1 - data.quantile;
  const { n, events } = data.candidateExceed;
  const share = n > 0 ? events / n : Number.NaN;
  const pValue = n > 0 ? mixturePValue(share - p0, (p0 * (1 - p0)) / n, TAU_SCALE.quantile_ratio * p0, previousP) : previousP;
  return { control: data.controlQuantile, candidate: data.candidateQuantile, delta: data.candidateQuantile / data.controlQuantile, pValue };
}

/** Calls (or scored calls) on each arm of a guard's data: the min_samples gate reads these. */
export function guardCounts(data: GuardData): { control: number; candidate: number } {
  switch (data.kind) {
    case 'mean_drop':
    case 'mean_ratio':
    case 'rate_increase':
      return { control: data.control.n, candidate: data.candidate.n };
    case 'quantile_ratio':
      return { control: data.controlN, candidate: data.candidateExceed.n };
  }
}

/** One look at one guard: the values to display and the new running-minimum p-value. */
export function guardTest(guard: Guard, data: GuardData, previousP: number): GuardTest {
  const kind = guardKind(guard.metric);
  if (kind !== data.kind) throw new Error(`${guard.metric} is tested on ${kind} data, got ${data.kind}`);
  switch (data.kind) {
    case 'mean_drop':
      return meanDropTest(data.control, data.candidate, tolerance(guard, 'max_drop'), previousP);
    case 'rate_increase':
      return rateIncreaseTest(data.control, data.candidate, tolerance(guard, 'max_increase'), previousP);
    case 'mean_ratio':
      return meanRatioTest(data.control, data.candidate, tolerance(guard, 'max_ratio'), previousP);
    case 'quantile_ratio':
      return quantileRatioTest(data, previousP);
  }
}

function tolerance(guard: Guard, field: 'max_drop' | 'max_increase' | 'max_ratio'): number {
  const v = guard[field];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw new Error(checkGuard(guard) ?? `${field}: missing`);
}
