import { describe, expect, it } from 'vitest';
import type { RetrievedDoc } from '../types.ts';
import { reciprocalRankFusion } from './hybrid.ts';
import { cosine, TopK } from './vector-math.ts';
import { decodeFloat4Array } from './vector-scan.ts';

const d = (id: string, score = 1): RetrievedDoc => ({ id, collection: 'kb', text: id, score, metadata: {} });

describe('reciprocalRankFusion', () => {
  it('sums 1/(k + rank) over the lists and orders by the sum', () => {
    const fused = reciprocalRankFusion([[d('a'), d('b'), d('c')], [d('c'), d('a'), d('d')]], 60, 10);
    expect(fused.map((x) => x.id)).toEqual(['a', 'c', 'b', 'd']);
    expect(fused[0]!.score).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(fused[2]!.score).toBeCloseTo(1 / 62, 12);
  });

  it('cuts at top_k and keeps a document found by one list only', () => {
    expect(reciprocalRankFusion([[d('a')], []], 60, 5).map((x) => x.id)).toEqual(['a']);
    expect(reciprocalRankFusion([[d('a'), d('b'), d('c')]], 60, 2)).toHaveLength(2);
  });
});

describe('vector math', () => {
  it('cosine', () => {
    expect(cosine([1, 0], [1, 0])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 2])).toBeCloseTo(0);
    expect(cosine([1, 1], [-1, -1])).toBeCloseTo(-1);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(cosine([1, 2, 3], [1, 2])).toBe(0);
  });

  it('TopK keeps the best k, ties by key', () => {
    const top = new TopK<{ key: string; score: number }>(3);
    for (const [key, score] of [['e', 0.1], ['b', 0.9], ['a', 0.5], ['c', 0.9], ['d', 0.7]] as const) top.offer({ key, score });
    expect(top.items.map((i) => i.key)).toEqual(['b', 'c', 'd']);
  });

  it('decodes Postgres binary float4[] (array_send)', () => {
    // ndim 1, no nulls, oid 700, length 2, lower bound 1, then (len 4, value) twice.
    const buf = Buffer.alloc(20 + 16);
    buf.writeInt32BE(1, 0);
    buf.writeInt32BE(0, 4);
    buf.writeInt32BE(700, 8);
    buf.writeInt32BE(2, 12);
    buf.writeInt32BE(1, 16);
    buf.writeInt32BE(4, 20);
    buf.writeFloatBE(0.5, 24);
    buf.writeInt32BE(4, 28);
    buf.writeFloatBE(-2, 32);
    expect([...decodeFloat4Array(buf)]).toEqual([0.5, -2]);
    expect(decodeFloat4Array(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 188]))).toHaveLength(0);
  });
});
