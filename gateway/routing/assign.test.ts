import { describe, expect, it } from 'vitest';
import { apportion, assignmentValue, pickVariant, positionOf, UNITS } from './assign.ts';
import { cumulativePieces, flatten } from './layout.ts';

/** Chi-square goodness of fit of observed counts against weights. */
function chiSquare(counts: number[], weights: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  const total = weights.reduce((a, b) => a + b, 0);
  return counts.reduce((chi, c, i) => {
    const expected = (n * weights[i]!) / total;
    return chi + (c - expected) ** 2 / expected;
  }, 0);
}

const subjects = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

describe('assignmentValue', () => {
  it('is the first 53 bits of SHA-256(route NUL subject) over 2^53 (values from Python hashlib)', () => {
    // int.from_bytes(sha256(b'support-bot\0user-42').digest()[:8], 'big') >> 11) / 2**53
    expect(assignmentValue('support-bot', 'user-42')).toBe(0.9801670799867801);
    expect(assignmentValue('support-bot', 'alice')).toBe(0.49241559752089736);
    expect(assignmentValue('support-bot', '')).toBe(0.9700761761942321);
    expect(assignmentValue('r', 'żółw🐢')).toBe(0.0949605775913035);
  });

  it('stays in [0, 1) and its position is the hash prefix', () => {
    for (const s of subjects.slice(0, 2000)) {
      const u = assignmentValue('route', s);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      expect(positionOf(u)).toBe(Math.floor(u * UNITS));
    }
    expect(positionOf(1 - 2 ** -53)).toBe(UNITS - 1);
  });

  it('separates route from subject (no ambiguity from concatenation)', () => {
    expect(assignmentValue('ab', 'c')).not.toBe(assignmentValue('a', 'bc'));
  });
});

describe('apportion', () => {
  it('gives whole units summing to exactly UNITS, proportional to the weights', () => {
    for (const w of [[90, 10], [1, 1, 1], [0.3, 0.3, 0.4], [5, 0, 3, 2], [1], [1e-9, 1]]) {
      const units = apportion(w);
      expect(units.reduce((a, b) => a + b, 0)).toBe(UNITS);
      const total = w.reduce((a, b) => a + b, 0);
      units.forEach((u, i) => expect(Math.abs(u - (w[i]! / total) * UNITS)).toBeLessThanOrEqual(1));
      w.forEach((x, i) => x === 0 && expect(units[i]).toBe(0));
    }
  });

  it('rejects weights without a positive sum', () => {
    expect(() => apportion([0, 0])).toThrow(/positive/);
  });
});

describe('pickVariant', () => {
  it('finds the segment containing the position (binary search agrees with a scan)', () => {
    const layout = flatten(cumulativePieces(apportion([3, 0, 2, 5])));
    for (let k = 0; k < 5000; k++) {
      const u = k / 5000;
      const p = positionOf(u);
      const scan = layout.variants[layout.ends.findIndex((e) => p < e)];
      expect(pickVariant(layout, u)).toBe(scan);
    }
    expect(pickVariant(layout, 0)).toBe(0);
    expect(pickVariant(layout, 1 - 2 ** -53)).toBe(3);
  });

  // A fixed sample: the outcome is deterministic, and any one SHA-256 sample is a random draw
  // (on route 'support-bot' these same subjects happen to put 51.95% below 0.5, a 3.9 sigma draw).
  it('over 10,000 fixed subjects the split matches the weights (chi-square, p > 0.001)', () => {
    for (const weights of [[90, 10], [70, 20, 10], [25, 25, 25, 25], [50, 1, 49]]) {
      const layout = flatten(cumulativePieces(apportion(weights)));
      const counts = weights.map(() => 0);
      for (const s of subjects) counts[pickVariant(layout, assignmentValue('checkout', s))]! += 1;
      // Critical values of chi-square at p = 0.001 for 1, 2 and 3 degrees of freedom.
      const critical = [10.83, 13.82, 16.27][weights.length - 2]!;
      expect(chiSquare(counts, weights), `${weights} → ${counts}`).toBeLessThan(critical);
    }
  });
});
