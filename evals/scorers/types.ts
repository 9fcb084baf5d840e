import type { z } from 'zod';
import type { EvalItem } from '../datasets/item.ts';

/** What a scorer sees for one (item, target) pair. */
export interface ScoreInput {
  item: EvalItem;
  /** The text being scored: the model's answer, or the item's own `output`. */
  output: string;
  /** The last user turn (or `input`), when there is one. */
  question: string | null;
  /** The item's context joined into one text, when it has one. */
  context: string | null;
  /** Wall time of the call that produced `output` (or the item's `latency_ms`). */
  latencyMs: number | null;
  /** Cost of that call in USD (or the item's `cost_usd`); null = unknown. */
  costUsd: number | null;
}

/** A number in [0, 1], higher is better, or null with a reason (DESIGN §6). */
export interface ScoreResult {
  score: number | null;
  reason?: string | undefined;
  details?: Record<string, unknown> | undefined;
  /** `name@version` of the judge prompt (judge scorers). */
  judgePromptVersion?: string | undefined;
  judgeModel?: string | undefined;
}

/** One judge call made through the gateway (see judge.ts). */
export interface JudgeReply {
  text: string;
  promptVersion: string | null;
  model: string;
  callId: string | null;
}

export interface JudgeRequest {
  prompt: JudgePromptName;
  model: string;
  variables: Record<string, string>;
}

export type JudgePromptName = 'sluice-judge-faithfulness' | 'sluice-judge-hallucination';

/** Services a scorer may use; absent when the run has no gateway (then model scorers give null). */
export interface ScorerContext {
  judge: ((req: JudgeRequest) => Promise<JudgeReply>) | null;
  /** Re-asks the target `n` more times (seeded, at `temperature`); null for score-only items. */
  sample: ((n: number, temperature: number) => Promise<string[]>) | null;
}

export interface Scorer<S extends z.ZodType = z.ZodType> {
  name: string;
  /** Options of `{name: <scorer>, …}` in a job; strict, so a typo fails the job with its path. */
  options: S;
  /** `judge` and `sampling` scorers call models; `deterministic` ones never do. */
  kind: 'deterministic' | 'judge' | 'sampling';
  score(input: ScoreInput, options: z.output<S>, ctx: ScorerContext): ScoreResult | Promise<ScoreResult>;
}

/** Identity helper that keeps each scorer's option type attached to its score function. */
export function defineScorer<S extends z.ZodType>(scorer: Scorer<S>): Scorer<S> {
  return scorer;
}

export const notApplicable = (reason: string): ScoreResult => ({ score: null, reason });
