import { describe, expect, it } from 'vitest';
import { normalCdf, normalQuantile } from '../../core/stats/math.ts';
import { binomial, createRng, type Rng } from '../stats/prng.ts';
import { decideLook } from './decide.ts';
import { quantileUpperRank } from './sequential.ts';
import type { Guard, GuardData, Look, RolloutPlan } from './types.ts';

const GUARDS: Guard[] = [
  { metric: 'score:groundedness', max_drop: 0.05 },
  { metric: 'error_rate', max_increase: 0.02 },
  { metric: 'latency_p95_ms', max_ratio: 1.5 },
];
const PLAN: RolloutPlan = { steps: [5, 25, 50, 100], step_seconds: 300, min_samples: 100, confidence: 0.95, guards: GUARDS };

const scores = (n: number, ones: number): GuardData => ({ kind: 'mean_drop', control: { n, sum: n * 0.9, sumSq: n * 0.9 }, candidate: { n, sum: ones, sumSq: ones } });
const errors = (n: number, events: number): GuardData => ({ kind: 'rate_increase', control: { n, events: Math.round(n * 0.02) }, candidate: { n, events } });
const latency = (n: number, exceed: number): GuardData => ({
  kind: 'quantile_ratio',
  quantile: 0.95,
  controlQuantile: 1_800,
  candidateQuantile: 1_900,
  controlN: n,
  candidateExceed: { n, events: exceed },
});

function look(over: Partial<Look> = {}): Look {
  return {
    now: Date.parse('2025-01-01T00:01:00Z'),
    step: 0,
    stepStartedAt: Date.parse('2025-01-01T00:00:00Z'),
    stepCounts: { control: 1_000, candidate: 200 },
    totalCounts: { control: 1_000, candidate: 200 },
    guards: [scores(200, 180), errors(200, 4), latency(200, 2)],
    previousP: [1, 1, 1],
    ...over,
  };
}

