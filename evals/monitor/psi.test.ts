import { describe, expect, it } from 'vitest';
import { psi } from '../stats/drift.ts';
import { createRng, normal } from '../stats/prng.ts';

/**
 * Why a psi monitor needs PSI_MIN_SAMPLES (200) calls per window: PSI over 10 quantile bins is
 * biased upwards on small samples, so an unchanged distribution crosses the usual 0.25 often.
 * Seeded simulation, lognormal values (latency-like), 2,000 reference calls.
 */
function rates(n: number, shift: number, runs = 1_000): number {
  const rng = createRng(`psi-${n}-${shift}`);
  let over = 0;
  for (let r = 0; r < runs; r++) {
    const reference = Array.from({ length: 2_000 }, () => Math.exp(normal(rng)));
    const current = Array.from({ length: n }, () => Math.exp(normal(rng) + shift));
    if ((psi(reference, current) ?? 0) > 0.25) over++;
  }
  return over / runs;
}

describe('PSI > 0.25 on samples of the window size', () => {
  it('an unchanged distribution: about a third of evaluations at 50 calls, none at 200', () => {
    const at50 = rates(50, 0);
    const at200 = rates(200, 0);
    console.log(`[psi] unchanged: over 0.25 at n=50 ${(at50 * 100).toFixed(1)}%, n=200 ${(at200 * 100).toFixed(1)}%`);
    expect(at50).toBeGreaterThan(0.2);
    expect(at200).toBeLessThan(0.01);
  });

  it('a shift of 0.5 sd (log scale) at 200 calls is seen about 70% of the time, a full sd always', () => {
    const half = rates(200, 0.5);
    const full = rates(200, 1);
    console.log(`[psi] n=200: 0.5 sd shift ${(half * 100).toFixed(1)}%, 1 sd ${(full * 100).toFixed(1)}%`);
    expect(half).toBeGreaterThan(0.6);
    expect(full).toBeGreaterThan(0.99);
  });
});
