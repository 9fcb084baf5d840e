import type { EvalRunRow } from '../schema.ts';

/** A run as the API shows it. */
export function runView(r: EvalRunRow) {
  return {
    id: r.id,
    object: 'eval.run' as const,
    name: r.name,
    status: r.status,
    mode: r.mode,
    trigger: r.trigger,
    dataset: r.datasetName === null ? null : { name: r.datasetName, version: r.datasetVersion },
    created_at: r.createdAt.toISOString(),
    started_at: r.startedAt?.toISOString() ?? null,
    finished_at: r.finishedAt?.toISOString() ?? null,
    progress: r.progress ?? null,
    worker: r.worker,
    error: r.error,
    summary: r.summary ?? null,
    job: r.job,
  };
}
