import type { CachedResponse } from './entry.ts';
import type { CachePolicy } from './policy.ts';
import type { ResponseCache } from './response-cache.ts';
import type { SingleFlight } from './single-flight.ts';

/** A lookup that answered: serve `entry` (replayJson / replaySse) with `x-sluice-cache: hit`. */
export interface CacheHit {
  status: 'hit';
  entry: CachedResponse;
  /** Where it came from: local memory, the shared tier, or a concurrent identical call. */
  source: 'memory' | 'shared' | 'flight';
}

/**
 * A lookup that did not answer (`x-sluice-cache: miss`, or `bypass` when the policy skipped
 * the lookup). The caller calls upstream and then exactly one of:
 * - `complete(entry)` with entryFromJson/entryFromStream's result (undefined when the answer is
 *   not cacheable): stores it when the policy allows and hands it to waiting followers;
 * - `abandon()` on any failure (error, client gone): followers go upstream on their own.
 * Both are idempotent, so a `finally { miss.abandon() }` after `complete` is safe.
 */
export interface CacheMiss {
  status: 'miss' | 'bypass';
  complete(entry: CachedResponse | undefined): void;
  abandon(): void;
}

export type CacheLookup = CacheHit | CacheMiss;

export interface LookupDeps {
  cache: ResponseCache;
  flights: SingleFlight<CachedResponse>;
}

/**
 * The whole read side for one request: memory (no await), then single flight, then the shared
 * tier. The first request for a key leads: it reads the shared tier and, on a miss, calls
 * upstream; identical requests arriving meanwhile wait for its answer instead of calling too.
 */
export async function cacheLookup(deps: LookupDeps, key: string, policy: Pick<CachePolicy, 'read' | 'write' | 'ttlSeconds'>): Promise<CacheLookup> {
  if (!policy.read) return writeOnly(deps, key, policy);
  const local = deps.cache.getMemory(key);
  if (local) return { status: 'hit', entry: local, source: 'memory' };

  const slot = deps.flights.join(key);
  if (slot.role === 'follower') {
    const entry = await slot.wait;
    deps.cache.countFlight(entry !== undefined);
    if (entry) return { status: 'hit', entry, source: 'flight' };
    // The leader failed or timed out: go upstream alone.
    return writeOnly(deps, key, policy, 'miss');
  }

  let done = false;
  const settle = (entry: CachedResponse | undefined): void => {
    if (done) return;
    done = true;
    slot.resolve(entry);
  };
  try {
    const shared = await deps.cache.get(key);
    if (shared) {
      settle(shared);
      return { status: 'hit', entry: shared, source: 'shared' };
    }
  } catch (err) {
    settle(undefined);
    throw err;
  }
  return {
    status: 'miss',
    complete(entry) {
      if (done) return;
      if (entry && policy.write) deps.cache.set(key, entry, policy.ttlSeconds);
      settle(entry);
    },
    abandon: () => settle(undefined),
  };
}

function writeOnly(deps: LookupDeps, key: string, policy: Pick<CachePolicy, 'write' | 'ttlSeconds'>, status: 'miss' | 'bypass' = 'bypass'): CacheMiss {
  let done = false;
  return {
    status,
    complete(entry) {
      if (done) return;
      done = true;
      if (entry && policy.write) deps.cache.set(key, entry, policy.ttlSeconds);
    },
    abandon() {
      done = true;
    },
  };
}
