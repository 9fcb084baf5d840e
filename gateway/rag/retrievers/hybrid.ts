import type { RetrievedDoc, Retriever, SearchOptions } from '../types.ts';

/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): each list contributes
 * 1 / (k + rank) for every document it ranks (rank from 1), and documents are ordered by the
 * sum. Only ranks matter, so the lists' incomparable scores (ts_rank, cosine) need no scaling.
 */
export function reciprocalRankFusion(lists: readonly (readonly RetrievedDoc[])[], k: number, topK: number): RetrievedDoc[] {
  const fused = new Map<string, RetrievedDoc>();
  for (const list of lists) {
    list.forEach((doc, i) => {
      const key = `${doc.collection}\u0000${doc.id}`;
      const add = 1 / (k + i + 1);
      const seen = fused.get(key);
      if (seen) seen.score += add;
      else fused.set(key, { ...doc, score: add });
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, topK);
}

/** Full-text and vector search over one collection, fused by RRF. Scores are RRF sums. */
export class HybridRetriever implements Retriever {
  readonly type = 'hybrid';

  constructor(
    readonly name: string,
    private readonly text: Retriever,
    private readonly vector: Retriever,
    private readonly k: number,
  ) {}

  async search(query: string, opts: SearchOptions): Promise<RetrievedDoc[]> {
    // Each side looks deeper than top_k, so a document ranked moderately by both can win.
    const depth = Math.max(opts.topK * 4, 20);
    const [a, b] = await Promise.all([this.text.search(query, { ...opts, topK: depth }), this.vector.search(query, { ...opts, topK: depth })]);
    return reciprocalRankFusion([a, b], this.k, opts.topK);
  }
}
