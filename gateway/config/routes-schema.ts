import { z } from 'zod';

/**
 * `routes:` and the cache/retriever sections of sluice.config.yaml (DESIGN §3). Cross-section
 * references (targets → providers, prompts, retrievers) are checked by config/load.ts.
 */
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must match [A-Za-z0-9][A-Za-z0-9._-]*');
/** `provider/model`. */
const targetRef = z.string().regex(/^[^/\s]+\/\S+$/, 'must be provider/model');
/** `name@label` or `name@3`. */
export const promptRef = z.string().regex(/^[a-z0-9][a-z0-9._-]*(@[a-z0-9][a-z0-9._-]*)?$/, 'must be name@label or name@version');

export const cacheModes = ['on', 'off', 'read_only', 'write_only'] as const;

export const routeCacheSchema = z
  .object({
    mode: z.enum(cacheModes).default('on'),
    /** Seconds. */
    ttl: z.number().int().positive().optional(),
    /** Entries shared by everyone (global), or kept apart per gateway key or per route. */
    scope: z.enum(['global', 'key', 'route']).default('route'),
    semantic: z
      .object({
        embeddings: targetRef,
        threshold: z.number().min(0).max(1).default(0.95),
      })
      .strict()
      .optional(),
  })
  .strict();

export const weightedTarget = z.object({ target: targetRef, weight: z.number().nonnegative().default(1) }).strict();

export const variantSchema = z
  .object({
    name,
    /** One target, or several to spread the variant's traffic over. */
    target: z.union([targetRef, z.array(weightedTarget).min(1)]),
    balance: z.enum(['weighted', 'least_in_flight']).default('weighted'),
    prompt: promptRef.optional(),
    /** Request defaults; the request's own fields win. */
    params: z.record(z.string(), z.unknown()).default({}),
    weight: z.number().nonnegative().default(1),
  })
  .strict();

export const routeRagSchema = z
  .object({
    retriever: name,
    top_k: z.number().int().positive().max(100).default(4),
    min_score: z.number().optional(),
    token_budget: z.number().int().positive().optional(),
    /** Query template; `{{query}}` is the last user turn. Default: the last user turn. */
    query: z.string().optional(),
    before: z.array(name).default([]),
    after: z.array(name).default([]),
  })
  .strict();

export const routeSchema = z
  .object({
    variants: z.array(variantSchema).min(1),
    /** Which variant is the control for stats and autopilot; default: the first. */
    control: name.optional(),
    shadow: z
      .object({ target: targetRef, prompt: promptRef.optional(), sample: z.number().min(0).max(1).default(0.05) })
      .strict()
      .optional(),
    fallbacks: z.array(targetRef).default([]),
    sticky_by: z.enum(['user', 'subject', 'none']).default('user'),
    rag: routeRagSchema.optional(),
    cache: routeCacheSchema.optional(),
    /**
     * Score a sample of this route's calls as they finish (DESIGN §4.6). The scorers are checked
     * (names and options) by the eval extension at start: gateway/ does not know them.
     */
    online_scoring: z
      .object({
        sample: z.number().gt(0).max(1),
        scorers: z.array(z.union([z.string().min(1), z.looseObject({ name: z.string().min(1) })])).min(1).max(20),
      })
      .strict()
      .optional(),
    /**
     * Which of this route's calls keep their request/response bodies in the call log (issue 20):
     * all (`full`, the default), a share (`{ sample: 0.1 }`, drawn from the call id), or none
     * (`metadata`: the calls row only). Off for every route when `logging.payloads` is false.
     */
    payloads: z.union([z.enum(['full', 'metadata']), z.object({ sample: z.number().gt(0).max(1) }).strict()]).optional(),
    circuit_breaker: z
      .object({
        failures: z.number().int().positive().default(5),
        cooldown_ms: z.number().int().positive().default(30_000),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((route, ctx) => {
    const seen = new Set<string>();
    route.variants.forEach((v, i) => {
      if (seen.has(v.name)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'name'], message: `duplicate variant name "${v.name}"` });
      seen.add(v.name);
    });
    if (route.variants.every((v) => v.weight === 0)) {
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'at least one variant needs a weight above 0' });
    }
    if (route.control && !seen.has(route.control)) {
      ctx.addIssue({ code: 'custom', path: ['control'], message: `no variant named "${route.control}"` });
    }
  });

/** Top-level `cache:` defaults for requests that no route configures. */
export const cacheDefaultsSchema = z
  .object({
    /** auto: cache requests with temperature 0 or a seed; on: all; off: none. */
    default: z.enum(['auto', 'on', 'off']).default('auto'),
    ttl: z.number().int().positive().default(3600),
    memory_bytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** Shared tier: Postgres table (default) or Redis when REDIS_URL is set. */
    shared: z.enum(['auto', 'postgres', 'redis', 'none']).default('auto'),
  })
  .strict();

export type RouteConfig = z.output<typeof routeSchema>;
export type VariantConfig = z.output<typeof variantSchema>;
export type RouteCacheConfig = z.output<typeof routeCacheSchema>;
export type CacheDefaults = z.output<typeof cacheDefaultsSchema>;
export type RouteRagConfig = z.output<typeof routeRagSchema>;
