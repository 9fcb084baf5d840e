/**
 * Area under the ROC curve by the Mann–Whitney statistic: the probability that a random
 * positive scores above a random negative, ties counting one half.
 */
export function auroc(positives: readonly number[], negatives: readonly number[]): number {
  if (positives.length === 0 || negatives.length === 0) return Number.NaN;
  const all = [...positives.map((s) => ({ s, pos: true })), ...negatives.map((s) => ({ s, pos: false }))].sort((a, b) => a.s - b.s);
  // Average ranks over ties.
  let rankSumPos = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]!.pos) rankSumPos += avgRank;
    i = j;
  }
  const np = positives.length;
  return (rankSumPos - (np * (np + 1)) / 2) / (np * negatives.length);
}

/** AUROC of paired comparisons: share of pairs where the positive scores higher (ties ½). */
export function pairedWinRate(pairs: ReadonlyArray<readonly [positive: number, negative: number]>): number {
  if (pairs.length === 0) return Number.NaN;
  let wins = 0;
  for (const [p, n] of pairs) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / pairs.length;
}
