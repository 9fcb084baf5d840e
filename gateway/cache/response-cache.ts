import type { Logger } from '../logger.ts';
import type { CachedResponse } from './entry.ts';
import { MemoryTier } from './memory-tier.ts';
import type { SharedHit, SharedTier } from './shared-tier.ts';

export interface ResponseCacheOptions {
  /** Bound on the memory tier (`cache.memory_bytes`). */
  memoryBytes: number;
  /** Postgres or Redis tier (see createSharedTier); undefined = memory only. */
  shared?: SharedTier | undefined;
  /** Wall clock, epoch ms (TTLs, and expiry shared with other instances). */
  now?: () => number;
  /** A shared read slower than this is a miss, so a stalled database never stalls a request. */
  sharedTimeoutMs?: number;
  logger?: Logger | undefined;
  /** Minimum gap between two log lines about shared-tier failures (they are always counted). */
  logEveryMs?: number;
}

/** For /healthz and /metrics. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0 before any lookup. */
  hitRate: number;
  /** Hits served by waiting for a concurrent identical call (single flight). */
  flightHits: number;
  memory: { hits: number; entries: number; bytes: number; maxBytes: number };
  shared: {
    kind: 'postgres' | 'redis' | 'none';
    hits: number;
    /** Failed or timed-out reads (served as misses) and failed or refused writes. */
    readErrors: number;
    writeErrors: number;
  };
  /** Entries stored. */
  writes: number;
}

const SHARED_READ_TIMEOUT = Symbol('timeout');

/**
 * Two-tier response cache: the in-process memory tier, then a shared tier. A shared hit is
 * copied into memory (for the time it has left); writes go to memory at once and to the
 * shared tier in the background. Shared-tier failures are misses and dropped writes, counted
 * and logged, never errors for the request.
 */
export class ResponseCache {
  private readonly memory: MemoryTier;
  private readonly shared: SharedTier | undefined;
  private readonly now: () => number;
  private readonly sharedTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly logEveryMs: number;
  private lastLogAt = Number.NEGATIVE_INFINITY;
  private readonly counts = { memoryHits: 0, sharedHits: 0, flightHits: 0, misses: 0, writes: 0, readErrors: 0, writeErrors: 0 };

  constructor(opts: ResponseCacheOptions) {
    this.now = opts.now ?? Date.now;
    this.memory = new MemoryTier({ maxBytes: opts.memoryBytes, now: this.now });
    this.shared = opts.shared;
    this.sharedTimeoutMs = opts.sharedTimeoutMs ?? 250;
    this.logger = opts.logger;
    this.logEveryMs = opts.logEveryMs ?? 30_000;
  }

  /**
   * Memory tier only, synchronously: the hot path never awaits when the answer is local.
   * Counts a hit when it finds one; on undefined call `get`, which counts the lookup's outcome.
   */
  getMemory(key: string): CachedResponse | undefined {
    const entry = this.memory.get(key);
    if (entry) this.counts.memoryHits++;
    return entry;
  }

  /** Memory, then the shared tier; counts exactly one hit or miss. */
  get(key: string): Promise<CachedResponse | undefined> {
    return this.lookup(key, true);
  }

  /** Like `get` but not counted (the semantic cache fetching the answer its index points at). */
  peek(key: string): Promise<CachedResponse | undefined> {
    return this.lookup(key, false);
  }

  /**
   * Stores an entry (from entryFromJson/entryFromStream, which refuse errors and truncated
   * answers) for `ttlSeconds`. Returns at once; the shared write happens in the background.
   */
  set(key: string, entry: CachedResponse, ttlSeconds: number): void {
    if (!(ttlSeconds > 0)) return;
    const ttlMs = ttlSeconds * 1000;
    this.counts.writes++;
    this.memory.set(key, entry, ttlMs);
    if (!this.shared) return;
    this.shared.set(key, entry, this.now() + ttlMs).catch((err: unknown) => {
      this.counts.writeErrors++;
      this.logFailure('write', err);
    });
  }

  /** Counts the outcome of a single-flight follower (cacheLookup calls this). */
  countFlight(hit: boolean): void {
    if (hit) this.counts.flightHits++;
    else this.counts.misses++;
  }

  stats(): CacheStats {
    const c = this.counts;
    const hits = c.memoryHits + c.sharedHits + c.flightHits;
    const lookups = hits + c.misses;
    return {
      hits,
      misses: c.misses,
      hitRate: lookups === 0 ? 0 : hits / lookups,
      flightHits: c.flightHits,
      memory: { hits: c.memoryHits, entries: this.memory.entries, bytes: this.memory.bytes, maxBytes: this.memory.maxBytes },
      shared: { kind: this.shared?.kind ?? 'none', hits: c.sharedHits, readErrors: c.readErrors, writeErrors: c.writeErrors },
      writes: c.writes,
    };
  }

  /** Waits for queued shared writes (tests, shutdown). */
  async flush(): Promise<void> {
    await this.shared?.flush().catch(() => {});
  }

  /** Flushes and closes the shared tier. */
  async close(): Promise<void> {
    await this.shared?.close();
  }

  private async lookup(key: string, count: boolean): Promise<CachedResponse | undefined> {
    const local = this.memory.get(key);
    if (local) {
      if (count) this.counts.memoryHits++;
      return local;
    }
    const hit = this.shared ? await this.readShared(this.shared, key) : undefined;
    if (!hit) {
      if (count) this.counts.misses++;
      return undefined;
    }
    if (count) this.counts.sharedHits++;
    this.memory.set(key, hit.entry, hit.expiresAt - this.now());
    return hit.entry;
  }

  private async readShared(shared: SharedTier, key: string): Promise<SharedHit | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof SHARED_READ_TIMEOUT>((resolve) => {
      timer = setTimeout(resolve, this.sharedTimeoutMs, SHARED_READ_TIMEOUT);
    });
    try {
      const result = await Promise.race([shared.get(key), timeout]);
      if (result === SHARED_READ_TIMEOUT) throw new Error(`${shared.kind} cache read timed out after ${this.sharedTimeoutMs} ms`);
      return result;
    } catch (err) {
      this.counts.readErrors++;
      this.logFailure('read', err);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private logFailure(op: 'read' | 'write', err: unknown): void {
    const at = this.now();
    if (at - this.lastLogAt < this.logEveryMs) return;
    this.lastLogAt = at;
    const c = this.counts;
    this.logger?.warn('response cache shared tier failed; serving as a miss', {
      tier: this.shared?.kind,
      op,
      err: err instanceof Error ? err.message : String(err),
      readErrors: c.readErrors,
      writeErrors: c.writeErrors,
    });
  }
}
