import { z } from 'zod';
import { GatewayError } from '../../gateway/errors/gateway-error.ts';
import { validate } from '../../gateway/pipeline/validate.ts';
import type { RolloutPlan } from './types.ts';

const channel = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must match [A-Za-z0-9][A-Za-z0-9._-]*').max(100);

const guard = z.strictObject({
  metric: z
    .string()
    .max(200)
    .regex(/^(score:[A-Za-z0-9_.-]+|error_rate|latency_p95_ms|cost_per_call_usd)$/, 'score:<scorer> | error_rate | latency_p95_ms | cost_per_call_usd'),
  max_drop: z.number().gt(0).lt(1).optional(),
  max_increase: z.number().min(0).lt(1).optional(),
  max_ratio: z.number().min(1).max(100).optional(),
});

/** The fields a route and a prompt label rollout share (DESIGN §4.6), with their defaults. */
const planFields = {
  steps: z
    .array(z.number().gt(0).max(100))
    .min(1)
    .max(20)
    .default([5, 25, 50, 100])
    .refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]!), 'steps must increase'),
  step_seconds: z.number().int().min(1).max(7 * 86_400).default(300),
  min_samples: z.number().int().min(1).max(1_000_000).default(100),
  confidence: z.number().gte(0.5).lt(1).default(0.95),
  guards: z
    .array(guard)
    .max(10)
    .default([{ metric: 'error_rate', max_increase: 0.02 }]),
  notify: z.array(channel).max(20).optional(),
};

export const routeRolloutBody = z.strictObject({ variant: z.string().min(1).max(200), ...planFields });
export const promptRolloutBody = z.strictObject({
  version: z.union([z.number().int().positive(), z.string().regex(/^[1-9][0-9]{0,8}$/, 'must be a version number')]).transform(Number),
  ...planFields,
});

/** Each guard names exactly the tolerance its metric takes. */
function checkGuards(plan: RolloutPlan): void {
  plan.guards.forEach((g, i) => {
    const want = g.metric.startsWith('score:') ? 'max_drop' : g.metric === 'error_rate' ? 'max_increase' : 'max_ratio';
    const given = (['max_drop', 'max_increase', 'max_ratio'] as const).filter((k) => g[k] !== undefined);
    if (given.length !== 1 || given[0] !== want) {
      throw new GatewayError('invalid_request', `Invalid value for 'guards.${i}': metric '${g.metric}' takes exactly '${want}'.`, { param: `guards.${i}` });
    }
  });
}

/** Parses a PUT body into the plan and what it rolls out (a variant name or a version number). */
export function parseRouteRollout(body: unknown): { variant: string; plan: RolloutPlan } {
  const { variant, ...plan } = validate(routeRolloutBody, body);
  checkGuards(plan);
  return { variant, plan };
}

export function parsePromptRollout(body: unknown): { version: number; plan: RolloutPlan } {
  const { version, ...plan } = validate(promptRolloutBody, body);
  checkGuards(plan);
  return { version, plan };
}
