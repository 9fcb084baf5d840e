/** One step of an edit script: keep, delete (from `a`) or insert (from `b`). */
export type EditOp<T> = { op: 'keep'; a: T; b: T } | { op: 'del'; a: T } | { op: 'ins'; b: T };

// Prompts are small; above this many cells the LCS table is not worth it and we report a
// whole replacement instead.
const MAX_CELLS = 4_000_000;

/** Shortest edit script between two sequences (LCS), comparing items with `key`. */
export function editScript<T>(a: readonly T[], b: readonly T[], key: (x: T) => string = String): EditOp<T>[] {
  const ka = a.map(key);
  const kb = b.map(key);
  let start = 0;
  while (start < a.length && start < b.length && ka[start] === kb[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && ka[endA - 1] === kb[endB - 1]) {
    endA--;
    endB--;
  }
  const head: EditOp<T>[] = a.slice(0, start).map((x, i) => ({ op: 'keep', a: x, b: b[i]! }));
  const tail: EditOp<T>[] = a.slice(endA).map((x, i) => ({ op: 'keep', a: x, b: b[endB + i]! }));
  const n = endA - start;
  const m = endB - start;
  const middle: EditOp<T>[] = [];
  if (n * m > MAX_CELLS) {
    for (let i = start; i < endA; i++) middle.push({ op: 'del', a: a[i]! });
    for (let j = start; j < endB; j++) middle.push({ op: 'ins', b: b[j]! });
    return [...head, ...middle, ...tail];
  }
  // lcs[i][j] = LCS length of a[start+i..endA) and b[start+j..endB), flattened.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = ka[start + i] === kb[start + j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && ka[start + i] === kb[start + j]) {
      middle.push({ op: 'keep', a: a[start + i]!, b: b[start + j]! });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
      middle.push({ op: 'del', a: a[start + i]! });
      i++;
    } else {
      middle.push({ op: 'ins', b: b[start + j]! });
      j++;
    }
  }
  return [...head, ...middle, ...tail];
}

/** A unified diff (`diff -u` style, `context` lines around each change); '' when equal. */
export function unifiedDiff(a: string, b: string, fromLabel: string, toLabel: string, context = 3): string {
  if (a === b) return '';
  const ops = editScript(a.split('\n'), b.split('\n'));
  const changed: number[] = [];
  ops.forEach((o, k) => o.op !== 'keep' && changed.push(k));
  const out = [`--- ${fromLabel}`, `+++ ${toLabel}`];
  let g = 0;
  while (g < changed.length) {
    let last = g;
    while (last + 1 < changed.length && changed[last + 1]! - changed[last]! <= 2 * context + 1) last++;
    const lo = Math.max(0, changed[g]! - context);
    const hi = Math.min(ops.length, changed[last]! + context + 1);
    let aBefore = 0;
    let bBefore = 0;
    for (let k = 0; k < lo; k++) {
      if (ops[k]!.op !== 'ins') aBefore++;
      if (ops[k]!.op !== 'del') bBefore++;
    }
    const lines: string[] = [];
    let aLen = 0;
    let bLen = 0;
    for (let k = lo; k < hi; k++) {
      const o = ops[k]!;
      if (o.op === 'keep') lines.push(` ${o.a}`);
      else if (o.op === 'del') lines.push(`-${o.a}`);
      else lines.push(`+${o.b}`);
      if (o.op !== 'ins') aLen++;
      if (o.op !== 'del') bLen++;
    }
    const range = (before: number, len: number) => `${len === 0 ? before : before + 1},${len}`;
    out.push(`@@ -${range(aBefore, aLen)} +${range(bBefore, bLen)} @@`, ...lines);
    g = last + 1;
  }
  return `${out.join('\n')}\n`;
}
