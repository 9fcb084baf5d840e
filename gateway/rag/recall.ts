import { readFileSync } from 'node:fs';
import type { Retriever } from './types.ts';

/** One HaluEval QA row as a retrieval case: the passage is the document, the question the query. */
export interface RecallCase {
  id: string;
  passage: string;
  question: string;
}

export interface RecallReport {
  cases: number;
  /** k → share of questions whose source passage is in the top k. */
  recall: Record<number, number>;
  /** Mean reciprocal rank over the top `depth` (0 when not found). */
  mrr: number;
  depth: number;
}

/** HaluEval QA (one JSON object a line): `knowledge` is the passage; id = 0-based row index. */
export function loadHaluEval(path: string): RecallCase[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const row = JSON.parse(line) as { knowledge: string; question: string };
      return { id: String(i), passage: row.knowledge, question: row.question };
    });
}

/** Searches every question and scores where its own passage lands. Deterministic for a fixed corpus. */
export async function measureRecall(retriever: Retriever, cases: readonly RecallCase[], ks: readonly number[] = [1, 3, 5], depth = 10): Promise<RecallReport> {
  const hits = new Map<number, number>(ks.map((k) => [k, 0]));
  let rr = 0;
  const signal = new AbortController().signal;
  for (const c of cases) {
    const docs = await retriever.search(c.question, { topK: depth, signal });
    const rank = docs.findIndex((d) => d.id === c.id);
    if (rank < 0) continue;
    rr += 1 / (rank + 1);
    for (const k of ks) if (rank < k) hits.set(k, hits.get(k)! + 1);
  }
  const recall: Record<number, number> = {};
  for (const [k, n] of hits) recall[k] = n / cases.length;
  return { cases: cases.length, recall, mrr: rr / cases.length, depth };
}

/**
 * A deterministic stand-in for an embeddings model, for benchmarks and tests only: words
 * (lower-cased letters/digits) hashed (FNV-1a) into `dimensions` signed buckets, log-scaled
 * counts, unit length. It is lexical, not semantic — results with it say nothing about a real
 * embeddings model.
 */
export function hashedBagOfWords(dimensions = 512): (texts: string[]) => Promise<number[][]> {
  return async (texts) =>
    texts.map((text) => {
      const v = new Array<number>(dimensions).fill(0);
      const counts = new Map<string, number>();
      for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) if (w.length > 2) counts.set(w, (counts.get(w) ?? 0) + 1);
      for (const [w, n] of counts) {
        const h = fnv1a(w);
        v[h % dimensions]! += (h & 0x80000000 ? -1 : 1) * (1 + Math.log(n));
      }
      const len = Math.hypot(...v) || 1;
      return v.map((x) => x / len);
    });
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
