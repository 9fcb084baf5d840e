import { Hono } from 'hono';
import { z } from 'zod';
import type { Database } from '../../db/client.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { validate } from '../../pipeline/validate.ts';
import { UNITS } from '../../routing/assign.ts';
import { DEFAULT_BREAKER, type BreakerSnapshot } from '../../routing/breaker.ts';
import type { Router } from '../../routing/router.ts';
import { routeStats, type ScoreSource } from '../../routing/stats.ts';
import type { RouteWeightsStore } from '../../routing/weights-store.ts';
import type { AppEnv } from '../env.ts';
import { readJsonObject } from '../read-json.ts';

export interface RoutesApiDeps {
  router: Router;
  weights: RouteWeightsStore;
  database: Database;
  /** Wall clock, epoch ms (default window of the stats). */
  clock: () => number;
  /** Where eval scores live (default `call_scores(call_id, scorer, score)`). */
  scores?: ScoreSource;
}

const weightsBody = z.strictObject({
  weights: z.record(z.string(), z.number()).refine((w) => Object.keys(w).length > 0, 'name at least one variant'),
});

const statsQuery = z.strictObject({
  since: z.string().optional(),
  until: z.string().optional(),
  confidence: z.coerce.number().gt(0.5).lt(1).optional(),
});

const DAY = 86_400_000;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: DAY } as const;

/** ISO 8601, or a duration back from now (`30m`, `24h`, `7d`). */
function parseTime(value: string, now: number, param: string): Date {
  const rel = /^(\d{1,6})([mhd])$/.exec(value);
  const ms = rel ? now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS] : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new GatewayError('invalid_request', `Invalid value for '${param}': expected an ISO 8601 time or a duration like 24h or 7d.`, { param });
  }
  return new Date(ms);
}

/**
 * Admin API for routes (issue 6): list routes with their current weights and breaker state,
 * change weights at runtime (canary) or revert them, and per-variant stats. Mounted at
 * /api/routes behind admin auth.
 */
export function routesApi(deps: RoutesApiDeps): Hono<AppEnv> {
  const { router, weights } = deps;
  const app = new Hono<AppEnv>();

  const routeName = (name: string): string => {
    if (!router.get(name)) throw new GatewayError('not_found', `No route named '${name.slice(0, 200)}'.`, { param: 'name' });
    return name;
  };

  const view = (name: string, breakers: ReadonlyMap<string, BreakerSnapshot>) => {
    const r = router.get(name)!;
    const alloc = router.allocation(name)!;
    const meta = weights.meta(name);
    const breaker = (key: string) => {
      const b = breakers.get(key);
      return b ? { state: b.state, consecutive_failures: b.consecutive_failures, retry_in_ms: b.retry_in_ms } : null;
    };
    const policy = r.breaker ?? DEFAULT_BREAKER;
    return {
      object: 'route' as const,
      name,
      control: r.control,
      sticky_by: r.stickyBy,
      weights_source: alloc.source,
      updated_at: meta.updatedAt?.toISOString() ?? null,
      updated_by: meta.updatedBy,
      variants: r.variants.map((v, i) => ({
        name: v.name,
        config_weight: r.configWeights[i]!,
        weight: alloc.weights[i]!,
        share: alloc.units[i]! / UNITS,
        balance: v.balance,
        targets: v.targets.map((t, j) => ({ target: t.key, weight: v.weights[j]!, breaker: breaker(t.key) })),
        prompt: v.prompt,
        params: v.params,
      })),
      shadow: r.shadow && { target: r.shadow.target.key, prompt: r.shadow.prompt, sample: r.shadow.sample },
      fallbacks: r.fallbacks.map((t) => ({ target: t.key, breaker: breaker(t.key) })),
      circuit_breaker: { failures: policy.failures, cooldown_ms: policy.cooldownMs },
    };
  };
  const breakerMap = () => new Map(router.breakers().map((b) => [b.target, b]));

  app.get('/', (c) => {
    const breakers = breakerMap();
    return c.json({ object: 'list', data: router.routeNames().map((n) => view(n, breakers)) });
  });
  app.get('/:name', (c) => c.json(view(routeName(c.req.param('name')), breakerMap())));

  app.put('/:name/weights', async (c) => {
    const name = routeName(c.req.param('name'));
    const body = validate(weightsBody, await readJsonObject(c));
    const key = c.get('key');
    const change = await weights.setWeights(name, body.weights, key.id ?? key.name);
    return c.json({ object: 'route.weights', ...change });
  });
  app.delete('/:name/weights', async (c) => {
    const name = routeName(c.req.param('name'));
    const key = c.get('key');
    const change = await weights.resetWeights(name, key.id ?? key.name);
    return c.json({ object: 'route.weights', ...change });
  });

  app.get('/:name/stats', async (c) => {
    const name = routeName(c.req.param('name'));
    const q = validate(statsQuery, c.req.query());
    const now = deps.clock();
    const until = q.until ? parseTime(q.until, now, 'until') : new Date(now);
    const since = q.since ? parseTime(q.since, now, 'since') : new Date(until.getTime() - 7 * DAY);
    if (since.getTime() >= until.getTime()) {
      throw new GatewayError('invalid_request', `'since' must be before 'until'.`, { param: 'since' });
    }
    const r = router.get(name)!;
    const stats = await routeStats(deps.database, {
      route: name,
      variants: r.names,
      control: r.control,
      since,
      until,
      ...(q.confidence === undefined ? {} : { confidence: q.confidence }),
      ...(deps.scores ? { scores: deps.scores } : {}),
    });
    return c.json(stats);
  });

  return app;
}
