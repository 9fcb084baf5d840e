import { apportion, type FlatLayout } from './assign.ts';
import { cumulativePieces, flatten, fromStored, rebalance, type Range, type StoredLayout } from './layout.ts';

/** The weights and layout in force for one route. */
export interface Allocation {
  /** Effective weight per variant, in config order. */
  readonly weights: readonly number[];
  /** Whole units of the assignment line per variant (sum UNITS). */
  readonly units: readonly number[];
  /** Each variant's ranges, oldest first (what route_layouts stores). */
  readonly pieces: ReadonlyArray<readonly Range[]>;
  readonly layout: FlatLayout;
  /** `override`: weights set at runtime (PUT /api/routes/{name}/weights); else the config's. */
  readonly source: 'config' | 'override';
}

/** Where the Router reads runtime weights; synchronous, from memory. */
export interface WeightsSource {
  allocation(route: string): Allocation | undefined;
}

export interface AllocationInput {
  names: readonly string[];
  configWeights: readonly number[];
  /** Runtime weights by variant name (unknown names ignored, missing variants get 0). */
  override?: Readonly<Record<string, number>> | undefined;
  /** The last stored layout, if any. */
  stored?: StoredLayout | null | undefined;
}

/**
 * The allocation a route serves: the override's weights if it has a positive one for a
 * configured variant, else the config weights; laid out by editing the stored layout (or,
 * when none was ever stored, the config's cumulative layout) with minimal movement. Pure,
 * so every instance derives the same allocation from the same rows and config.
 */
export function computeAllocation(input: AllocationInput): Allocation {
  const { names, configWeights } = input;
  let weights = configWeights;
  let source: Allocation['source'] = 'config';
  if (input.override) {
    const o = input.override;
    const w = names.map((n) => (Object.hasOwn(o, n) ? (o[n] ?? 0) : 0));
    if (w.some((x) => x > 0)) {
      weights = w;
      source = 'override';
    }
  }
  const units = apportion(weights);
  let base: { pieces: Range[][]; orphans: Range[] } | undefined;
  if (input.stored) {
    base = fromStored(input.stored, names);
    try {
      flatten([...base.pieces, base.orphans]);
    } catch {
      base = undefined; // a corrupt stored layout: start over from the config layout
    }
  }
  base ??= { pieces: cumulativePieces(apportion(configWeights)), orphans: [] };
  const pieces = rebalance(base.pieces, units, base.orphans);
  return Object.freeze({ weights: Object.freeze([...weights]), units, pieces, layout: flatten(pieces), source });
}

/** The same allocation with new weights, edited from `from` with minimal movement. */
export function reweigh(from: Allocation, weights: readonly number[], source: Allocation['source']): Allocation {
  const units = apportion(weights);
  const pieces = rebalance(from.pieces, units);
  return Object.freeze({ weights: Object.freeze([...weights]), units, pieces, layout: flatten(pieces), source });
}
