import { describe, expect, it } from 'vitest';
import { DETECTS_2MB_PER_MIN_AT_LEAST, FALSE_ALARM_AT_MOST, rssTrend, theilSen, type RssSample } from './soak-verdict.ts';
import { seededRandom } from '../test/helpers/seeded-random.ts';

/**
 * One simulated soak's RSS, a sample every 0.5 s. The noise is what a flat gateway shows under
 * load: the old generation's sawtooth (grows, then drops at a full collection; 8–18 MB per
 * cycle, each cycle 10–90 s), a slow wander (stationary sd 2–4 MB, correlation time 30–180 s)
 * and 0.5 MB of jitter. Readings of it every 30 s have a median sd of 4.6 MB; those of the
 * 2026-12-08 02:58 soak, the one run whose readings were all kept, had 4.4 (±6 MB). A leak adds leakMbPerMin on top.
 */
function simulatedSoak(random: () => number, durationS: number, leakMbPerMin: number): RssSample[] {
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * random();
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const amplitude = uniform(8, 18);
  const tau = uniform(30, 180);
  const sd = uniform(2, 4);
  const phi = Math.exp(-0.5 / tau);
  let wander = sd * gaussian();
  let cycleLeft = uniform(0, 90);
  let cycleLength = cycleLeft;
  const samples: RssSample[] = [];
  for (let atS = 0; atS < durationS; atS += 0.5) {
    cycleLeft -= 0.5;
    if (cycleLeft <= 0) cycleLength = cycleLeft = uniform(10, 90);
    wander = phi * wander + sd * Math.sqrt(1 - phi * phi) * gaussian();
    const sawtooth = amplitude * (1 - cycleLeft / cycleLength);
    samples.push({ atS, mb: 160 + sawtooth + wander + 0.5 * gaussian() + (leakMbPerMin * atS) / 60 });
  }
  return samples;
}

function growingShare(seed: number, soaks: number, leakMbPerMin: number): number {
  const random = seededRandom(seed);
  let growing = 0;
  for (let i = 0; i < soaks; i++) if (rssTrend(simulatedSoak(random, 600, leakMbPerMin), 600, 30)!.growing) growing++;
  return growing / soaks;
}

describe('soak verdict', () => {
  it('Theil–Sen ignores one wild point that moves a least-squares line', () => {
    const points = [0, 1, 2, 3, 4, 5, 6, 7].map((x) => [x, 10 + 0.5 * x] as const);
    expect(theilSen(points)).toBeCloseTo(0.5, 9);
    expect(theilSen([...points.slice(0, 7), [7, 60]])).toBeCloseTo(0.5, 9);
  });

  it('leaves out the warm-up and reads windows by their median', () => {
    // A warm-up climb, then flat with one spike per window: flat.
    const samples: RssSample[] = [];
    for (let atS = 0; atS < 600; atS += 0.5) samples.push({ atS, mb: atS < 120 ? 100 + atS / 2 : atS % 30 === 0 ? 400 : 160 });
    const trend = rssTrend(samples, 600, 30)!;
    expect(trend).toMatchObject({ slopeMbPerMin: 0, firstMb: 160, lastMb: 160, windows: 16, growing: false });
    // The same climb kept up all the way: growing.
    const leak = samples.map((s) => ({ atS: s.atS, mb: 100 + s.atS / 2 }));
    expect(rssTrend(leak, 600, 30)).toMatchObject({ slopeMbPerMin: 30, growing: true });
    // A one-minute soak measures the slope but does not judge it.
    expect(rssTrend(leak.filter((s) => s.atS < 60), 60, 10)).toMatchObject({ slopeMbPerMin: expect.closeTo(30, 9), growing: null });
  });

  it(`simulated flat soaks: fewer than ${Math.round(FALSE_ALARM_AT_MOST * 100)}% are called leaking; 2 MB/min leaks: more than ${Math.round(DETECTS_2MB_PER_MIN_AT_LEAST * 100)}% found`, () => {
    const falseAlarms = growingShare(20261208, 2_000, 0);
    const found = growingShare(8122026, 1_000, 2);
    expect(falseAlarms).toBeLessThan(FALSE_ALARM_AT_MOST);
    expect(found).toBeGreaterThan(DETECTS_2MB_PER_MIN_AT_LEAST);
    // Half the threshold is called a leak far less often than a leak of twice it is found.
    expect(growingShare(7, 500, 0.5)).toBeLessThan(0.3);
  });
});
