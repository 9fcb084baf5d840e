import { LRUCache } from 'lru-cache';
import type { CachedResponse } from './entry.ts';

/**
 * Bytes an entry holds beyond its body: the 64-character key, the entry and usage objects,
 * and lru-cache's per-entry slots. Measured at ~300 bytes; rounded up so the bound errs on
 * the safe side.
 */
const ENTRY_OVERHEAD = 512;
const TWO_BYTE = /[^\u0000-\u00ff]/;

/**
 * Heap bytes of an entry. V8 keeps a string whose characters all fit in Latin-1 at one byte
 * per character and any other at two, so the body (nearly all of an entry) is counted as the
 * heap really holds it, not as its UTF-8 length.
 */
export function entryBytes(entry: CachedResponse): number {
  const body = entry.body;
  return ENTRY_OVERHEAD + (TWO_BYTE.test(body) ? 2 * body.length : body.length);
}

export interface MemoryTierOptions {
  /** Upper bound on the bytes all entries hold (`cache.memory_bytes`). */
  maxBytes: number;
  /** Clock for TTLs, in ms (injectable for tests). */
  now?: () => number;
}

/**
 * The in-process tier: an LRU bounded by bytes (not entries, since one answer can be 100 bytes
 * or 1 MB) with a TTL per entry. An entry larger than an eighth of the budget is not kept, so
 * one huge answer cannot flush everything else.
 */
export class MemoryTier {
  private readonly lru: LRUCache<string, CachedResponse>;
  readonly maxBytes: number;

  constructor(opts: MemoryTierOptions) {
    this.maxBytes = opts.maxBytes;
    const now = opts.now;
    this.lru = new LRUCache<string, CachedResponse>({
      maxSize: opts.maxBytes,
      maxEntrySize: Math.max(1, Math.floor(opts.maxBytes / 8)),
      sizeCalculation: entryBytes,
      // Expired entries are dropped when read or when the LRU evicts them: no timer per entry.
      ttlAutopurge: false,
      updateAgeOnGet: false,
      allowStale: false,
      ...(now ? { perf: { now }, ttlResolution: 0 } : {}),
    });
  }

  get(key: string): CachedResponse | undefined {
    return this.lru.get(key);
  }

  /** Keeps the entry for `ttlMs`; returns false when it is too large for this tier. */
  set(key: string, entry: CachedResponse, ttlMs: number): boolean {
    if (ttlMs <= 0) return false;
    const status: LRUCache.Status<string, CachedResponse> = {};
    this.lru.set(key, entry, { ttl: ttlMs, status });
    return status.set !== 'miss';
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get entries(): number {
    return this.lru.size;
  }
}
