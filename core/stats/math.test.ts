import { describe, expect, it } from 'vitest';
import {
  incompleteBeta,
  normalCdf,
  normalQuantile,
  quantileRanks,
  studentTCdf,
  studentTQuantile,
  twoProportionZ,
  welch,
  wilson,
} from './math.ts';

/** Reference values from scipy 1.17 (scipy.stats.norm / t / beta). */
const close = (actual: number, expected: number, rel = 1e-9) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1e-300, Math.abs(expected)));

describe('distributions', () => {
  it('normal CDF, both tails', () => {
    const cases: [number, number][] = [
      [-8, 6.22096057427174e-16],
      [-3, 0.0013498980316300933],
      [-1.5, 0.06680720126885807],
      [0, 0.5],
      [0.3, 0.6179114221889526],
      [2.5, 0.9937903346742238],
    ];
    for (const [x, p] of cases) close(normalCdf(x), p);
  });

  it('normal quantile', () => {
    const cases: [number, number][] = [
      [1e-10, -6.361340902404056],
      [0.001, -3.090232306167813],
      [0.025, -1.9599639845400545],
      [0.3, -0.5244005127080409],
      [0.975, 1.959963984540054],
      [0.999999, 4.753424308817087],
    ];
    for (const [p, x] of cases) close(normalQuantile(p), x);
  });

  it('Student t CDF and quantile, fractional df included', () => {
    const cdf: [number, number, number][] = [
      [-2.5, 3, 0.04385332350403278],
      [1.2, 7.5, 0.866665538603389],
      [0.5, 30, 0.6896384975574363],
      [-4, 1, 0.07797913037736932],
      [3, 200, 0.9984784764430471],
    ];
    for (const [t, df, p] of cdf) close(studentTCdf(t, df), p);
    const q: [number, number, number][] = [
      [0.975, 1, 12.706204736174694],
      [0.975, 9, 2.262157162798205],
      [0.995, 4.3, 4.3919667076840545],
      [0.9, 100, 1.290074761346516],
    ];
    for (const [p, df, t] of q) close(studentTQuantile(p, df), t, 1e-9);
  });

  it('regularized incomplete beta', () => {
    close(incompleteBeta(0.3, 2, 5), 0.5798250000000003);
    close(incompleteBeta(0.9, 0.5, 0.5), 0.7951672353008665);
    close(incompleteBeta(0.01, 10, 3), 6.480550000000001e-19, 1e-8);
    close(incompleteBeta(0.7, 50, 20), 0.3825092483812333);
  });
});

describe('intervals and tests', () => {
  it('Wilson interval (hand formula), including 0 successes', () => {
    const [lo, hi] = wilson(3, 13, 0.95)!;
    close(lo, 0.08179528718498566);
    close(hi, 0.502563759467275);
    const [lo0, hi0] = wilson(0, 5, 0.95)!;
    expect(lo0).toBe(0);
    close(hi0, 0.43448246478317476);
    expect(wilson(0, 0, 0.95)).toBeNull();
  });

  it('two-proportion z-test and Welch t-test (scipy ttest_ind equal_var=False)', () => {
    const z = twoProportionZ(1, 9, 3, 13)!;
    close(z.statistic, -0.7154514974505111);
    close(z.p_value, 0.47433010112387386);
    expect(twoProportionZ(0, 5, 0, 7)).toEqual({ diff: 0, statistic: 0, p_value: 1 });

    const stats = (xs: number[]) => {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
      return { n: xs.length, mean, sd };
    };
    const w = welch(stats([90, 95, 100, 110, 115, 120, 180, 500]), stats([100, 120, 130, 150, 200, 210, 250, 300, 400, 1000]))!;
    close(w.diff, -122.25);
    close(w.statistic, -1.2513476635337595);
    close(w.df!, 14.038936871062631);
    close(w.p_value, 0.2312584517723897, 1e-8);
    expect(welch({ n: 1, mean: 1, sd: 0 }, { n: 5, mean: 2, sd: 1 })).toBeNull();
  });

  it('order-statistic ranks for quantile intervals', () => {
    expect(quantileRanks(10, 0.5, 0.95)).toEqual([1, 10]);
    expect(quantileRanks(10, 0.95, 0.95)).toEqual([8, 10]);
    expect(quantileRanks(1000, 0.5, 0.95)).toEqual([469, 532]);
    expect(quantileRanks(0, 0.5, 0.95)).toBeNull();
  });
});
