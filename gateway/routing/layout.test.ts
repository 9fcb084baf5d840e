import { describe, expect, it } from 'vitest';
import { apportion, assignmentValue, pickVariant, UNITS, type FlatLayout } from './assign.ts';
import { cumulativePieces, flatten, fromStored, rebalance, toStored, type Pieces } from './layout.ts';
import { seededRandom } from '../../test/helpers/seeded-random.ts';

/** Exact measure (in units) of positions whose variant differs, keyed `from→to`. */
function moves(a: FlatLayout, b: FlatLayout): Map<string, number> {
  const out = new Map<string, number>();
  let i = 0;
  let j = 0;
  let at = 0;
  while (at < UNITS) {
    const end = Math.min(a.ends[i]!, b.ends[j]!);
    const from = a.variants[i]!;
    const to = b.variants[j]!;
    if (from !== to) out.set(`${from}→${to}`, (out.get(`${from}→${to}`) ?? 0) + (end - at));
    at = end;
    if (a.ends[i] === end) i++;
    if (b.ends[j] === end) j++;
  }
  return out;
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const lengths = (p: Pieces) => p.map((own) => own.reduce((n, [a, b]) => n + b - a, 0));

describe('rebalance', () => {
  it('moving weight from A to B moves only A→B subjects, even when other variants sit between them', () => {
    const names = ['a', 'c', 'b', 'd'];
    const before = cumulativePieces(apportion([40, 20, 20, 20]));
    const after = rebalance(before, apportion([30, 20, 30, 20]));
    const m = moves(flatten(before), flatten(after));
    expect([...m.keys()]).toEqual(['0→2']);
    expect(total(m)).toBe(apportion([40, 20, 20, 20])[0]! - apportion([30, 20, 30, 20])[0]!);
    // The same, seen through 10,000 subjects.
    const [fa, fb] = [flatten(before), flatten(after)];
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const u = assignmentValue('r', `s${i}`);
      const [x, y] = [pickVariant(fa, u), pickVariant(fb, u)];
      if (x !== y) {
        expect([names[x], names[y]]).toEqual(['a', 'b']);
        moved++;
      }
    }
    expect(moved / 10_000).toBeCloseTo(0.1, 1);
  });

  it('moves exactly the total-variation distance, only from losers to gainers (random weight walks)', () => {
    const rnd = seededRandom(7);
    for (let trial = 0; trial < 40; trial++) {
      const n = 2 + Math.floor(rnd() * 4);
      let pieces = cumulativePieces(apportion(Array.from({ length: n }, () => rnd() + 0.01)));
      for (let step = 0; step < 8; step++) {
        const weights = Array.from({ length: n }, () => (rnd() < 0.2 ? 0 : rnd()));
        if (!weights.some((w) => w > 0)) weights[0] = 1;
        const units = apportion(weights);
        const next = rebalance(pieces, units);
        expect(lengths(next)).toEqual(units);
        const m = moves(flatten(pieces), flatten(next));
        const old = lengths(pieces);
        const tv = old.reduce((s, u, i) => s + Math.max(0, u - units[i]!), 0);
        expect(total(m)).toBe(tv);
        for (const key of m.keys()) {
          const [from, to] = key.split('→').map(Number) as [number, number];
          expect(old[from]!).toBeGreaterThan(units[from]!);
          expect(old[to]!).toBeLessThan(units[to]!);
        }
        pieces = next;
      }
    }
  });

  it('undoing the last change restores the exact previous assignment (canary rollback)', () => {
    const start = cumulativePieces(apportion([90, 10]));
    const ramped = rebalance(start, apportion([50, 50]));
    expect(flatten(ramped)).toEqual({ ends: [UNITS / 2, UNITS], variants: [0, 1] });
    const back = rebalance(ramped, apportion([90, 10]));
    expect(flatten(back)).toEqual(flatten(start));

    const three = cumulativePieces(apportion([60, 20, 20]));
    const moved = rebalance(three, apportion([40, 20, 40]));
    expect(flatten(rebalance(moved, apportion([60, 20, 20])))).toEqual(flatten(three));
  });

  it('is the identity when the weights did not change', () => {
    const p = rebalance(cumulativePieces(apportion([50, 30, 20])), apportion([10, 30, 60]));
    expect(rebalance(p, lengths(p))).toEqual(p);
  });

  it('hands the ranges of a removed variant to the ones that gain', () => {
    const stored = toStored(cumulativePieces(apportion([50, 25, 25])), ['a', 'gone', 'b']);
    const { pieces, orphans } = fromStored(stored, ['a', 'b']);
    expect(orphans).toEqual([[UNITS / 2, (UNITS * 3) / 4]]);
    const next = rebalance(pieces, apportion([50, 50]), orphans);
    expect(flatten(next)).toEqual({ ends: [UNITS / 2, UNITS], variants: [0, 1] });
  });
});

describe('flatten', () => {
  it('rejects layouts with gaps, overlaps or short coverage', () => {
    expect(() => flatten([[[0, 10]], [[20, UNITS]]])).toThrow(/tile/);
    expect(() => flatten([[[0, 30]], [[20, UNITS]]])).toThrow(/tile/);
    expect(() => flatten([[[0, 30]]])).toThrow(/covers/);
  });
});
