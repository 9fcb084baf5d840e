import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '../logger.ts';
import type { CachedResponse } from './entry.ts';
import { ResponseCache } from './response-cache.ts';
import type { SharedHit, SharedTier } from './shared-tier.ts';
import { entryOf, textCompletion } from '../../test/helpers/completions.ts';

/** A shared tier held in a Map, whose reads and writes can be made to fail or hang. */
class FakeTier implements SharedTier {
  readonly kind = 'postgres';
  readonly rows = new Map<string, SharedHit>();
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  async get(key: string): Promise<SharedHit | undefined> {
    if (this.mode === 'fail') throw new Error('connect ECONNREFUSED');
    if (this.mode === 'hang') return new Promise(() => {});
    return this.rows.get(key);
  }
  async set(key: string, entry: CachedResponse, expiresAt: number): Promise<void> {
    if (this.mode !== 'ok') throw new Error('connect ECONNREFUSED');
    this.rows.set(key, { entry, expiresAt });
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

const entry = entryOf(textCompletion('cached'));

describe('ResponseCache', () => {
  it('serves from memory synchronously and counts each lookup once', async () => {
    const cache = new ResponseCache({ memoryBytes: 1_000_000 });
    expect(cache.getMemory('k')).toBeUndefined();
    expect(await cache.get('k')).toBeUndefined();
    cache.set('k', entry, 60);
    expect(cache.getMemory('k')).toBe(entry);
    expect(await cache.get('k')).toBe(entry);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, writes: 1, memory: { hits: 2, entries: 1, maxBytes: 1_000_000 }, shared: { kind: 'none' } });
    expect(cache.stats().hitRate).toBeCloseTo(2 / 3);
    expect(cache.stats().memory.bytes).toBeGreaterThan(entry.body.length);
  });

  it('expires entries after their TTL on the injected clock, and ignores a non-positive TTL', async () => {
    let now = 1_000_000;
    const cache = new ResponseCache({ memoryBytes: 1_000_000, now: () => now });
    cache.set('k', entry, 10);
    cache.set('zero', entry, 0);
    now += 9_000;
    expect(await cache.get('k')).toBe(entry);
    now += 1_001;
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.get('zero')).toBeUndefined();
  });

  it('writes through to the shared tier and promotes a shared hit to memory for the time it has left', async () => {
    let now = 1_000_000;
    const tier = new FakeTier();
    const writer = new ResponseCache({ memoryBytes: 1_000_000, shared: tier, now: () => now });
    const reader = new ResponseCache({ memoryBytes: 1_000_000, shared: tier, now: () => now });
    writer.set('k', entry, 10);
    await writer.flush();
    expect(tier.rows.get('k')?.expiresAt).toBe(1_010_000);
    now += 4_000;
    expect(reader.getMemory('k')).toBeUndefined();
    expect(await reader.get('k')).toEqual(entry);
    expect(reader.getMemory('k')).toEqual(entry);
    expect(reader.stats()).toMatchObject({ hits: 2, shared: { hits: 1 }, memory: { hits: 1 } });
    tier.rows.clear();
    now += 6_001; // past the shared expiry: the promoted copy is gone too
    expect(reader.getMemory('k')).toBeUndefined();
  });

  it('treats a failing shared tier as a miss, counts it, logs at most once per interval, never throws', async () => {
    const tier = new FakeTier();
    tier.mode = 'fail';
    const warn = vi.fn();
    const logger: Logger = { info() {}, warn, error() {} };
    const cache = new ResponseCache({ memoryBytes: 1_000_000, shared: tier, logger });
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBeUndefined();
    cache.set('c', entry, 60);
    await new Promise((r) => setImmediate(r));
    expect(cache.stats().shared).toMatchObject({ readErrors: 2, writeErrors: 1 });
    expect(cache.stats().misses).toBe(2);
    expect(warn).toHaveBeenCalledTimes(1);
    // The memory tier still works.
    expect(await cache.get('c')).toBe(entry);
  });

  it('gives up on a shared read that hangs after sharedTimeoutMs', async () => {
    const tier = new FakeTier();
    tier.mode = 'hang';
    const cache = new ResponseCache({ memoryBytes: 1_000_000, shared: tier, sharedTimeoutMs: 20 });
    const started = performance.now();
    expect(await cache.get('k')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(500);
    expect(cache.stats().shared.readErrors).toBe(1);
  });

  it('peek does not count', async () => {
    const cache = new ResponseCache({ memoryBytes: 1_000_000 });
    cache.set('k', entry, 60);
    expect(await cache.peek('k')).toBe(entry);
    expect(await cache.peek('nope')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
  });
});
