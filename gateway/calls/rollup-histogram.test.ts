import { describe, expect, it } from 'vitest';
import { decodeHistogram, emptyHistogram, histogramQuantile, LATENCY_BUCKETS, LATENCY_EDGES_MS, LATENCY_REL_ERROR, valueAtRank } from './rollup-histogram.ts';

/** What Postgres's width_bucket gives for these edges (index of the first edge above v). */
const bucket = (v: number) => LATENCY_EDGES_MS.filter((e) => e <= v).length;

function histOf(values: number[]): number[] {
  const h = emptyHistogram();
  for (const v of values) h[bucket(v)]! += 1;
  return h;
}

describe('latency histogram', () => {
  it('decodes the packed numeric: twelve digits per bucket, lowest bucket last', () => {
    expect(decodeHistogram('0')).toEqual(emptyHistogram());
    const h = decodeHistogram(`7${'0'.repeat(11)}3${'000000000042'}.0000`);
    expect(h.slice(0, 3)).toEqual([42, 3, 7]);
    expect(h).toHaveLength(LATENCY_BUCKETS);
    expect(decodeHistogram(`1${'0'.repeat(12 * 89)}`)[89]).toBe(1);
  });

  it('reads percentiles within the stated bound of the exact ones, clamped to min and max', () => {
    let seed = 3;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const spread of [0.2, 1, 3]) {
      const values = Array.from({ length: 5000 }, () => 40 * Math.exp(rnd() * spread * 4)).sort((a, b) => a - b);
      const h = histOf(values);
      for (const p of [0.01, 0.5, 0.9, 0.95, 0.99]) {
        const exact = values[Math.ceil(p * values.length) - 1]!;
        const est = histogramQuantile(h, p, values[0]!, values.at(-1)!)!;
        expect(Math.abs(est / exact - 1), `spread ${spread} p${p}`).toBeLessThanOrEqual(LATENCY_REL_ERROR);
      }
    }
    expect(histogramQuantile(histOf([250]), 0.5, 250, 250)).toBe(250);
    expect(histogramQuantile(emptyHistogram(), 0.5, null, null)).toBeNull();
    // Under the first edge and past the last one, min and max bound the answer.
    expect(valueAtRank(histOf([0.1]), 0.5, 0.1, 0.1)).toBe(0.1);
    expect(valueAtRank(histOf([5_000_000]), 0.5, 5_000_000, 5_000_000)).toBe(5_000_000);
  });
});
