import { describe, expect, it } from 'vitest';
import { incompleteBeta, normalCdf, normalQuantile } from '../../core/stats/math.ts';
import { binomial, createRng, type Rng } from '../stats/prng.ts';
import { checkGuard, guardKind, guardTest, meanDropTest, meanRatioTest, mixturePValue, quantileUpperRank, rateIncreaseTest } from './sequential.ts';
import type { MeanArm } from './types.ts';

/** n scores all equal to v (sum and sum of squares, as the engine reads them). */
const flat = (n: number, v: number): MeanArm => ({ n, sum: n * v, sumSq: n * v * v });


describe('guardKind and checkGuard', () => {
  it('maps each metric to the data it is tested on', () => {
    expect(guardKind('score:groundedness')).toBe('mean_drop');
    expect(guardKind('error_rate')).toBe('rate_increase');
    expect(guardKind('latency_p95_ms')).toBe('quantile_ratio');
    expect(guardKind('cost_per_call_usd')).toBe('mean_ratio');
    expect(() => guardKind('score:')).toThrow(/allowed: score:<scorer>, error_rate/);
    expect(() => guardKind('latency_p99_ms')).toThrow(/latency_p99_ms/);
  });

  it('names the field at fault', () => {
    expect(checkGuard({ metric: 'score:groundedness', max_drop: 0.05 })).toBeNull();
    expect(checkGuard({ metric: 'error_rate', max_increase: 0 })).toBeNull();
    expect(checkGuard({ metric: 'latency_p95_ms', max_ratio: 1 })).toBeNull();
    expect(checkGuard({ metric: 'cost_per_call_usd', max_ratio: 1.2 })).toBeNull();
    expect(checkGuard({ metric: 'score:groundedness' })).toMatch(/^max_drop: .*\(0, 1\)/);
    expect(checkGuard({ metric: 'score:groundedness', max_drop: 1 })).toMatch(/^max_drop/);
    expect(checkGuard({ metric: 'error_rate', max_increase: 1 })).toMatch(/^max_increase: .*\[0, 1\)/);
    expect(checkGuard({ metric: 'error_rate', max_increase: -0.1 })).toMatch(/^max_increase/);
    expect(checkGuard({ metric: 'latency_p95_ms', max_ratio: 0.9 })).toMatch(/^max_ratio: .*≥ 1/);
    expect(checkGuard({ metric: 'cost_per_call_usd' })).toMatch(/^max_ratio/);
    expect(checkGuard({ metric: 'error_rate', max_drop: 0.05, max_increase: 0.02 })).toMatch(/^max_drop: does not apply to error_rate/);
    expect(checkGuard({ metric: 'p95', max_ratio: 2 })).toMatch(/^metric: .*'p95'.*allowed: score:<scorer>, error_rate, latency_p95_ms, cost_per_call_usd/);
  });
});

describe('quantileUpperRank', () => {
  it('is an upper bound of the q-quantile with the confidence asked (exact binomial coverage)', () => {
    for (const n of [100, 150, 300, 1_000, 5_000, 20_000]) {
      const s = quantileUpperRank(n, 0.95, 0.95);
      // P(X_(s) ≥ ξ_q) = P(Binomial(n, q) ≤ s − 1) = I_{1−q}(n − s + 1, s).
      const coverage = s >= n ? 1 - 0.95 ** n : incompleteBeta(0.05, n - s + 1, s);
      expect(coverage, `n ${n}, rank ${s}`).toBeGreaterThanOrEqual(0.945);
      expect(s).toBeLessThanOrEqual(n);
    }
    expect(quantileUpperRank(1_000, 0.95, 0.95)).toBe(Math.ceil(950 + normalQuantile(0.95) * Math.sqrt(47.5)) + 1);
    expect(quantileUpperRank(10, 0.95, 0.95)).toBe(10);
    expect(quantileUpperRank(0, 0.95, 0.95)).toBe(0);
  });
});

