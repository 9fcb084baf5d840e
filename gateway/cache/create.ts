import type { CacheDefaults } from '../config/routes-schema.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { CachedResponse } from './entry.ts';
import { PostgresTier } from './postgres-tier.ts';
import { RedisTier } from './redis-tier.ts';
import { ResponseCache, type CacheStats } from './response-cache.ts';
import { MemorySemanticIndex, PostgresSemanticIndex } from './semantic-index.ts';
import { SemanticCache } from './semantic.ts';
import type { SharedTier } from './shared-tier.ts';
import { SingleFlight } from './single-flight.ts';

export interface CacheServices {
  cache: ResponseCache;
  semantic: SemanticCache;
  /** Single flight over cache keys; the shared value is the leader's cache entry. */
  flights: SingleFlight<CachedResponse>;
  /** For /healthz and /metrics. */
  stats(): { responses: CacheStats; semantic: ReturnType<SemanticCache['stats']>; flights: ReturnType<SingleFlight<CachedResponse>['stats']> };
  /** Writes queued entries and closes the shared tier (SIGTERM). */
  close(): Promise<void>;
}

export interface CreateCacheOptions {
  /** The top-level `cache:` config. */
  config: CacheDefaults;
  /** REDIS_URL. */
  redisUrl?: string | undefined;
  database?: Pick<Database, 'db'> | undefined;
  logger: Logger;
  /** Wall clock, epoch ms. */
  now?: () => number;
  /** Redis key prefix (default `sluice:cache:`). */
  redisPrefix?: string | undefined;
  /** Longest a follower waits for a single-flight leader (default 120 s). */
  flightTimeoutMs?: number | undefined;
}

/**
 * Builds the cache from config; called once by the composition root. Opens no connection
 * that can fail the boot: Redis connects in the background, and until it is up (or whenever
 * it is down) lookups miss.
 */
export function createCache(opts: CreateCacheOptions): CacheServices {
  const now = opts.now ?? Date.now;
  const shared = sharedTier(opts, now);
  const cache = new ResponseCache({ memoryBytes: opts.config.memory_bytes, shared, now, logger: opts.logger });
  const onPurgeError = (err: unknown) => opts.logger.warn('cache purge failed', { err: err instanceof Error ? err.message : String(err) });
  const index = opts.database ? new PostgresSemanticIndex(opts.database, { now, onPurgeError }) : new MemorySemanticIndex({ now });
  const semantic = new SemanticCache({ index, cache, now, logger: opts.logger });
  const flights = new SingleFlight<CachedResponse>(opts.flightTimeoutMs === undefined ? {} : { timeoutMs: opts.flightTimeoutMs });
  return {
    cache,
    semantic,
    flights,
    stats: () => ({ responses: cache.stats(), semantic: semantic.stats(), flights: flights.stats() }),
    async close() {
      await cache.close();
      await semantic.close();
    },
  };
}

/** `shared: auto` is Redis when REDIS_URL is set, else Postgres (DESIGN §2). */
export function sharedTier(opts: CreateCacheOptions, now: () => number): SharedTier | undefined {
  const choice = opts.config.shared === 'auto' ? (opts.redisUrl ? 'redis' : 'postgres') : opts.config.shared;
  switch (choice) {
    case 'none':
      return undefined;
    case 'redis': {
      if (!opts.redisUrl) throw new Error('cache.shared is "redis" but REDIS_URL is not set');
      let lastLog = Number.NEGATIVE_INFINITY;
      const tier = new RedisTier({
        url: opts.redisUrl,
        now,
        ...(opts.redisPrefix === undefined ? {} : { prefix: opts.redisPrefix }),
        onConnectionError: (err) => {
          // ioredis reports every failed reconnect; one line a minute is enough.
          if (now() - lastLog < 60_000) return;
          lastLog = now();
          opts.logger.warn('redis cache unavailable; cache lookups miss until it is back', { err: err.message });
        },
      });
      tier.start();
      return tier;
    }
    case 'postgres':
      if (!opts.database) return undefined;
      return new PostgresTier(opts.database, {
        now,
        onPurgeError: (err) => opts.logger.warn('response cache purge failed', { err: err instanceof Error ? err.message : String(err) }),
      });
  }
}
