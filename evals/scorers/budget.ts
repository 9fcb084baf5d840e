import { z } from 'zod';
import { defineScorer, notApplicable } from './types.ts';

/**
 * Latency and cost as scores in [0, 1], higher is better: score = 1 / (1 + x / budget). At
 * x = 0 the score is 1, at the budget 0.5, at 3× the budget 0.25; it never reaches 0 and is
 * monotone, so means and paired tests stay meaningful. Defaults: 2,000 ms and $0.001 a call.
 * The raw value is kept in `details`. Cost is what producing the answer costs: on a cache hit,
 * the original call's price (header x-sluice-cost-saved-usd), not the free hit.
 */
export const budgetScore = (x: number, budget: number): number => 1 / (1 + Math.max(0, x) / budget);

export const latencyScorer = defineScorer({
  name: 'latency',
  kind: 'deterministic',
  options: z.strictObject({ budget_ms: z.number().positive().default(2000) }).default({ budget_ms: 2000 }),
  score(input, opts) {
    if (input.latencyMs === null) return notApplicable('no latency (score-only item without latency_ms)');
    return { score: budgetScore(input.latencyMs, opts.budget_ms), details: { latency_ms: input.latencyMs, budget_ms: opts.budget_ms } };
  },
});

export const costScorer = defineScorer({
  name: 'cost',
  kind: 'deterministic',
  options: z.strictObject({ budget_usd: z.number().positive().default(0.001) }).default({ budget_usd: 0.001 }),
  score(input, opts) {
    if (input.costUsd === null) return notApplicable('cost unknown (unpriced model, a cache hit whose original cost is not reported, or a score-only item without cost_usd)');
    return { score: budgetScore(input.costUsd, opts.budget_usd), details: { cost_usd: input.costUsd, budget_usd: opts.budget_usd } };
  },
});
