import { createHash } from 'node:crypto';

/**
 * Sticky A/B assignment, after TensorZero's `hash(experiment, subject) → [0,1)`.
 *
 * The assignment value of a subject on a route is
 *
 *     u = (first 53 bits of SHA-256(utf8(route) ‖ 0x00 ‖ utf8(subject))) / 2^53
 *
 * 53 bits because that is exactly what a double holds: u is computed without rounding, is
 * always < 1, and is the same on every instance, platform and Node version. Route names
 * cannot contain NUL (config name pattern), so the separator makes the input unambiguous.
 *
 * The line [0,1) is cut into UNITS integer positions (the hash's first 32 bits, exactly
 * `floor(u * UNITS)`); a variant owns a set of position ranges (a Layout, see layout.ts) whose
 * total length is its weight's share, apportioned in whole units.
 */
export const UNITS = 2 ** 32;

export function assignmentValue(route: string, subject: string): number {
  const digest = createHash('sha256').update(route).update('\0').update(subject).digest();
  const hi = digest.readUInt32BE(0);
  const lo = digest.readUInt32BE(4) >>> 11;
  return (hi * 2 ** 21 + lo) / 2 ** 53;
}

/** The integer position of an assignment value on the line; for hashed values, the hash's first 32 bits. */
export function positionOf(u: number): number {
  const p = Math.floor(u * UNITS);
  return p < 0 ? 0 : p >= UNITS ? UNITS - 1 : p;
}

/**
 * A flattened layout for look-ups: segment i covers positions [ends[i-1], ends[i]) (from 0 for
 * the first) and belongs to variant index `variants[i]` (config order). `ends` ascends and its
 * last element is UNITS.
 */
export interface FlatLayout {
  readonly ends: readonly number[];
  readonly variants: readonly number[];
}

/** The variant index an assignment value falls in (binary search; no allocation). */
export function pickVariant(layout: FlatLayout, u: number): number {
  const p = positionOf(u);
  const { ends, variants } = layout;
  let lo = 0;
  let hi = ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p < ends[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return variants[lo]!;
}

/**
 * Whole units per weight, summing to exactly UNITS: floors of the exact shares, then the
 * leftover units to the largest remainders (ties to the earlier variant). Deterministic
 * across instances (plain IEEE arithmetic, no locale or iteration-order dependence).
 */
export function apportion(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('apportion: weights must have a positive sum');
  const units = weights.map((w) => Math.floor((w / total) * UNITS));
  let left = UNITS - units.reduce((a, b) => a + b, 0);
  const order = weights
    .map((w, i) => ({ i, r: (w / total) * UNITS - units[i]! }))
    .filter((x) => weights[x.i]! > 0)
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) units[order[k]!.i]! += 1;
  return units;
}
