import type { Database } from '../gateway/db/client.ts';
import type { FromLogsSpec } from './job.ts';
import { runJob, type RunnerDeps, type RunOutcome } from './runner.ts';

/**
 * Online scoring (issue 10 §4): score a deterministic sample of production calls — by route,
 * variant, prompt version and time window — with the context the gateway recorded, and attach
 * each score to its call in `call_scores` (source `eval`, one row per call and scorer, replaced
 * by a later run), the table `POST /api/feedback` writes too. It is an ordinary job with
 * `mode: online` and `dataset: {from_logs: …}`, so it can be scheduled and queued like any
 * other; this helper builds one.
 */
export interface OnlineSpec {
  name: string;
  from_logs: Omit<FromLogsSpec, 'replay'> & { replay?: false };
  scorers: unknown[];
  judge?: string;
  concurrency?: number;
  seed?: number;
}

export function onlineJob(spec: OnlineSpec): Record<string, unknown> {
  return {
    name: spec.name,
    mode: 'online',
    dataset: { from_logs: { ...spec.from_logs, replay: false } },
    scorers: spec.scorers,
    ...(spec.judge ? { judge: spec.judge } : {}),
    ...(spec.concurrency ? { concurrency: spec.concurrency } : {}),
    ...(spec.seed !== undefined ? { seed: spec.seed } : {}),
  };
}

export function scoreProductionCalls(spec: OnlineSpec, deps: RunnerDeps & { database: Database }): Promise<RunOutcome> {
  return runJob(onlineJob(spec), deps, 'online');
}