describe('decideLook', () => {
  it('writes one evidence row per guard, with counts and the look time', () => {
    const r = decideLook(PLAN, look());
    expect(r.decision).toBe('wait');
    expect(r.p).toEqual([1, 1, 1]);
    expect(r.evidence).toHaveLength(3);
    expect(r.evidence[0]).toEqual({ at: '2025-01-01T00:01:00.000Z', metric: 'score:groundedness', control: 0.9, candidate: 0.9, delta: 0, p_value: 1, decision: 'ok', n_control: 200, n_candidate: 200 });
    expect(r.evidence[1]).toMatchObject({ metric: 'error_rate', control: 0.02, candidate: 0.02, decision: 'ok' });
    expect(r.evidence[2]).toMatchObject({ metric: 'latency_p95_ms', control: 1_800, candidate: 1_900, decision: 'ok' });
  });

  it('insufficient data: below min_samples since the start, a short guard, or no data source; p carried', () => {
    const short = decideLook(PLAN, look({ totalCounts: { control: 1_000, candidate: 99 }, guards: [scores(99, 0), errors(99, 99), latency(99, 99)], previousP: [1, 0.5, 1] }));
    expect(short.decision).toBe('wait'); // a terrible candidate, but not yet testable
    expect(short.p).toEqual([1, 0.5, 1]);
    expect(short.evidence.map((e) => [e.decision, e.p_value])).toEqual([
      ['insufficient_data', null],
      ['insufficient_data', null],
      ['insufficient_data', null],
    ]);
    expect(short.evidence[0]).toMatchObject({ candidate: 0, n_candidate: 99 });
    expect(short.evidence[0]!.control).toBeCloseTo(0.9, 12);
    // Enough calls, but only 50 scored on the candidate; latency has no data source.
    const partly = decideLook(PLAN, look({ guards: [scores(50, 0), errors(200, 4), null], previousP: [0.4, 1, 0.7] }));
    expect(partly.p).toEqual([0.4, 1, 0.7]);
    expect(partly.evidence.map((e) => e.decision)).toEqual(['insufficient_data', 'ok', 'insufficient_data']);
    expect(partly.evidence[2]).toEqual({ at: partly.evidence[2]!.at, metric: 'latency_p95_ms', control: null, candidate: null, delta: null, p_value: null, decision: 'insufficient_data' });
  });

  it('splits α by Bonferroni: a p-value between α/k and α is not a breach with three guards, is with one', () => {
    // Carried p-values: the new look adds no evidence, so only the split decides.
    const between = look({ previousP: [0.03, 1, 1] });
    const three = decideLook(PLAN, between);
    expect(three.decision).toBe('wait');
    expect(three.evidence[0]).toMatchObject({ p_value: 0.03, decision: 'ok' });
    const one = decideLook({ ...PLAN, guards: [GUARDS[0]!] }, { ...between, guards: [scores(200, 180)], previousP: [0.03] });
    expect(one.decision).toBe('rollback');
    expect(one.evidence[0]).toMatchObject({ p_value: 0.03, decision: 'breach' });
    expect(decideLook(PLAN, look({ previousP: [0.05 / 3, 1, 1] })).decision).toBe('rollback');
    expect(decideLook({ ...PLAN, confidence: 0.99 }, look({ previousP: [0.01, 1, 1] })).decision).toBe('wait');
  });

  it('a breach rolls back even when the step is due; the other rows carry the decision', () => {
    const r = decideLook(PLAN, look({ now: Date.parse('2025-01-01T00:05:00Z'), guards: [scores(200, 180), errors(200, 60), latency(200, 2)] }));
    expect(r.decision).toBe('rollback');
    expect(r.p[1]).toBeLessThan(1e-4);
    expect(r.evidence.map((e) => e.decision)).toEqual(['rollback', 'breach', 'rollback']);
    expect(r.evidence[1]).toMatchObject({ control: 0.02, candidate: 0.3 });
  });

  it('advances after step_seconds with min_samples per arm in the step; promotes when the next step is 100 or none is left', () => {
    const start = Date.parse('2025-01-01T00:00:00Z');
    const at = (s: number) => start + s * 1_000;
    expect(decideLook(PLAN, look({ now: at(299.999) })).decision).toBe('wait');
    const due = decideLook(PLAN, look({ now: at(300) }));
    expect(due.decision).toBe('advance');
    expect(due.evidence.map((e) => e.decision)).toEqual(['advance', 'advance', 'advance']);
    expect(decideLook(PLAN, look({ now: at(900), stepCounts: { control: 5_000, candidate: 99 } })).decision).toBe('wait');
    expect(decideLook(PLAN, look({ now: at(300), step: 1 })).decision).toBe('advance');
    expect(decideLook(PLAN, look({ now: at(300), step: 2 })).decision).toBe('promote');
    const noHundred = { ...PLAN, steps: [10, 50] };
    expect(decideLook(noHundred, look({ now: at(300), step: 0 })).decision).toBe('advance');
    const last = decideLook(noHundred, look({ now: at(300), step: 1 }));
    expect(last.decision).toBe('promote');
    expect(last.evidence.map((e) => e.decision)).toEqual(['promote', 'promote', 'promote']);
  });
});

// ---------------------------------------------------------------------------------------------
// Whole rollouts, simulated the way the engine runs them (rollouts.ts, arms.ts): a look every
// 30 s over everything since the start, the candidate's share the current step's percent.


/** Latencies: lognormal, median 800 ms × the arm's factor, σ 0.5 in log space (p95 ≈ 1.8 s). */
const LOG_MEDIAN = Math.log(800);
const LOG_SD = 0.5;
const Q = 0.95;
/** Each arm starts keeping its slowest 7% of calls (UpperTail), a little more than a p95 needs. */
const KEPT = 0.07;

