import { describe, expect, it } from 'vitest';
import { clopperPearson, kornGraubard, scoreInterval, scoreMeanInterval, summarizeScores } from './bounded.ts';
import { meanInterval, wilson, type Interval } from './math.ts';
import { seededRandom } from '../../test/helpers/seeded-random.ts';

// Reference values from scipy.stats 1.17 (beta.ppf, t.ppf, norm.ppf), computed independently.
const near = (actual: Interval | null, expected: [number, number], digits = 9): void => {
  expect(actual).not.toBeNull();
  expect(actual![0]).toBeCloseTo(expected[0], digits);
  expect(actual![1]).toBeCloseTo(expected[1], digits);
};

/** Binomial pmf by logs (n ≤ a few hundred here). */
function binomPmf(x: number, n: number, p: number): number {
  let logC = 0;
  for (let i = 1; i <= x; i++) logC += Math.log(n - x + i) - Math.log(i);
  return Math.exp(logC + x * Math.log(p) + (n - x) * Math.log1p(-p));
}

/** Exact coverage of an interval for a binomial proportion: the sum of P(x) over x whose interval holds p. */
function exactCoverage(n: number, p: number, interval: (x: number, n: number) => Interval | null): number {
  let covered = 0;
  for (let x = 0; x <= n; x++) {
    const ci = interval(x, n)!;
    if (ci[0] <= p && p <= ci[1]) covered += binomPmf(x, n, p);
  }
  return covered;
}

describe('clopperPearson', () => {
  it('matches scipy, reaching exactly 0 and 1 at the edges', () => {
    near(clopperPearson(0, 10, 0.95), [0, 0.3084971078187607]);
    near(clopperPearson(10, 10, 0.95), [0.6915028921812392, 1]);
    near(clopperPearson(3, 13, 0.95), [0.05038107349115155, 0.5381315392340409]);
    near(clopperPearson(1, 50, 0.95), [0.0005062279830408294, 0.1064695457114999]);
    near(clopperPearson(7, 20, 0.95), [0.1539092047845412, 0.5921885345328282]);
    expect(clopperPearson(0, 0, 0.95)).toBeNull();
  });

  it('never covers less than nominal where Wilson does (exact coverage, not simulated)', () => {
    // The cases the file header cites: few items, a rate near 0.
    const cp = (x: number, n: number) => clopperPearson(x, n, 0.95);
    const wi = (x: number, n: number) => wilson(x, n, 0.95);
    expect(exactCoverage(50, 0.02, cp)).toBeCloseTo(0.9822419193020288, 9);
    expect(exactCoverage(50, 0.02, wi)).toBeCloseTo(0.9215722516490313, 9);
    expect(exactCoverage(5, 0.035, wi)).toBeCloseTo(0.836828700603125, 9);
    for (const n of [5, 10, 20, 50]) {
      for (let p = 0.01; p < 1; p += 0.049) expect(exactCoverage(n, p, cp), `n=${n} p=${p.toFixed(3)}`).toBeGreaterThanOrEqual(0.95 - 1e-9);
    }
  });
});

describe('kornGraubard and scoreMeanInterval', () => {
  it('matches scipy and stays inside [0, 1] where the t interval does not', () => {
    near(kornGraubard(0.8, summarizeScores([0.8, 0.9, 1.0, 0.7, 0.6])!.sd, 5, 0.95), [0.5291390196809684, 0.9537483955171377]);
    near(scoreInterval([0.96, 1, 0.9, 1.0], 0.95), [0.7929951583036319, 0.9995957286074713]);
    near(scoreInterval([0.1, 0.0, 0.05, 0.2, 0.0], 0.95), [0.005951047695378786, 0.2564361114100305]);
    // The Student t interval of the same scores leaves [0, 1] on both sides.
    const high = summarizeScores([0.96, 1, 0.9, 1.0])!;
    expect(meanInterval(high.mean, high.sd, high.n, 0.95)![1]).toBeGreaterThan(1);
    const low = summarizeScores([0.1, 0.0, 0.05, 0.2, 0.0])!;
    expect(meanInterval(low.mean, low.sd, low.n, 0.95)![0]).toBeLessThan(0);
  });

  it('chooses the interval by the values: pass/fail, bounded, unbounded', () => {
    expect(scoreMeanInterval(summarizeScores([1, 0, 1, 1])!, 0.95).method).toBe('clopper_pearson');
    expect(scoreMeanInterval(summarizeScores([1, 0.5, 1, 1])!, 0.95).method).toBe('korn_graubard');
    expect(scoreMeanInterval(summarizeScores([3, 0.5, 1, 1])!, 0.95).method).toBe('student_t');
    near(scoreInterval([1, 0, 1], 0.95), clopperPearson(2, 3, 0.95) as [number, number], 12);
    // All equal inside (0, 1): no spread observed, so the widest a [0, 1] score allows, not a point.
    const flat = scoreInterval([0.5, 0.5, 0.5, 0.5], 0.95)!;
    expect(flat[1] - flat[0]).toBeGreaterThan(0.5);
    expect(scoreInterval([1, 1, 1], 0.95)![1]).toBe(1);
    expect(scoreInterval([0, 0, 0], 0.95)![0]).toBe(0);
    expect(scoreInterval([], 0.95)).toBeNull();
  });

  it('every interval of [0, 1] scores is inside [0, 1] (seeded samples, all sizes and skews)', () => {
    const rng = seededRandom(14);
    for (let i = 0; i < 2000; i++) {
      const n = 1 + Math.floor(rng() * 30);
      const k = 0.2 + rng() * 10;
      const xs = Array.from({ length: n }, () => (rng() < 0.5 ? rng() ** k : 1 - rng() ** k));
      const ci = scoreInterval(xs, 0.95);
      if (n < 2 && !xs.every((x) => x === 0 || x === 1)) continue;
      expect(ci, `n=${n}`).not.toBeNull();
      expect(ci![0]).toBeGreaterThanOrEqual(0);
      expect(ci![1]).toBeLessThanOrEqual(1);
    }
  });

  it('covers skewed [0, 1] scores near an edge at least as well as the t interval (seeded simulation)', () => {
    // Scores 1 − u^8 (mean 8/9, piled up against 1) and u^3 (mean 1/4), ten per sample.
    const cases = [
      { mean: 8 / 9, draw: (r: () => number) => 1 - r() ** 8 },
      { mean: 1 / 4, draw: (r: () => number) => r() ** 3 },
    ];
    for (const { mean, draw } of cases) {
      const rng = seededRandom(2026);
      let kg = 0;
      let t = 0;
      const reps = 4000;
      for (let i = 0; i < reps; i++) {
        const s = summarizeScores(Array.from({ length: 10 }, () => draw(rng)))!;
        const a = scoreMeanInterval(s, 0.95).ci!;
        const b = meanInterval(s.mean, s.sd, s.n, 0.95)!;
        if (a[0] <= mean && mean <= a[1]) kg++;
        if (b[0] <= mean && mean <= b[1]) t++;
      }
      // Standard error of a coverage estimate over 4000 reps is ~0.0035.
      console.info(`[stats-bounded] coverage mean ${mean.toFixed(3)}: korn-graubard ${kg / reps}, t ${t / reps}`);
      expect(kg / reps, `mean ${mean}`).toBeGreaterThanOrEqual(t / reps);
      expect(kg / reps, `mean ${mean}`).toBeGreaterThan(0.85); // neither reaches 95% this skewed at n = 10 (0.878 against t 0.807 at 8/9)
    }
  });
});
