import { describe, expect, it } from 'vitest';
import { compareTargets, type GateSpec, type ScoreTable } from './compare.ts';
import { createRng, normal, type Rng } from './prng.ts';

const clamp = (x: number) => Math.min(1, Math.max(0, x));

/** Two targets on the same items: per-item difficulty shared, candidate shifted by `drop`. */
function continuous(rng: Rng, items: number, drop: number): ScoreTable {
  const base = new Map<string, number | null>();
  const cand = new Map<string, number | null>();
  for (let i = 0; i < items; i++) {
    const difficulty = 0.65 + 0.15 * normal(rng);
    base.set(String(i), clamp(difficulty + 0.15 * normal(rng)));
    cand.set(String(i), clamp(difficulty - drop + 0.15 * normal(rng)));
  }
  return new Map([
    ['v1', new Map([['quality', base]])],
    ['v2', new Map([['quality', cand]])],
  ]);
}

/** Pass/fail scores: each item passes with its own probability; the candidate's is `drop` lower. */
function binary(rng: Rng, items: number, drop: number): ScoreTable {
  const base = new Map<string, number | null>();
  const cand = new Map<string, number | null>();
  for (let i = 0; i < items; i++) {
    const p = 0.35 + 0.6 * rng();
    base.set(String(i), rng() < p ? 1 : 0);
    cand.set(String(i), rng() < Math.max(0, p - drop) ? 1 : 0);
  }
  return new Map([
    ['v1', new Map([['pass', base]])],
    ['v2', new Map([['pass', cand]])],
  ]);
}

function gateFailRate(make: (rng: Rng) => ScoreTable, gate: GateSpec, sims: number, seed: string): number {
  const rng = createRng(seed);
  let fails = 0;
  for (let s = 0; s < sims; s++) {
    const summary = compareTargets(make(rng), { baseline: 'v1', gate, resamples: 400, seed: `${seed}:${s}` });
    if (summary.regression) fails++;
  }
  if (process.env.SLUICE_SIM_REPORT) console.log(seed, fails / sims);
  return fails / sims;
}

/**
 * Seeded simulations of the regression gate (issue 10, "done when"): with no real change the
 * gate fails at most at its nominal level (α = 0.05, tolerance to 6%) even with max_drop = 0,
 * and a planted drop of 15 points on 200 items is caught at least 90% of the time.
 */
describe('regression gate, seeded simulations', () => {
  const SIMS = 500;
  it('false-positive rate ≤ 6% at α = 0.05 on null changes (continuous, sign-flip)', () => {
    const rate = gateFailRate((r) => continuous(r, 200, 0), { scorer: 'quality', max_drop: 0, confidence: 0.95 }, SIMS, 'null-c');
    expect(rate).toBeLessThanOrEqual(0.06);
  });

  it('false-positive rate ≤ 6% at α = 0.05 on null changes (pass/fail, McNemar)', () => {
    const rate = gateFailRate((r) => binary(r, 200, 0), { scorer: 'pass', max_drop: 0, confidence: 0.95 }, SIMS, 'null-b');
    expect(rate).toBeLessThanOrEqual(0.06);
  });

  it('catches a 15-point drop on 200 items ≥ 90% of the time', () => {
    const gate = (scorer: string): GateSpec => ({ scorer, max_drop: 0.02, confidence: 0.95 });
    expect(gateFailRate((r) => continuous(r, 200, 0.15), gate('quality'), SIMS, 'drop-c')).toBeGreaterThanOrEqual(0.9);
    expect(gateFailRate((r) => binary(r, 200, 0.15), gate('pass'), SIMS, 'drop-b')).toBeGreaterThanOrEqual(0.9);
  });
});

describe('compareTargets', () => {
  it('summarises per target, pairs by item id, and applies BH across scorers', () => {
    const table: ScoreTable = new Map([
      ['a', new Map([['x', new Map<string, number | null>([['1', 1], ['2', 0.5], ['3', null]])], ['y', new Map<string, number | null>([['1', 1], ['2', 1], ['3', 1]])]])],
      ['b', new Map([['x', new Map<string, number | null>([['2', 0.25], ['1', 0.5], ['3', 0.9]])], ['y', new Map<string, number | null>([['1', 1], ['2', 0], ['3', 1]])]])],
    ]);
    const s = compareTargets(table, { baseline: 'a', gate: null, seed: 1, resamples: 200 });
    expect(s.targets.a!.x).toMatchObject({ n: 2, nulls: 1, mean: 0.75 });
    const x = s.comparisons.find((c) => c.scorer === 'x')!;
    expect(x).toMatchObject({ target: 'b', baseline: 'a', pairs: 2, delta: -0.375, test: 'sign_flip' });
    const y = s.comparisons.find((c) => c.scorer === 'y')!;
    expect(y).toMatchObject({ pairs: 3, test: 'mcnemar', mcnemar: { b: 1, c: 0, method: 'exact' } });
    expect(y.p_adjusted).toBeGreaterThanOrEqual(y.p!);
    expect(s.gate).toBeNull();
    expect(s.regression).toBe(false);
  });

  it('keeps every target interval of 0–1 scores inside [0, 1] (the t interval said 1.04 for these)', () => {
    const col = (xs: number[]) => new Map<string, number | null>(xs.map((v, i) => [String(i), v]));
    const table: ScoreTable = new Map([
      ['a', new Map([['near_one', col([0.96, 1, 0.9, 1])], ['pass', col([1, 1, 1, 1, 0])], ['near_zero', col([0.1, 0, 0.05, 0.2, 0])]])],
    ]);
    const s = compareTargets(table, { baseline: null, gate: null, seed: 1, resamples: 50 });
    for (const [scorer, summary] of Object.entries(s.targets.a!)) {
      expect(summary.ci, scorer).not.toBeNull();
      expect(summary.ci![0], scorer).toBeGreaterThanOrEqual(0);
      expect(summary.ci![1], scorer).toBeLessThanOrEqual(1);
    }
    expect(s.targets.a!.near_one!.ci![1]).toBeCloseTo(0.9995957286074713, 9); // scipy, Korn–Graubard
    expect(s.method.mean_ci).toMatch(/Clopper–Pearson/);
  });

  it('skips the gate without a baseline', () => {
    const table: ScoreTable = new Map([['only', new Map([['x', new Map<string, number | null>([['1', 1]])]])]]);
    const s = compareTargets(table, { baseline: null, gate: { scorer: 'x', max_drop: 0, confidence: 0.95 } });
    expect(s.gate).toMatchObject({ verdict: 'skipped' });
    expect(s.regression).toBe(false);
  });
});
