/**
 * The response cache (DESIGN §2, §4.1, §5). How the pipeline uses it, per chat call:
 *
 *   const policy = resolveCachePolicy({ route: route?.cache, defaults: config.cache, request: req, header });
 *   const key = cacheKey({ provider, model, request: req, scope: cacheScope(policy, { route, keyId }) });
 *   const lookup = await cacheLookup(services, key, policy);          // memory → single flight → shared
 *   if (lookup.status === 'hit') → replayJson(entry) or replaySse(entry, { includeUsage }), cost 0,
 *                                   saved = entry.costMicros, header x-sluice-cache: hit
 *   else → call upstream; then lookup.complete(entryFromJson(...) | entryFromStream(...)) when it
 *          finished normally, or lookup.abandon() on any failure; header x-sluice-cache: lookup.status
 *
 * Semantic (route opt-in, after an exact miss): semantic.probe(input, embed) → semantic.find(probe,
 * threshold) → on a miss, after storing the answer, semantic.record(probe, key, policy.ttlSeconds).
 */
export { createCache, type CacheServices, type CreateCacheOptions } from './create.ts';
export { cacheKey, isCacheable } from './key.ts';
export { cacheScope, parseCacheHeaders, resolveCachePolicy, type CachePolicy, type CacheStatus } from './policy.ts';
export { completionOf, entryFromCompletion, entryFromJson, entryFromStream, type CachedResponse, type EntryMeta } from './entry.ts';
export { cacheLookup, type CacheHit, type CacheLookup, type CacheMiss } from './lookup.ts';
export { completionToChunks, replayJson, replaySse } from './replay.ts';
export { ResponseCache, type CacheStats } from './response-cache.ts';
export { SemanticCache, type EmbedFn, type SemanticInput, type SemanticProbe } from './semantic.ts';
export { SingleFlight } from './single-flight.ts';
