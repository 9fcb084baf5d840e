import { sortNumbers } from './describe.ts';

/**
 * Distribution drift of a metric between a reference window and a current one (issue 10 §5):
 * the Population Stability Index over reference-quantile bins and the two-sample
 * Kolmogorov–Smirnov test.
 */
export type PsiLevel = 'stable' | 'moderate' | 'significant';

/** Conventional PSI reading: < 0.1 stable, 0.1–0.25 moderate shift, ≥ 0.25 significant. */
export const PSI_THRESHOLDS = { moderate: 0.1, significant: 0.25 } as const;

/** Proportion used for an empty bin, so the logarithm stays finite. */
export const PSI_EPSILON = 1e-4;

export function psiLevel(psi: number): PsiLevel {
  return psi >= PSI_THRESHOLDS.significant ? 'significant' : psi >= PSI_THRESHOLDS.moderate ? 'moderate' : 'stable';
}

/**
 * Bin upper edges at the reference's quantiles (deciles by default; the inverse empirical CDF,
 * so every edge is an observed value), duplicates dropped so discrete metrics (0/1 scores) get
 * one bin per value. Bins are (−∞, e₁], (e₁, e₂], …, (e_k, ∞).
 */
export function quantileEdges(reference: readonly number[], bins = 10): number[] {
  const sorted = sortNumbers(reference);
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = sorted[Math.max(0, Math.ceil((i / bins) * sorted.length) - 1)]!;
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  return edges;
}

export function binCounts(xs: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of xs) {
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x <= edges[mid]!) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]!++;
  }
  return counts;
}

/** PSI = Σ (c_i − r_i) · ln(c_i / r_i) over bin proportions. */
export function psiFromCounts(ref: readonly number[], cur: readonly number[]): number {
  const nr = ref.reduce((s, x) => s + x, 0);
  const nc = cur.reduce((s, x) => s + x, 0);
  let psi = 0;
  ref.forEach((r, i) => {
    const pr = Math.max(r / nr, PSI_EPSILON);
    const pc = Math.max(cur[i]! / nc, PSI_EPSILON);
    psi += (pc - pr) * Math.log(pc / pr);
  });
  return psi;
}

export function psi(reference: readonly number[], current: readonly number[], bins = 10): number | null {
  if (reference.length === 0 || current.length === 0) return null;
  const edges = quantileEdges(reference, bins);
  return psiFromCounts(binCounts(reference, edges), binCounts(current, edges));
}

/** Two-sample KS statistic D = sup |F_ref − F_cur|. */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  const x = sortNumbers(a);
  const y = sortNumbers(b);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** Kolmogorov distribution tail Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2 j² λ²}. */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = 2 * (j % 2 === 1 ? 1 : -1) * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}

/**
 * Two-sample KS test: D and the asymptotic p-value with Stephens' small-sample correction,
 * λ = (√n_e + 0.12 + 0.11/√n_e) · D with n_e = n·m/(n+m).
 */
export function ksTest(a: readonly number[], b: readonly number[]): { d: number; p: number } | null {
  if (a.length === 0 || b.length === 0) return null;
  const d = ksStatistic(a, b);
  const en = Math.sqrt((a.length * b.length) / (a.length + b.length));
  return { d, p: kolmogorovQ((en + 0.12 + 0.11 / en) * d) };
}

export interface DriftMetric {
  n_reference: number;
  n_current: number;
  psi: number | null;
  psi_level: PsiLevel | null;
  ks: { d: number; p: number } | null;
  mean_reference: number | null;
  mean_current: number | null;
}

export function driftMetric(reference: readonly number[], current: readonly number[]): DriftMetric {
  const p = psi(reference, current);
  const avg = (xs: readonly number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
  return {
    n_reference: reference.length,
    n_current: current.length,
    psi: p,
    psi_level: p === null ? null : psiLevel(p),
    ks: ksTest(reference, current),
    mean_reference: avg(reference),
    mean_current: avg(current),
  };
}
