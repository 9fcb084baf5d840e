import { inPhase } from './phase.ts';
import {
  cacheKey,
  cacheLookup,
  cacheScope,
  resolveCachePolicy,
  type CacheLookup,
  type CacheMiss,
  type CachePolicy,
  type CacheServices,
} from '../cache/index.ts';
import type { EmbedFn } from '../rag/index.ts';
import { passThroughBody } from '../providers/types.ts';
import type { CallTracker } from '../calls/tracker.ts';
import type { CacheDefaults, RouteCacheConfig } from '../config/routes-schema.ts';
import type { CallInput } from './call-input.ts';
import type { ChatPlan } from './chat-plan.ts';

export interface ChatCacheDeps {
  cache: CacheServices;
  cacheDefaults: CacheDefaults;
  /** A route's `cache:` block. */
  routeCache(route: string): RouteCacheConfig | undefined;
  /** Embeddings through the gateway's providers (semantic cache). */
  embed: EmbedFn;
}

/**
 * The cache step of a chat call: policy from route config, request headers and defaults; key
 * from what determines the answer; lookup in memory, then a concurrent identical call, then
 * the shared tier. Sets `x-sluice-cache` and the record's cache status.
 *
 * In two parts: the policy and the key (hashing the request: CPU only, no I/O) are worked out
 * at once, and the returned function looks up. So the key can be hashed while the call's rate
 * limits are asked (a round trip to the shared store), and a refused call still looks up nothing.
 */
export function prepareChatCache(plan: ChatPlan, call: CallTracker, input: CallInput, deps: ChatCacheDeps): () => Promise<CacheLookup> {
  const routeName = plan.route?.route;
  const routeCache = routeName ? deps.routeCache(routeName) : undefined;
  const policy = resolveCachePolicy({ route: routeCache, defaults: deps.cacheDefaults, request: plan.req, header: input.header });
  const primary = plan.targets[0]!;
  // The key hashes the body the primary target is sent: a pass-through keeps fields (top_k,
  // thinking, …) the chat translation has no place for, and they change the answer.
  const own = passThroughBody(primary.provider, plan.upstream);
  const key = cacheKey({
    provider: primary.provider.name,
    model: primary.model,
    request: own ?? plan.req,
    format: own ? plan.upstream.native?.format : undefined,
    scope: cacheScope(policy, { route: routeName, keyId: call.record.apiKeyId }),
  });
  const find = async (): Promise<CacheLookup> => {
    const exact = await cacheLookup(deps.cache, key, policy);
    return exact.status === 'miss' && policy.semantic && routeName ? semanticLookup(exact, key, plan, call, deps, policy, routeName) : exact;
  };
  return async () => {
    // A bypassed lookup touches no tier: no span for it.
    const lookup = !policy.read ? await find() : await inPhase(call, 'cache', find, (r) => ({ 'sluice.cache': r.status }));
    call.setCacheStatus(lookup.status);
    return lookup;
  };
}

/**
 * After an exact miss on a route that opts in: reuse an answer to a near-identical last user
 * turn (same system prompt, history, tools and parameters), and remember this one once stored.
 */
async function semanticLookup(
  miss: CacheMiss,
  key: string,
  plan: ChatPlan,
  call: CallTracker,
  deps: ChatCacheDeps,
  policy: CachePolicy,
  route: string,
): Promise<CacheLookup> {
  const semantic = policy.semantic!;
  const primary = plan.targets[0]!;
  const embed = (text: string) => deps.embed([text], { target: semantic.embeddings }).then((v) => v[0]!);
  const probe = await deps.cache.semantic.probe(
    {
      provider: primary.provider.name,
      model: primary.model,
      request: plan.req,
      route,
      promptVersion: call.record.promptName ? `${call.record.promptName}@${call.record.promptVersion}` : null,
      scope: cacheScope(policy, { route, keyId: call.record.apiKeyId }),
    },
    embed,
  );
  if (!probe) return miss;
  const hit = await deps.cache.semantic.find(probe, semantic.threshold);
  if (hit) {
    miss.abandon();
    return { status: 'hit', entry: hit.entry, source: 'shared' };
  }
  return {
    status: miss.status,
    complete(entry) {
      miss.complete(entry);
      if (entry && policy.write) deps.cache.semantic.record(probe, key, policy.ttlSeconds);
    },
    abandon: () => miss.abandon(),
  };
}
