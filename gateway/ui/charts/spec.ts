/**
 * The chart data both the dashboard and the eval report hand to the client drawer
 * (gateway/ui/assets/app.js): shaped on the server, serialised into a non-executed
 * `<script type="application/json">` block, drawn with uPlot in the browser.
 */
export interface ChartSpec {
  /** x values: unix seconds on a time axis (the default), or plain numbers when `xKind` is `value`. */
  x: number[];
  series: Array<{ label: string; values: Array<number | null>; dash?: number[] }>;
  /** The y axis' label; `USD` ticks get a dollar sign. */
  unit: string;
  /** The x range shown, so one point does not stretch the axis over years. */
  xRange?: [number, number];
  /** A count: integer ticks only, and the axis starts at zero. */
  integer?: boolean;
  /** `time` (default): x is unix seconds, ticks show dates and times (UTC). */
  xKind?: 'time' | 'value';
  /** The x axis' label, for a `value` axis. */
  xLabel?: string;
}

export interface PointSeries {
  label: string;
  points: ReadonlyArray<{ x: number; y: number | null }>;
}

/**
 * Series measured at different x values (e.g. targets of runs that did not all run every time)
 * on one shared, sorted x: a series without a point at some x gets null there (drawn as a gap
 * bridged by its line, with markers only where it has data).
 */
export function alignSeries(series: readonly PointSeries[]): Pick<ChartSpec, 'x' | 'series'> {
  const x = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const at = new Map(x.map((v, i) => [v, i]));
  return {
    x,
    series: series.map((s) => {
      const values = new Array<number | null>(x.length).fill(null);
      for (const p of s.points) values[at.get(p.x)!] = p.y;
      return { label: s.label, values };
    }),
  };
}

/** Counts of `values` in `bins` equal bins over [lo, hi] (the last bin includes hi); x is each bin's centre. */
export function histogram(
  groups: ReadonlyArray<{ label: string; values: readonly number[] }>,
  opts: { lo?: number; hi?: number; bins?: number } = {},
): Pick<ChartSpec, 'x' | 'series'> {
  const lo = opts.lo ?? 0;
  const hi = opts.hi ?? 1;
  const bins = opts.bins ?? 10;
  const width = (hi - lo) / bins;
  const x = Array.from({ length: bins }, (_, i) => round(lo + (i + 0.5) * width));
  return {
    x,
    series: groups.map((g) => {
      const values = new Array<number>(bins).fill(0);
      for (const v of g.values) values[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]! += 1;
      return { label: g.label, values };
    }),
  };
}

const round = (v: number): number => Math.round(v * 1e9) / 1e9;

/** JSON for a `<script type="application/json">` element: `<` is escaped so no value can close it. */
export function chartJson(spec: ChartSpec): string {
  return JSON.stringify(spec).replace(/</g, '\\u003c');
}
