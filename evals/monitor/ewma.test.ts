import { describe, expect, it } from 'vitest';
import { createRng, normal } from '../stats/prng.ts';
import { cusumVerdict, ewmaVerdict, type EwmaParams } from './ewma.ts';

/**
 * The EWMA detector's error rates, by seeded simulation: the numbers the README states. A monitor
 * evaluates the latest watched buckets on every tick; what matters to an operator is how often a
 * healthy metric raises an incident in a day, and how surely a real shift is caught. Bucket
 * values are independent normal draws (a shift is in units of the between-bucket sd).
 */
interface Setup extends EwmaParams {
  reference: number;
  watched: number;
}
const DEFAULTS: Setup = { lambda: 0.2, L: 3.5, reference: 96, watched: 16 };
const LOOSER: Setup = { lambda: 0.2, L: 3, reference: 24, watched: 8 };

/** Share of runs whose watched buckets (all shifted by `shift`) alarm. */
function detection(seed: string, s: Setup, shift: number, runs = 4_000): number {
  const rng = createRng(seed);
  let alarms = 0;
  for (let r = 0; r < runs; r++) {
    const reference = Array.from({ length: s.reference }, () => normal(rng));
    const watched = Array.from({ length: s.watched }, () => normal(rng) + shift);
    if (ewmaVerdict(reference, watched, s, 'high').breached) alarms++;
  }
  return alarms / runs;
}

/** Share of healthy days (96 buckets, evaluated at each) with at least one alarm. */
function healthyDays(seed: string, s: Setup, days = 1_000): number {
  const rng = createRng(seed);
  let withAlarm = 0;
  for (let d = 0; d < days; d++) {
    const series = Array.from({ length: s.reference + s.watched + 96 }, () => normal(rng));
    for (let end = s.reference + s.watched; end <= series.length; end++) {
      if (ewmaVerdict(series.slice(end - s.watched - s.reference, end - s.watched), series.slice(end - s.watched, end), s, 'high').breached) {
        withAlarm++;
        break;
      }
    }
  }
  return withAlarm / days;
}

describe('ewmaVerdict', () => {
  it('needs enough reference buckets; alarms one-sided in the bad direction', () => {
    const p = { lambda: 0.2, L: 3 };
    expect(ewmaVerdict([1, 2, 3], [10], p, 'high').breached).toBeNull();
    const ref = [0.1, 0.12, 0.09, 0.11, 0.1, 0.08, 0.12, 0.1, 0.11, 0.09];
    expect(ewmaVerdict(ref, [0.3, 0.3, 0.3], p, 'high').breached).toBe(true);
    expect(ewmaVerdict(ref, [0.3, 0.3, 0.3], p, 'low').breached).toBe(false);
    expect(ewmaVerdict(ref, [-0.2, -0.2, -0.2], p, 'low').breached).toBe(true);
    // A flat reference (no errors at all) still notices errors appearing.
    expect(ewmaVerdict(Array(10).fill(0), [0.05, 0.05], p, 'high').breached).toBe(true);
  });

  it('defaults (λ 0.2, L 3.5, 96 reference and 16 watched buckets): ≤ 5% of healthy days raise an incident; a 2σ shift is caught ≥ 95%, 1σ about 30%', () => {
    const falseDays = healthyDays('ewma-day-defaults', DEFAULTS);
    const two = detection('ewma-2-defaults', DEFAULTS, 2);
    const one = detection('ewma-1-defaults', DEFAULTS, 1);
    console.log(`[ewma] defaults: healthy days with an incident ${(falseDays * 100).toFixed(1)}%; caught after 16 buckets: 1σ ${(one * 100).toFixed(1)}%, 2σ ${(two * 100).toFixed(1)}%`);
    expect(falseDays).toBeLessThan(0.05);
    expect(two).toBeGreaterThan(0.95);
    expect(one).toBeGreaterThan(0.25);
  });

  it('looser settings (L 3, 24 reference, 8 watched) alarm on about a third of healthy days: the README says so', () => {
    const falseDays = healthyDays('ewma-day-looser', LOOSER);
    console.log(`[ewma] L 3, 24/8 buckets: healthy days with an incident ${(falseDays * 100).toFixed(1)}%`);
    expect(falseDays).toBeGreaterThan(0.2);
    expect(falseDays).toBeLessThan(0.45);
  });

  it('CUSUM defaults (k 0.5, h 7, 96/16 buckets): ≤ 5% of healthy days raise an incident; 1σ caught ≥ 65%, 2σ always', () => {
    const cusum = { k: 0.5, h: 7 };
    const rng = createRng('cusum-day');
    let withAlarm = 0;
    const days = 1_000;
    for (let d = 0; d < days; d++) {
      const series = Array.from({ length: 96 + 16 + 96 }, () => normal(rng));
      for (let end = 96 + 16; end <= series.length; end++) {
        if (cusumVerdict(series.slice(end - 112, end - 16), series.slice(end - 16, end), cusum, 'high').breached) {
          withAlarm++;
          break;
        }
      }
    }
    const caught = (shift: number) => {
      const r = createRng(`cusum-${shift}`);
      let n = 0;
      for (let i = 0; i < 4_000; i++) {
        const reference = Array.from({ length: 96 }, () => normal(r));
        if (cusumVerdict(reference, Array.from({ length: 16 }, () => normal(r) + shift), cusum, 'high').breached) n++;
      }
      return n / 4_000;
    };
    const one = caught(1);
    const two = caught(2);
    console.log(`[cusum] defaults: healthy days with an incident ${((withAlarm / days) * 100).toFixed(1)}%; caught within 16 buckets: 1σ ${(one * 100).toFixed(1)}%, 2σ ${(two * 100).toFixed(1)}%`);
    expect(withAlarm / days).toBeLessThan(0.05);
    expect(one).toBeGreaterThan(0.65);
    expect(two).toBeGreaterThan(0.999);
    // Low side, for scores: a drop is caught, a rise is not an alarm.
    const ref = Array.from({ length: 20 }, (_, i) => 0.9 + (i % 3) * 0.01);
    expect(cusumVerdict(ref, Array(8).fill(0.7), cusum, 'low').breached).toBe(true);
    expect(cusumVerdict(ref, Array(8).fill(1), cusum, 'low').breached).toBe(false);
  });
});
