/** Cosine similarity in [-1, 1]; 0 when either vector is all zeros or the lengths differ. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, normB?: number): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let dot = 0;
  let na = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    dot += x * b[i]!;
    na += x * x;
  }
  const nb = normB ?? norm(b);
  return na === 0 || nb === 0 ? 0 : dot / (Math.sqrt(na) * nb);
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** Keeps the k best items seen so far (by score, then key), best first. */
export class TopK<T extends { score: number; key: string }> {
  readonly items: T[] = [];
  constructor(private readonly k: number) {}

  offer(item: T): void {
    const items = this.items;
    if (items.length === this.k && !better(item, items[items.length - 1]!)) return;
    let i = items.length;
    while (i > 0 && better(item, items[i - 1]!)) i--;
    items.splice(i, 0, item);
    if (items.length > this.k) items.pop();
  }
}

const better = (a: { score: number; key: string }, b: { score: number; key: string }): boolean =>
  a.score > b.score || (a.score === b.score && a.key < b.key);