describe('guardTest', () => {
  const score = { metric: 'score:groundedness', max_drop: 0.05 };
  const errors = { metric: 'error_rate', max_increase: 0.02 };

  it('zero-variance arms: all 1.0 against all 0.0 on 20 calls each is a breach; all equal is p = 1', () => {
    const worst = guardTest(score, { kind: 'mean_drop', control: flat(20, 1), candidate: flat(20, 0) }, 1);
    expect(worst).toMatchObject({ control: 1, candidate: 0, delta: -1 });
    expect(worst.pValue).toBeLessThan(1e-20);
    for (const v of [0, 0.9, 1]) expect(guardTest(score, { kind: 'mean_drop', control: flat(20, v), candidate: flat(20, v) }, 1).pValue).toBe(1);
    // A candidate better than the control is never evidence of a breach.
    expect(guardTest(score, { kind: 'mean_drop', control: flat(50, 0.5), candidate: flat(50, 1) }, 1).pValue).toBe(1);
    const noErrors = { n: 500, events: 0 };
    expect(guardTest(errors, { kind: 'rate_increase', control: noErrors, candidate: noErrors }, 1).pValue).toBe(1);
    expect(guardTest({ metric: 'error_rate', max_increase: 0 }, { kind: 'rate_increase', control: noErrors, candidate: noErrors }, 1).pValue).toBe(1);
    expect(guardTest(errors, { kind: 'rate_increase', control: { n: 20, events: 0 }, candidate: { n: 20, events: 20 } }, 1).pValue).toBeLessThan(1e-10);
    const cost = { metric: 'cost_per_call_usd', max_ratio: 1.5 };
    const same = guardTest(cost, { kind: 'mean_ratio', control: flat(100, 0.002), candidate: flat(100, 0.002) }, 1);
    expect(same).toMatchObject({ delta: 1, pValue: 1 });
    expect(guardTest(cost, { kind: 'mean_ratio', control: flat(100, 0.002), candidate: flat(100, 0.004) }, 1).pValue).toBeLessThan(1e-10);
  });

  it('keeps the running minimum and carries it through looks without excess', () => {
    const data = { kind: 'mean_drop' as const, control: flat(200, 0.9), candidate: { n: 200, sum: 150, sumSq: 150 } };
    const first = guardTest(score, data, 1).pValue;
    expect(first).toBeLessThan(0.05);
    expect(guardTest(score, data, first / 10).pValue).toBe(first / 10);
    expect(guardTest(score, { ...data, candidate: flat(200, 0.9) }, first).pValue).toBe(first);
  });

  it('latency: the share of candidate calls beyond max_ratio × the control bound, against 1 − q', () => {
    const latency = { metric: 'latency_p95_ms', max_ratio: 1.5 };
    const base = { kind: 'quantile_ratio' as const, quantile: 0.95, controlQuantile: 1_000, candidateQuantile: 1_100, controlN: 2_000 };
    const ok = guardTest(latency, { ...base, candidateExceed: { n: 400, events: 20 } }, 1);
    expect(ok).toMatchObject({ control: 1_000, candidate: 1_100, pValue: 1 });
    expect(ok.delta).toBeCloseTo(1.1, 12);
    expect(guardTest(latency, { ...base, candidateQuantile: 3_000, candidateExceed: { n: 400, events: 120 } }, 1).pValue).toBeLessThan(1e-10);
    expect(() => guardTest(latency, { kind: 'rate_increase', control: { n: 1, events: 0 }, candidate: { n: 1, events: 0 } }, 1)).toThrow(/quantile_ratio/);
  });

  it('the one-sided mixture is the two-sided one × 2Φ(z): never weaker where it counts', () => {
    const V = 0.0004;
    const tau = 0.05;
    for (const d of [0.03, 0.06, 0.1]) {
      const symmetric = Math.sqrt(V / (V + tau ** 2)) * Math.exp((tau ** 2 * d ** 2) / (2 * V * (V + tau ** 2)));
      const z = (tau * d) / Math.sqrt(V * (V + tau ** 2));
      expect(1 / mixturePValue(d, V, tau, Infinity)).toBeCloseTo(symmetric * 2 * normalCdf(z), 8);
    }
    expect(mixturePValue(0.01, V, tau, 1)).toBe(1); // Λ < 1: no evidence yet
    expect(mixturePValue(-0.01, V, tau, 0.3)).toBe(0.3);
  });
});

