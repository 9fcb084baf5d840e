import type { CacheDefaults, RouteCacheConfig } from '../config/routes-schema.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { isCacheable } from './key.ts';

/** The `x-sluice-cache` response header. */
export type CacheStatus = 'hit' | 'miss' | 'bypass';

/** What the cache may do for one request. */
export interface CachePolicy {
  /** Look the answer up (exact, then semantic when configured). */
  read: boolean;
  /** Store a successful, complete answer. */
  write: boolean;
  ttlSeconds: number;
  /** How entries are kept apart; turn into a key scope with `cacheScope`. */
  scope: 'global' | 'key' | 'route';
  /**
   * The `x-sluice-cache` value when the cache did not answer: `miss` when it was looked up,
   * `bypass` when it was not (off, write-only, or the client said no-cache/no-store/refresh).
   */
  status: 'miss' | 'bypass';
  /** Semantic lookup settings when the route opts in. */
  semantic: RouteCacheConfig['semantic'];
}

/** Values of the `x-sluice-cache` request header. */
export const cacheDirectives = ['default', 'no-cache', 'no-store', 'refresh'] as const;
export type CacheDirective = (typeof cacheDirectives)[number];

export interface CacheHeaders {
  directive: CacheDirective;
  ttlSeconds: number | undefined;
}

/** Parses `x-sluice-cache` and `x-sluice-cache-ttl`; a bad value is a 400 naming the header. */
export function parseCacheHeaders(header: (name: string) => string | undefined): CacheHeaders {
  const rawDirective = header('x-sluice-cache');
  let directive: CacheDirective = 'default';
  if (rawDirective !== undefined) {
    const value = rawDirective.trim().toLowerCase();
    if (!(cacheDirectives as readonly string[]).includes(value)) {
      throw new GatewayError('invalid_request', `x-sluice-cache must be one of ${cacheDirectives.join(', ')}; got '${rawDirective}'`, {
        param: 'x-sluice-cache',
      });
    }
    directive = value as CacheDirective;
  }
  const rawTtl = header('x-sluice-cache-ttl');
  let ttlSeconds: number | undefined;
  if (rawTtl !== undefined) {
    const value = rawTtl.trim();
    ttlSeconds = /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(ttlSeconds)) {
      throw new GatewayError('invalid_request', `x-sluice-cache-ttl must be a positive whole number of seconds; got '${rawTtl}'`, {
        param: 'x-sluice-cache-ttl',
      });
    }
  }
  return { directive, ttlSeconds };
}

export interface CachePolicyInput {
  /** The route's `cache:` block; undefined when the request hit no route or the route has none. */
  route?: RouteCacheConfig | undefined;
  defaults: CacheDefaults;
  /** The chat request (for the `auto` default: temperature 0 or a seed). */
  request: Record<string, unknown>;
  header(name: string): string | undefined;
}

/**
 * Combines route config, request headers and defaults. The route (or the default) decides
 * what is allowed; the client's header can only narrow it, never turn caching on where the
 * operator turned it off:
 *
 * | route mode / default | read | write |      | header   | read | write     |
 * |----------------------|------|-------|      |----------|------|-----------|
 * | on                   | yes  | yes   |      | default  | as is| as is     |
 * | off                  | no   | no    |      | no-cache | no   | as is     |
 * | read_only            | yes  | no    |      | refresh  | no   | as is     |
 * | write_only           | no   | yes   |      | no-store | no   | no        |
 * | (no route) auto      | cacheable request only (temperature 0 or a seed) |
 *
 * `no-cache` and `refresh` have the same effect (skip the lookup, store the new answer);
 * both names exist because clients reach for both. Headers are validated even when the cache
 * is off, so a typo is a 400 and not silently ignored.
 */
export function resolveCachePolicy(input: CachePolicyInput): CachePolicy {
  const headers = parseCacheHeaders(input.header);
  let read: boolean;
  let write: boolean;
  if (input.route) {
    read = input.route.mode === 'on' || input.route.mode === 'read_only';
    write = input.route.mode === 'on' || input.route.mode === 'write_only';
  } else {
    read = write = isCacheable(input.request, input.defaults);
  }
  switch (headers.directive) {
    case 'default':
      break;
    case 'no-cache':
    case 'refresh':
      read = false;
      break;
    case 'no-store':
      read = false;
      write = false;
      break;
  }
  return {
    read,
    write,
    ttlSeconds: headers.ttlSeconds ?? input.route?.ttl ?? input.defaults.ttl,
    scope: input.route?.scope ?? 'global',
    status: read ? 'miss' : 'bypass',
    semantic: input.route?.semantic,
  };
}

/**
 * The `scope` argument of `cacheKey` for a policy: `route:<name>`, `key:<api key id>`, or
 * undefined (global). A route-scoped request without a route name falls back to global.
 */
export function cacheScope(policy: Pick<CachePolicy, 'scope'>, ids: { route?: string | null | undefined; keyId?: string | null | undefined }): string | undefined {
  switch (policy.scope) {
    case 'global':
      return undefined;
    case 'route':
      return ids.route ? `route:${ids.route}` : undefined;
    case 'key':
      // No key (an env admin key has no id): keep it apart from every stored key's entries.
      return `key:${ids.keyId ?? '-'}`;
  }
}
