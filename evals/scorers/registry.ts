import type { z } from 'zod';
import { costScorer, latencyScorer } from './budget.ts';
import { groundednessScorer } from './groundedness.ts';
import { jsonSchemaScorer } from './json-schema.ts';
import { faithfulnessScorer, hallucinationScorer } from './judges.ts';
import { containsScorer, exactScorer, regexScorer } from './match.ts';
import { selfConsistencyScorer } from './self-consistency.ts';
import type { Scorer } from './types.ts';

/** Every built-in scorer by the name a job uses (DESIGN §6). */
export const scorerRegistry = {
  exact: exactScorer,
  contains: containsScorer,
  regex: regexScorer,
  json_schema: jsonSchemaScorer,
  latency: latencyScorer,
  cost: costScorer,
  groundedness: groundednessScorer,
  faithfulness: faithfulnessScorer,
  hallucination: hallucinationScorer,
  self_consistency: selfConsistencyScorer,
} as const;

export type ScorerName = keyof typeof scorerRegistry;
export const SCORER_NAMES = Object.keys(scorerRegistry) as ScorerName[];

export function isScorerName(name: string): name is ScorerName {
  return Object.hasOwn(scorerRegistry, name);
}

/** A scorer with its options erased (options are validated by its own schema first). */
export function scorerFor(name: ScorerName): Scorer<z.ZodType> {
  return scorerRegistry[name] as unknown as Scorer<z.ZodType>;
}