/**
 * One arm's latencies, as far as the engine's order statistics reach. The engine reads the
 * control's p95 upper bound, both p95s and the count of candidate calls slower than max_ratio ×
 * that bound: for a healthy candidate all in the slowest 5–7% of an arm. Each call is held as its
 * upper-tail probability v = P(X > x), uniform on (0, 1), mapped to milliseconds when read. Only
 * the calls with v below a boundary b are stored (sorted); the others are merely counted. When a
 * read reaches past b, b doubles: how many counted calls fall in the new band is a binomial draw,
 * and those are drawn uniform on it — given their count, exactly their distribution, as nothing
 * read so far depended on where they lie. So every statistic read is that of the full sample
 * (one uniform per stored call instead of the whole arrays a SQL query would sort).
 */
class UpperTail {
  private values = new Float64Array(4_096);
  private batch = new Float64Array(1_024);
  /** Stored v, ascending (slowest first). */
  private len = 0;
  private bound = KEPT;
  /** Calls with v ≥ bound, counted only. */
  private rest = 0;
  n = 0;

  constructor(
    private readonly logMedian: number,
    private readonly rng: Rng,
  ) {}

  reset(): void {
    this.len = 0;
    this.rest = 0;
    this.n = 0;
    this.bound = KEPT;
  }

  add(count: number): void {
    this.n += count;
    const k = binomial(this.rng, count, this.bound);
    this.rest += count - k;
    if (k === 0) return;
    const b = this.sorted(k, 0, this.bound);
    this.reserve(k);
    // Merge from the back, in place.
    const v = this.values;
    let i = this.len - 1;
    let j = k - 1;
    for (let w = this.len + k - 1; j >= 0; w--) v[w] = i >= 0 && v[i]! > b[j]! ? v[i--]! : b[j--]!;
    this.len += k;
  }

  /** Log-latency of the 1-based order statistic of rank r among all n calls. */
  rank(r: number): number {
    const m = this.n - r + 1;
    if (m < 1 || m > this.n) return Number.NaN;
    while (m > this.len) this.widen();
    return this.logMedian - LOG_SD * normalQuantile(this.values[m - 1]!);
  }

