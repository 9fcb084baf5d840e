/**
 * The soak's leak verdict: does the gateway's RSS keep growing under steady load?
 *
 * RSS under load is a sawtooth (the old generation grows until a full collection, 5–15 MB
 * here) on top of a slow wander, so one reading every 30 s swings ±6 MB with no leak behind
 * it. The rule therefore reads every 0.5-s sample, takes each window's median, leaves out the
 * first fifth of the soak (JIT, pools and heap growing to their working size), and fits the
 * Theil–Sen slope (the median of all pairwise slopes; one odd window cannot move it) through
 * the rest. A slope above LEAK_MB_PER_MIN is a leak.
 *
 * Its error rates, from seeded simulated soaks whose noise matches the measured swing
 * (soak-verdict.test.ts proves them): a flat gateway is called leaking in fewer than
 * FALSE_ALARM_AT_MOST of 10-minute soaks; a 2 MB/min leak is found in more than
 * DETECTS_2MB_PER_MIN_AT_LEAST.
 */

import { median } from './summary.ts';

export interface RssSample {
  /** Seconds since the soak started. */
  atS: number;
  mb: number;
}

export interface RssTrend {
  /** Theil–Sen slope of the steady windows' medians, MB per minute. */
  slopeMbPerMin: number;
  /** Median of the first and of the last steady window. */
  firstMb: number;
  lastMb: number;
  windows: number;
  /** Null when the soak is shorter than MIN_SOAK_S: too short to tell a leak from the sawtooth. */
  growing: boolean | null;
}

export const LEAK_MB_PER_MIN = 1;
/** Shorter soaks (`--soak --quick`) give no verdict on growth. */
export const MIN_SOAK_S = 300;
/** The share of the soak left out at its start. */
export const WARM_UP_SHARE = 0.2;
export const FALSE_ALARM_AT_MOST = 0.07;
export const DETECTS_2MB_PER_MIN_AT_LEAST = 0.9;

/** Median of all pairwise slopes through (x, y) points; 0 with fewer than two x values. */
export function theilSen(points: ReadonlyArray<readonly [number, number]>): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]![0] - points[i]![0];
      if (dx !== 0) slopes.push((points[j]![1] - points[i]![1]) / dx);
    }
  }
  return slopes.length ? median(slopes) : 0;
}

/** Each window's median, at the window's middle, in minutes; windows without samples are left out. */
export function windowMedians(samples: readonly RssSample[], windowS: number, fromS: number, toS: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = fromS; start + windowS <= toS + 1e-9; start += windowS) {
    const inWindow = samples.filter((s) => s.atS >= start && s.atS < start + windowS).map((s) => s.mb);
    if (inWindow.length) out.push([(start + windowS / 2) / 60, median(inWindow)]);
  }
  return out;
}

/** The verdict for a soak of durationS seconds read in windows of windowS; null with fewer than three steady windows. */
export function rssTrend(samples: readonly RssSample[], durationS: number, windowS: number): RssTrend | null {
  const windows = windowMedians(samples, windowS, Math.ceil((durationS * WARM_UP_SHARE) / windowS) * windowS, durationS);
  if (windows.length < 3) return null;
  const slopeMbPerMin = theilSen(windows);
  return { slopeMbPerMin, firstMb: windows[0]![1], lastMb: windows.at(-1)![1], windows: windows.length, growing: durationS < MIN_SOAK_S ? null : slopeMbPerMin > LEAK_MB_PER_MIN };
}

export function describeRule(windowS: number): string {
  return (
    `leak = Theil–Sen slope of ${windowS}-s RSS medians after the first ${WARM_UP_SHARE * 100}% > ${LEAK_MB_PER_MIN} MB/min; ` +
    `simulated 10-min soaks: false alarm < ${Math.round(FALSE_ALARM_AT_MOST * 100)}%, a 2 MB/min leak found > ${Math.round(DETECTS_2MB_PER_MIN_AT_LEAST * 100)}%`
  );
}
