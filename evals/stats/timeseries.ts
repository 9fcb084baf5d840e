/**
 * Control charts for daily score rates (issue 10 §5). Each day's mean is standardised
 * against a reference period, z_t = (x̄_t − μ₀) / (σ₀ / √n_t), so days with few and many calls
 * are comparable; EWMA and CUSUM then run on z. μ₀ and σ₀ (per-observation, pooled within and
 * between days) come from the first `reference_days` days.
 */
export interface DailyPoint {
  day: string;
  n: number;
  mean: number;
  /** Per-observation sample sd within the day (0 when unknown). */
  sd: number;
}

export type Alarm = 'low' | 'high' | null;

export interface ChartPoint extends DailyPoint {
  z: number | null;
  /** EWMA of the daily means, in score units (for plotting). */
  ewma: number;
  ewma_z: number | null;
  /** ± control limit for ewma_z at this day. */
  ewma_limit: number | null;
  ewma_alarm: Alarm;
  cusum_low: number | null;
  cusum_high: number | null;
  cusum_alarm: Alarm;
}

export interface ChartOptions {
  /** EWMA weight of the newest day. Default 0.2. */
  lambda?: number;
  /** EWMA limit width in standard deviations. Default 3. */
  L?: number;
  /** CUSUM allowance (in σ of z). Default 0.5. */
  k?: number;
  /** CUSUM decision interval. Default 5. */
  h?: number;
  /** Days that define μ₀ and σ₀. Default: the first half, at least 1, at most 14. */
  reference_days?: number;
}

export interface ChartResult {
  reference: { days: number; mean: number | null; sd: number | null };
  params: Required<Omit<ChartOptions, 'reference_days'>>;
  points: ChartPoint[];
  alarms: Array<{ day: string; chart: 'ewma' | 'cusum'; direction: 'low' | 'high' }>;
}

/** Pooled mean and per-observation sd over several days (within-day plus between-day spread). */
export function pooled(points: readonly DailyPoint[]): { mean: number; sd: number; n: number } | null {
  const n = points.reduce((s, p) => s + p.n, 0);
  if (n === 0) return null;
  const mu = points.reduce((s, p) => s + p.n * p.mean, 0) / n;
  const ss = points.reduce((s, p) => s + Math.max(0, p.n - 1) * p.sd ** 2 + p.n * (p.mean - mu) ** 2, 0);
  return { mean: mu, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n };
}

export function controlChart(points: readonly DailyPoint[], opts: ChartOptions = {}): ChartResult {
  const lambda = opts.lambda ?? 0.2;
  const L = opts.L ?? 3;
  const k = opts.k ?? 0.5;
  const h = opts.h ?? 5;
  const refDays = Math.max(1, Math.min(opts.reference_days ?? Math.min(14, Math.floor(points.length / 2)), points.length));
  const ref = pooled(points.slice(0, refDays));
  const usable = ref !== null && ref.sd > 0;
  const out: ChartPoint[] = [];
  const alarms: ChartResult['alarms'] = [];
  let ewma = ref?.mean ?? points[0]?.mean ?? 0;
  let ez = 0;
  let cLow = 0;
  let cHigh = 0;
  points.forEach((p, t) => {
    ewma = lambda * p.mean + (1 - lambda) * ewma;
    const point: ChartPoint = { ...p, z: null, ewma, ewma_z: null, ewma_limit: null, ewma_alarm: null, cusum_low: null, cusum_high: null, cusum_alarm: null };
    if (usable && p.n > 0) {
      const z = (p.mean - ref.mean) / (ref.sd / Math.sqrt(p.n));
      ez = lambda * z + (1 - lambda) * ez;
      const limit = L * Math.sqrt((lambda / (2 - lambda)) * (1 - (1 - lambda) ** (2 * (t + 1))));
      cLow = Math.max(0, cLow - z - k);
      cHigh = Math.max(0, cHigh + z - k);
      point.z = z;
      point.ewma_z = ez;
      point.ewma_limit = limit;
      point.ewma_alarm = ez < -limit ? 'low' : ez > limit ? 'high' : null;
      point.cusum_low = cLow;
      point.cusum_high = cHigh;
      point.cusum_alarm = cLow > h ? 'low' : cHigh > h ? 'high' : null;
      if (point.ewma_alarm) alarms.push({ day: p.day, chart: 'ewma', direction: point.ewma_alarm });
      if (point.cusum_alarm) alarms.push({ day: p.day, chart: 'cusum', direction: point.cusum_alarm });
    }
    out.push(point);
  });
  return {
    reference: { days: refDays, mean: ref?.mean ?? null, sd: ref?.sd ?? null },
    params: { lambda, L, k, h },
    points: out,
    alarms,
  };
}
