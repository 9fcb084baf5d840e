import { UNITS, type FlatLayout } from './assign.ts';

/**
 * Which position ranges of the assignment line each variant owns, and in what order it got
 * them. `pieces[i]` are variant i's half-open ranges `[from, to)`, oldest first.
 *
 * Why this is stateful: with plain cumulative intervals, moving weight from A to B shifts the
 * boundaries of every variant between them, so subjects move between variants whose weights
 * did not change. No layout computed from the weights alone can avoid that for three or more
 * variants (if each variant's region depended only on its own weight, A=1-2d, B=d, C=d would
 * need B's and C's regions to both equal the complement of A's). So a weight change edits the
 * previous layout instead (`rebalance`), and the layout is stored (route_layouts) so every
 * instance serves the same one.
 *
 * Movement is minimal: a change from weights w to w' moves exactly sum(max(0, w_i - w'_i))
 * of the line (the total-variation distance, which any scheme must move), and only from
 * variants that lost weight to variants that gained it. Moving d from A to B moves d of A's
 * subjects to B and nobody else. A variant gives back its most recently acquired ranges
 * first, so undoing the last change (a canary rolled back) restores the exact previous
 * assignment.
 */
export type Range = readonly [from: number, to: number];
export type Pieces = ReadonlyArray<readonly Range[]>;

/** Config-order cumulative intervals: the layout of a route whose weights never changed. */
export function cumulativePieces(units: readonly number[]): Range[][] {
  let at = 0;
  return units.map((u) => {
    const out: Range[] = u > 0 ? [[at, at + u]] : [];
    at += u;
    return out;
  });
}

const lengthOf = (ranges: readonly Range[]): number => ranges.reduce((n, [a, b]) => n + (b - a), 0);

/**
 * The layout for new `units` (summing to UNITS) edited from `previous` with minimal movement.
 * `orphans` are ranges owned by variants no longer configured; they are handed out first.
 * Pure and deterministic: every instance computes the same result from the same input.
 */
export function rebalance(previous: Pieces, units: readonly number[], orphans: readonly Range[] = []): Range[][] {
  const pieces = units.map((_, i) => (previous[i] ?? []).map((r): Range => [r[0], r[1]]));
  const free: Range[] = orphans.map((r): Range => [r[0], r[1]]);
  pieces.forEach((own, i) => {
    let excess = lengthOf(own) - units[i]!;
    // Newest first, from the top of each range.
    while (excess > 0) {
      const last = own[own.length - 1]!;
      const take = Math.min(excess, last[1] - last[0]);
      free.push([last[1] - take, last[1]]);
      if (take === last[1] - last[0]) own.pop();
      else own[own.length - 1] = [last[0], last[1] - take];
      excess -= take;
    }
  });
  free.sort((a, b) => a[0] - b[0]);
  let f = 0;
  let cursor = free[0]?.[0] ?? 0;
  pieces.forEach((own, i) => {
    let need = units[i]! - lengthOf(own);
    while (need > 0) {
      const piece = free[f]!;
      const take = Math.min(need, piece[1] - cursor);
      const newest = own[own.length - 1];
      if (newest && newest[1] === cursor) own[own.length - 1] = [newest[0], cursor + take];
      else own.push([cursor, cursor + take]);
      cursor += take;
      need -= take;
      if (cursor === piece[1]) cursor = free[++f]?.[0] ?? 0;
    }
  });
  return pieces;
}

/** Sorted, coalesced segments for look-ups. Throws when the pieces do not tile [0, UNITS). */
export function flatten(pieces: Pieces): FlatLayout {
  const all: Array<[number, number, number]> = [];
  pieces.forEach((own, v) => own.forEach(([a, b]) => all.push([a, b, v])));
  all.sort((x, y) => x[0] - y[0]);
  const ends: number[] = [];
  const variants: number[] = [];
  let at = 0;
  for (const [a, b, v] of all) {
    if (a !== at || !(b > a)) throw new Error(`layout does not tile the line at position ${at}`);
    if (variants[variants.length - 1] === v) ends[ends.length - 1] = b;
    else {
      ends.push(b);
      variants.push(v);
    }
    at = b;
  }
  if (at !== UNITS) throw new Error(`layout covers [0, ${at}) instead of [0, ${UNITS})`);
  return { ends, variants };
}

/** Stored form: variant name → its ranges, oldest first. */
export type StoredLayout = Record<string, Array<[number, number]>>;

export function toStored(pieces: Pieces, names: readonly string[]): StoredLayout {
  const out: StoredLayout = {};
  pieces.forEach((own, i) => {
    if (own.length > 0) out[names[i]!] = own.map(([a, b]) => [a, b]);
  });
  return out;
}

/** Splits a stored layout into configured variants' pieces and the orphans of removed variants. */
export function fromStored(stored: StoredLayout, names: readonly string[]): { pieces: Range[][]; orphans: Range[] } {
  const index = new Map(names.map((n, i) => [n, i]));
  const pieces: Range[][] = names.map(() => []);
  const orphans: Range[] = [];
  for (const [name, ranges] of Object.entries(stored)) {
    const i = index.get(name);
    for (const r of ranges) (i === undefined ? orphans : pieces[i]!).push([r[0], r[1]]);
  }
  return { pieces, orphans };
}