describe('always valid under any number of looks (seeded simulation)', () => {
  /**
   * Candidates exactly at the tolerance, looked at after every 25 calls per arm for 400 looks
   * (10,000 calls per arm): the share of sequences that ever reach p ≤ α must stay ≤ α. A fixed
   * one-sided z-test at each look, for contrast, crosses in far more of them.
   */
  function atMargin(seed: string, kind: 'score' | 'rate', alpha: number, runs = 1_000, looks = 400, batch = 25) {
    const rng = createRng(seed);
    const zCrit = normalQuantile(1 - alpha);
    let msprt = 0;
    let naive = 0;
    for (let r = 0; r < runs; r++) {
      let p = 1;
      let crossedNaive = false;
      const control = { n: 0, events: 0 };
      const candidate = { n: 0, events: 0 };
      for (let l = 0; l < looks && p > alpha; l++) {
        control.n += batch;
        candidate.n += batch;
        if (kind === 'score') {
          control.events += binomial(rng, batch, 0.9);
          candidate.events += binomial(rng, batch, 0.85);
          const t = meanDropTest(
            { n: control.n, sum: control.events, sumSq: control.events },
            { n: candidate.n, sum: candidate.events, sumSq: candidate.events },
            0.05,
            p,
          );
          p = t.pValue;
          const c = control.events / control.n;
          const k = candidate.events / candidate.n;
          const se = Math.sqrt((c * (1 - c)) / control.n + (k * (1 - k)) / candidate.n);
          if (se > 0 && (c - k - 0.05) / se > zCrit) crossedNaive = true;
        } else {
          control.events += binomial(rng, batch, 0.02);
          candidate.events += binomial(rng, batch, 0.04);
          p = rateIncreaseTest(control, candidate, 0.02, p).pValue;
          const c = control.events / control.n;
          const k = candidate.events / candidate.n;
          const se = Math.sqrt((c * (1 - c)) / control.n + (k * (1 - k)) / candidate.n);
          if (se > 0 && (k - c - 0.02) / se > zCrit) crossedNaive = true;
        }
      }
      if (p <= alpha) msprt++;
      if (crossedNaive) naive++;
    }
    return { msprt: msprt / runs, naive: naive / runs };
  }

  it('score 0.9 → 0.85 with max_drop 0.05 (at the margin), α 0.05: mSPRT 3.8% over 400 looks, a z-test at every look 40%', () => {
    const { msprt, naive } = atMargin('msprt-score-margin', 'score', 0.05);
    console.log(`[rollout] at-margin score, 400 looks: mSPRT ${(msprt * 100).toFixed(1)}%, naive z-test ${(naive * 100).toFixed(1)}%`);
    expect(msprt).toBeLessThanOrEqual(0.05);
    expect(naive).toBeGreaterThan(0.15);
  });

  it('error rate 2% → 4% with max_increase 0.02 (at the margin), α 0.05: mSPRT 1.5% over 400 looks (z-test 32%)', () => {
    const { msprt, naive } = atMargin('msprt-rate-margin', 'rate', 0.05);
    console.log(`[rollout] at-margin error rate, 400 looks: mSPRT ${(msprt * 100).toFixed(1)}%, naive z-test ${(naive * 100).toFixed(1)}%`);
    expect(msprt).toBeLessThanOrEqual(0.05);
  });

  it('cost per call at exactly max_ratio 1.5 (two-point costs, $0.001 or $0.005, candidate × 1.5), α 0.05: mSPRT 2.7% over 400 looks', () => {
    // A call's cost is low or high; the count of high ones is binomial, so a batch's sum and sum of
    // squares follow from one draw.
    const rng = createRng('msprt-cost-margin');
    const arm = (n: number, high: number, lo: number, hi: number) => ({ n, sum: high * hi + (n - high) * lo, sumSq: high * hi * hi + (n - high) * lo * lo });
    let crossed = 0;
    const runs = 1_000;
    for (let r = 0; r < runs; r++) {
      let p = 1;
      let n = 0;
      let highC = 0;
      let highK = 0;
      for (let l = 0; l < 400 && p > 0.05; l++) {
        n += 25;
        highC += binomial(rng, 25, 0.3);
        highK += binomial(rng, 25, 0.3);
        p = meanRatioTest(arm(n, highC, 0.001, 0.005), arm(n, highK, 0.0015, 0.0075), 1.5, p).pValue;
      }
      if (p <= 0.05) crossed++;
    }
    console.log(`[rollout] at-margin cost ratio, 400 looks: mSPRT ${((crossed / runs) * 100).toFixed(1)}%`);
    expect(crossed / runs).toBeLessThanOrEqual(0.05);
  });
});
