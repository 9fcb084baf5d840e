import { z } from 'zod';
import type { EvalRunRow } from '../schema.ts';

/**
 * The job that scores sampled calls with scorers that call a model (DESIGN §4.6: "judge
 * scorers through the job queue"). It rides the eval queue as an `eval_runs` row (the queue of
 * record, evals/queue), told apart by its trigger, and carries only call ids and scorer specs:
 * the worker reads each call's request, answer and retrieved context back from the call log,
 * so a job stays a few kilobytes whatever the bodies weigh.
 */
export const ONLINE_JOB_TRIGGER = 'online-scoring';

/** `{name, as?, …options}` as a route's `online_scoring.scorers` names it (re-checked by the worker). */
export type ScorerSpec = { name: string } & Record<string, unknown>;

/** A model-calling scorer of a route: its key in `call_scores` and the spec the job carries. */
export interface QueuedScorer {
  key: string;
  spec: ScorerSpec;
}

export const MAX_JOB_CALLS = 500;

export const onlineJobSchema = z.strictObject({
  kind: z.literal('online_scoring'),
  route: z.string(),
  calls: z.array(z.uuid()).min(1).max(MAX_JOB_CALLS),
  scorers: z.array(z.looseObject({ name: z.string() })).min(1),
});
export type OnlineJob = z.output<typeof onlineJobSchema>;

/** What the worker leaves in the row's `summary` for the gateway that queued it (judge-enqueue.ts). */
export interface OnlineJobSummary {
  calls: number;
  /** Calls whose scores are all in `call_scores` (written now or by an earlier try). */
  scored: number;
  /** Calls that could not be scored: not in the call log, no answer, or the write failed. */
  failed: number;
}

export const isOnlineJob = (row: Pick<EvalRunRow, 'trigger'>): boolean => row.trigger === ONLINE_JOB_TRIGGER;

export function onlineJob(route: string, calls: readonly string[], scorers: readonly QueuedScorer[]): OnlineJob {
  return { kind: 'online_scoring', route, calls: [...calls], scorers: scorers.map((s) => s.spec) };
}
