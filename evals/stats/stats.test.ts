import { describe, expect, it } from 'vitest';
import { benjaminiHochberg } from './bh.ts';
import { pairedBootstrapCi } from './bootstrap.ts';
import { binCounts, kolmogorovQ, ksStatistic, ksTest, psi, psiFromCounts, psiLevel, quantileEdges } from './drift.ts';
import { binomialUpperTail, mcnemarLess } from './mcnemar.ts';
import { signFlipLess } from './permutation.ts';
import { createRng } from './prng.ts';
import { controlChart, type DailyPoint } from './timeseries.ts';

describe('seeded PRNG', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    const a = createRng('x');
    const b = createRng('x');
    const c = createRng('y');
    const xs = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(xs);
    expect(Array.from({ length: 5 }, c)).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('McNemar', () => {
  it('uses the exact binomial tail for few discordant pairs (hand-computed)', () => {
    // b = 8 (baseline pass, candidate fail), c = 2: P(X ≥ 8 | n = 10, ½) = (45 + 10 + 1) / 1024.
    const base = [...Array(8).fill(1), 0, 0, 1, 1, 0];
    const cand = [...Array(8).fill(0), 1, 1, 1, 1, 0];
    const r = mcnemarLess(base, cand);
    expect(r).toMatchObject({ b: 8, c: 2, method: 'exact' });
    expect(r.p).toBeCloseTo(56 / 1024, 12);
    expect(binomialUpperTail(0, 5)).toBe(1);
    expect(binomialUpperTail(6, 5)).toBe(0);
  });

  it('switches to the continuity-corrected normal for many discordant pairs', () => {
    const base = [...Array(40).fill(1), ...Array(20).fill(0)];
    const cand = [...Array(40).fill(0), ...Array(20).fill(1)];
    const r = mcnemarLess(base, cand);
    expect(r.method).toBe('chi2-cc');
    // z = (40 − 20 − 1) / √60 = 2.4529 → one-sided p ≈ 0.00709
    expect(r.p).toBeCloseTo(0.00709, 4);
  });
});

describe('Benjamini–Hochberg', () => {
  it('matches hand-computed q-values, in input order, and keeps NaN', () => {
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.005, Number.NaN]);
    expect(q.slice(0, 4).map((x) => Number(x.toFixed(10)))).toEqual([0.02, 0.04, 0.04, 0.02]);
    expect(q[4]).toBeNaN();
  });
});

describe('resampling tests', () => {
  it('bootstrap interval covers the mean difference and is reproducible', () => {
    const rng = createRng(1);
    const diffs = Array.from({ length: 100 }, () => rng() - 0.6);
    const ci = pairedBootstrapCi(diffs, { confidence: 0.95, resamples: 1000, rng: createRng('s') })!;
    const ci2 = pairedBootstrapCi(diffs, { confidence: 0.95, resamples: 1000, rng: createRng('s') })!;
    expect(ci2).toEqual(ci);
    expect(ci[0]).toBeLessThan(-0.1);
    expect(ci[1]).toBeGreaterThan(-0.2);
  });

  it('sign-flip: all-negative differences give the smallest possible p; all zero gives 1', () => {
    const p = signFlipLess([-0.1, -0.2, -0.3, -0.1, -0.2, -0.4, -0.3, -0.2, -0.1, -0.5], { resamples: 999, rng: createRng(2) });
    // Exact value is 2^-10; with B = 999 the Monte Carlo p is (1 + #extreme)/(1000).
    expect(p).toBeLessThan(0.01);
    expect(signFlipLess([0, 0, 0], { resamples: 10, rng: createRng(2) })).toBe(1);
  });
});

describe('drift: PSI and KS against hand-computed values', () => {
  it('PSI from bin counts', () => {
    // (0.25 − 0.5)·ln(0.5) + (0.75 − 0.5)·ln(1.5)
    expect(psiFromCounts([50, 50], [25, 75])).toBeCloseTo(0.2746530722, 9);
    expect(psiFromCounts([10, 20, 30], [10, 20, 30])).toBe(0);
  });

  it('PSI over reference-quantile bins', () => {
    const ref = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantileEdges(ref, 2)).toEqual([5]);
    const cur = [1, 2, 3, 8, 9, 10, 10, 10, 10, 10];
    expect(binCounts(cur, [5])).toEqual([3, 7]);
    // (0.3 − 0.5)·ln(0.6) + (0.7 − 0.5)·ln(1.4)
    expect(psi(ref, cur, 2)).toBeCloseTo(0.1694595721, 9);
    expect(psiLevel(0.05)).toBe('stable');
    expect(psiLevel(0.1694)).toBe('moderate');
    expect(psiLevel(0.2746)).toBe('significant');
  });

  it('PSI bins collapse to one per value for 0/1 scores', () => {
    expect(quantileEdges([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])).toEqual([0, 1]);
    expect(psi([0, 1, 1, 1], [0, 1, 1, 1])).toBe(0);
  });

  it('KS statistic and p-value (scipy ks_2samp D; Q(λ) with Stephens’ correction)', () => {
    expect(ksStatistic([1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8])).toBeCloseTo(0.5, 12);
    const r = ksTest([1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8])!;
    // λ = (√(30/11) + 0.12 + 0.11/√(30/11))·0.5 = 0.919027; scipy.special.kolmogorov(λ) = 0.367001
    expect(r.p).toBeCloseTo(0.3670013851, 6);
    const r2 = ksTest([0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.55, 0.6], [0.5, 0.7, 0.65, 0.95, 0.3, 0.85])!;
    expect(r2.d).toBeCloseTo(0.4166666667, 9);
    expect(r2.p).toBeCloseTo(0.4710039298, 6);
    expect(kolmogorovQ(0)).toBe(1);
  });
});

describe('control charts', () => {
  const day = (i: number) => `2026-01-${String(i + 1).padStart(2, '0')}`;
  it('stay quiet on a stable series and alarm low after a drop', () => {
    const rng = createRng(5);
    const stable: DailyPoint[] = Array.from({ length: 20 }, (_, i) => ({ day: day(i), n: 200, mean: 0.8 + (rng() - 0.5) * 0.02, sd: 0.2 }));
    expect(controlChart(stable).alarms).toEqual([]);
    const dropped = stable.map((p, i) => (i >= 14 ? { ...p, mean: p.mean - 0.06 } : p));
    const chart = controlChart(dropped, { reference_days: 10 });
    expect(chart.alarms.length).toBeGreaterThan(0);
    expect(chart.alarms.every((a) => a.direction === 'low')).toBe(true);
    expect(chart.alarms[0]!.day >= day(14)).toBe(true);
  });
});

describe('AUROC', () => {
  it('is the Mann–Whitney probability with ties counted half', async () => {
    const { auroc, pairedWinRate } = await import('./auroc.ts');
    expect(auroc([3, 4], [1, 2])).toBe(1);
    expect(auroc([1, 2], [3, 4])).toBe(0);
    expect(auroc([1, 2], [1, 2])).toBe(0.5);
    expect(auroc([2, 3], [1, 3])).toBe(0.625);
    expect(pairedWinRate([[1, 0], [0, 1], [1, 1]])).toBe(0.5);
  });
});
