import { cacheKey, cacheLookup, cacheScope, resolveCachePolicy, type CacheLookup, type CacheServices } from '../cache/index.ts';
import type { CallTracker } from '../calls/tracker.ts';
import type { CacheDefaults, RouteCacheConfig } from '../config/routes-schema.ts';
import type { CallInput } from './call-input.ts';
import type { ChatPlan } from './chat-call.ts';

export interface ChatCacheDeps {
  cache: CacheServices;
  cacheDefaults: CacheDefaults;
  /** A route's `cache:` block. */
  routeCache(route: string): RouteCacheConfig | undefined;
}

/**
 * The cache step of a chat call: policy from route config, request headers and defaults; key
 * from what determines the answer; lookup in memory, then a concurrent identical call, then
 * the shared tier. Sets `x-sluice-cache` and the record's cache status.
 */
export async function lookupChatCache(
  plan: ChatPlan,
  call: CallTracker,
  input: CallInput,
  deps: ChatCacheDeps,
): Promise<CacheLookup> {
  const routeName = plan.route?.route;
  const routeCache = routeName ? deps.routeCache(routeName) : undefined;
  const policy = resolveCachePolicy({ route: routeCache, defaults: deps.cacheDefaults, request: plan.req, header: input.header });
  const primary = plan.targets[0]!;
  const key = cacheKey({
    provider: primary.provider.name,
    model: primary.model,
    request: plan.req,
    scope: cacheScope(policy, { route: routeName, keyId: call.record.apiKeyId }),
  });
  const lookup = await cacheLookup(deps.cache, key, policy);
  plan.headers['x-sluice-cache'] = lookup.status;
  call.record.cacheStatus = lookup.status;
  return lookup;
}
