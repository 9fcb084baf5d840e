/**
 * Benjamini–Hochberg adjusted p-values (q-values), in the input order: controls the false
 * discovery rate across the scorers (and targets) of one run when each is read at level α.
 * NaN p-values (no test possible) stay NaN and are not counted.
 */
export function benjaminiHochberg(ps: readonly number[]): number[] {
  const idx = ps.map((p, i) => ({ p, i })).filter((x) => Number.isFinite(x.p));
  const m = idx.length;
  const out = ps.map(() => Number.NaN);
  idx.sort((a, b) => a.p - b.p);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const { p, i } = idx[r]!;
    running = Math.min(running, (p * m) / (r + 1));
    out[i] = running;
  }
  return out;
}