  /** How many calls are slower than log-latency x. */
  slowerThan(x: number): number {
    const v = normalCdf((this.logMedian - x) / LOG_SD);
    while (v > this.bound && this.rest > 0) this.widen();
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.values[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Doubles the stored band: the counted calls that fall in it are drawn and appended. */
  private widen(): void {
    const to = Math.min(1, 2 * this.bound);
    const k = to === 1 ? this.rest : binomial(this.rng, this.rest, (to - this.bound) / (1 - this.bound));
    const b = this.sorted(k, this.bound, to);
    this.reserve(k);
    this.values.set(b.subarray(0, k), this.len);
    this.len += k;
    this.rest -= k;
    this.bound = to;
  }

  /** k uniforms on (lo, hi), sorted, in the batch buffer. */
  private sorted(k: number, lo: number, hi: number): Float64Array {
    if (k > this.batch.length) this.batch = new Float64Array(2 * k);
    const b = this.batch;
    for (let i = 0; i < k; i++) {
      const x = lo + (hi - lo) * this.rng();
      let j = i - 1;
      for (; j >= 0 && b[j]! > x; j--) b[j + 1] = b[j]!;
      b[j + 1] = x;
    }
    return b;
  }

  private reserve(k: number): void {
    if (this.len + k <= this.values.length) return;
    const grown = new Float64Array(2 * (this.len + k));
    grown.set(this.values.subarray(0, this.len));
    this.values = grown;
  }
}

interface ArmModel {
  score: number;
  errorRate: number;
  latencyFactor: number;
}

const CONTROL: ArmModel = { score: 0.9, errorRate: 0.02, latencyFactor: 1 };

interface Scenario {
  /** Calls per second to the route (both arms). */
  rate: number;
  candidate: ArmModel;
}

interface Outcome {
  decision: 'promote' | 'rollback' | 'stalled';
  /** Seconds from the start to the deciding look. */
  seconds: number;
  breached: string[];
  /** Scored candidate calls at the deciding look. */
  candidateScored: number;
}

const LOOK_SECONDS = 30;
const MAX_SECONDS = 3 * 3_600;

interface ArmState {
  model: ArmModel;
  calls: number;
  step: number;
  errors: number;
  scored: number;
  scoreSum: number;
  latency: UpperTail;
}

/** `rollouts` whole rollouts of one scenario, each run look by look through decideLook. */
function simulate(seed: string, s: Scenario, rollouts: number, plan: RolloutPlan = PLAN): Outcome[] {
  const rng = createRng(seed);
  const ratio = plan.guards.find((g) => g.metric === 'latency_p95_ms')?.max_ratio ?? 1.5;
  const arm = (model: ArmModel): ArmState => {
    const latency = new UpperTail(LOG_MEDIAN + Math.log(model.latencyFactor), rng);
    return { model, calls: 0, step: 0, errors: 0, scored: 0, scoreSum: 0, latency };
  };
  const control = arm(CONTROL);
  const candidate = arm(s.candidate);
  const perLook = Math.round(s.rate * LOOK_SECONDS);

  const feed = (a: ArmState, n: number) => {
    const failed = binomial(rng, n, a.model.errorRate);
    const scored = n - failed; // every OK call scored online
    a.calls += n;
    a.step += n;
    a.errors += failed;
    a.scored += scored;
    a.scoreSum += binomial(rng, scored, a.model.score);
    a.latency.add(n - failed);
  };

  const latencyData = (): GuardData => {
    const c = control.latency;
    const k = candidate.latency;
    let exceed = 0;
    if (c.n >= plan.min_samples) {
      const bound = c.rank(quantileUpperRank(c.n, Q, plan.confidence));
      exceed = k.slowerThan(bound + Math.log(ratio));
    }
    // Point p95s (nearest rank), for the evidence.
    const p = (t: UpperTail) => Math.exp(t.rank(Math.ceil(Q * t.n)));
    return { kind: 'quantile_ratio', quantile: Q, controlQuantile: p(c), candidateQuantile: p(k), controlN: c.n, candidateExceed: { n: k.n, events: exceed } };
  };

  const guardData = (g: Guard): GuardData => {
    if (g.metric === 'error_rate') return { kind: 'rate_increase', control: { n: control.calls, events: control.errors }, candidate: { n: candidate.calls, events: candidate.errors } };
    if (g.metric === 'latency_p95_ms') return latencyData();
    const mean = (a: ArmState) => ({ n: a.scored, sum: a.scoreSum, sumSq: a.scoreSum }); // 0/1 scores
    return { kind: 'mean_drop', control: mean(control), candidate: mean(candidate) };
  };

  const outcomes: Outcome[] = [];
  for (let r = 0; r < rollouts; r++) {
    for (const a of [control, candidate]) {
      a.calls = a.step = a.errors = a.scored = a.scoreSum = 0;
      a.latency.reset();
    }
    let step = 0;
    let stepStartedAt = 0;
    let previousP = plan.guards.map(() => 1);
    let outcome: Outcome = { decision: 'stalled', seconds: MAX_SECONDS, breached: [], candidateScored: 0 };
    for (let t = LOOK_SECONDS; t <= MAX_SECONDS; t += LOOK_SECONDS) {
      const k = binomial(rng, perLook, plan.steps[step]! / 100);
      feed(candidate, k);
      feed(control, perLook - k);
      const now = t * 1_000;
      const result = decideLook(plan, {
        now,
        step,
        stepStartedAt,
        stepCounts: { control: control.step, candidate: candidate.step },
        totalCounts: { control: control.calls, candidate: candidate.calls },
        guards: plan.guards.map(guardData),
        previousP,
      });
      previousP = result.p;
      if (result.decision === 'advance') {
        step++;
        stepStartedAt = now;
        control.step = candidate.step = 0;
      } else if (result.decision !== 'wait') {
        const breached = result.evidence.filter((e) => e.decision === 'breach').map((e) => e.metric);
        outcome = { decision: result.decision, seconds: t, breached, candidateScored: candidate.scored };
        break;
      }
    }
    outcomes.push(outcome);
  }
  return outcomes;
}

function summary(outcomes: readonly Outcome[]) {
  const back = outcomes.filter((o) => o.decision === 'rollback');
  const times = back.map((o) => o.seconds).sort((a, b) => a - b);
  const at = (q: number) => (times.length ? times[Math.min(times.length - 1, Math.floor(q * times.length))]! : Number.NaN);
  const calls = back.map((o) => o.candidateScored).sort((a, b) => a - b);
  return {
    rolledBack: back.length / outcomes.length,
    promoted: outcomes.filter((o) => o.decision === 'promote').length / outcomes.length,
    stalled: outcomes.filter((o) => o.decision === 'stalled').length,
    median: at(0.5),
    p90: at(0.9),
    medianCalls: calls.length ? calls[Math.floor(calls.length / 2)]! : Number.NaN,
    /** When half of all rollouts had been rolled back (∞ if fewer were). */
    half: times[Math.floor(outcomes.length / 2)] ?? Number.POSITIVE_INFINITY,
    by: (metric: string) => back.filter((o) => o.breached.includes(metric)).length / outcomes.length,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * The README's time-to-detect formula on the same schedule, in expectation: the first look t at
 * which δ²·I(t) ≥ u*, I(t) = 1 / (σ²_cand/n_cand(t) + σ²_ctrl/n_ctrl(t)) over the scored calls
 * since the start, u* solving u²/(1 + u) = 2 ln(k/(2α)) + ln(1 + u) (τ = δ); a step lasts
 * step_seconds or until each arm has min_samples calls in it.
 */
function predictedSeconds(rate: number, control: number, candidate: number, maxDrop: number, plan: RolloutPlan = PLAN): number {
  const target = 2 * Math.log(plan.guards.length / (2 * (1 - plan.confidence)));
  let u = 10;
  for (let i = 0; i < 50; i++) u = Math.sqrt((target + Math.log(1 + u)) * (1 + u));
  const delta = control - candidate - maxDrop;
  const scoredRate = rate * (1 - CONTROL.errorRate);
  let step = 0;
  let stepStart = 0;
  let stepCalls = 0;
  let nCand = 0;
  let nCtrl = 0;
  for (let t = LOOK_SECONDS; t <= MAX_SECONDS; t += LOOK_SECONDS) {
    const share = plan.steps[step]! / 100;
    nCand += scoredRate * LOOK_SECONDS * share;
    nCtrl += scoredRate * LOOK_SECONDS * (1 - share);
    stepCalls += rate * LOOK_SECONDS * Math.min(share, 1 - share);
    if (delta * delta / ((candidate * (1 - candidate)) / nCand + (control * (1 - control)) / nCtrl) >= u) return t;
    if (t - stepStart >= plan.step_seconds && stepCalls >= plan.min_samples) {
      if (step + 1 >= plan.steps.length - 1) return Number.POSITIVE_INFINITY; // promoted first
      step++;
      stepStart = t;
      stepCalls = 0;
    }
  }
  return Number.NaN;
}

describe('whole rollouts (seeded simulation; steps [5, 25, 50, 100] × 300 s, looks every 30 s, three guards)', () => {
  it('a healthy candidate (identical to the control) at 10 calls/s: rolled back in 0.0% of 2,000 rollouts (≤ 5%)', () => {
    const s = summary(simulate('rollout-healthy', { rate: 10, candidate: { ...CONTROL } }, 2_000));
    console.log(`[rollout] healthy, 10 calls/s: rolled back ${pct(s.rolledBack)}, promoted ${pct(s.promoted)}`);
    expect(s.rolledBack).toBeLessThanOrEqual(0.05);
    expect(s.promoted + s.rolledBack).toBe(1);
  });

  it('candidates exactly at a tolerance, 10 calls/s: score −0.05 rolled back 0.2% of 2,000; error rate +2 points 0.1%, p95 × 1.5 0.8% of 1,000 (all ≤ 5%)', () => {
    const results = {
      score: summary(simulate('rollout-at-score', { rate: 10, candidate: { ...CONTROL, score: 0.85 } }, 2_000)),
      errors: summary(simulate('rollout-at-errors', { rate: 10, candidate: { ...CONTROL, errorRate: 0.04 } }, 1_000)),
      latency: summary(simulate('rollout-at-latency', { rate: 10, candidate: { ...CONTROL, latencyFactor: 1.5 } }, 1_000)),
    };
    console.log(`[rollout] at the tolerance, 10 calls/s: score ${pct(results.score.rolledBack)}, error rate ${pct(results.errors.rolledBack)}, latency ${pct(results.latency.rolledBack)}`);
    for (const s of Object.values(results)) expect(s.rolledBack).toBeLessThanOrEqual(0.05);
  });

  it('a 10-point score drop (0.9 → 0.8, every call scored) is caught ≥ 90% from 6 calls/s (90.0%), 97% at 8, 99% at 10 calls/s (median 540 s)', () => {
    const rows = [2, 4, 6, 8, 10, 20].map((rate) => {
      const s = summary(simulate(`rollout-drop-${rate}`, { rate, candidate: { ...CONTROL, score: 0.8 } }, 1_000));
      const predicted = predictedSeconds(rate, 0.9, 0.8, 0.05);
      console.log(
        `[rollout] 0.9 → 0.8 at ${rate} calls/s: caught ${pct(s.rolledBack)} (by the score guard ${pct(s.by('score:groundedness'))}), median ${s.median} s, half of all by ${s.half} s (formula ${predicted} s), p90 ${s.p90} s, median scored candidate calls ${s.medianCalls}`,
      );
      return { rate, predicted, ...s };
    });
    const at = (rate: number) => rows.find((r) => r.rate === rate)!;
    expect(at(4).rolledBack).toBeLessThan(0.9);
    expect(at(6).rolledBack).toBeGreaterThanOrEqual(0.85);
    expect(at(8).rolledBack).toBeGreaterThanOrEqual(0.9);
    expect(at(10).rolledBack).toBeGreaterThanOrEqual(0.99);
    expect(rows.every((r) => r.by('score:groundedness') === r.rolledBack)).toBe(true);
    // The formula is the README's rule of thumb: within two looks of when half the rollouts were caught.
    for (const r of rows) {
      if (Number.isFinite(r.predicted) || Number.isFinite(r.half)) expect(Math.abs(r.half - r.predicted), `${r.rate} calls/s`).toBeLessThanOrEqual(2 * LOOK_SECONDS);
    }
  });

  it('an error-rate jump 2% → 20% and a latency × 3 at 10 calls/s: caught 100%, medians 240 s and 210 s, p90 ≤ 300 s (the first step)', () => {
    const errs = summary(simulate('rollout-errors-20', { rate: 10, candidate: { ...CONTROL, errorRate: 0.2 } }, 1_000));
    const slow = summary(simulate('rollout-latency-3x', { rate: 10, candidate: { ...CONTROL, latencyFactor: 3 } }, 1_000));
    console.log(`[rollout] 10 calls/s: errors 2% → 20% caught ${pct(errs.rolledBack)}, median ${errs.median} s, p90 ${errs.p90} s; latency × 3 caught ${pct(slow.rolledBack)}, median ${slow.median} s, p90 ${slow.p90} s`);
    expect(errs.rolledBack).toBeGreaterThanOrEqual(0.99);
    expect(slow.rolledBack).toBeGreaterThanOrEqual(0.99);
    // Guards are tested from min_samples (100) candidate calls: about 200 s at 5% of 10 calls/s.
    expect(errs.p90).toBeLessThanOrEqual(300);
    expect(slow.p90).toBeLessThanOrEqual(300);
  });
});
