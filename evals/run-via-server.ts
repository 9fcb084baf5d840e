import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServerRequestError, type ServerClient } from '../gateway/cli/server-client.ts';
import { DatasetError, parseJsonl } from './datasets/jsonl.ts';
import { JobError } from './job.ts';
import type { Progress } from './run/progress.ts';
import type { EvalSummary } from './runner.ts';

/**
 * `sluice eval run` while a server owns the embedded data directory: the job goes to
 * `POST /api/evals/runs` and the server's own worker runs it (gateway/cli/serve-command.ts),
 * so the run, its calls and its scores all land in the one database; the CLI polls until the
 * run is done and prints what a local run prints.
 */
export interface ServerRunOutcome {
  runId: string;
  status: 'succeeded' | 'failed';
  error: string | null;
  summary: EvalSummary | null;
  items: unknown[];
}

interface RunJson {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  error: string | null;
  summary: EvalSummary | null;
  progress: { done: number; total: number } | null;
}

/**
 * The server cannot read the CLI's files: a `dataset.path` is read here and sent as inline
 * items, each with its resolved id (its `id`, else its line number, DESIGN §6) and under the
 * name a path dataset gets, so results and dataset versions match a local run of the same file.
 */
export function inlineDataset(job: Record<string, unknown>): Record<string, unknown> {
  const ds = job.dataset as { path?: unknown; name?: unknown } | undefined;
  if (!ds || typeof ds.path !== 'string') return job;
  let text: string;
  try {
    text = readFileSync(ds.path, 'utf8');
  } catch (err) {
    throw new DatasetError(`cannot read dataset ${ds.path}: ${(err as Error).message}`);
  }
  const items = parseJsonl(text, basename(ds.path)).map(({ item_id, ...rest }) => ({ id: item_id, ...rest }));
  const name = typeof ds.name === 'string' ? ds.name : basename(ds.path, extname(ds.path));
  return { ...job, dataset: { items, name } };
}

/** Poll period; a run's progress is written by its heartbeat, so faster polling shows nothing new. */
const POLL_MS = 500;

export async function runViaServer(server: ServerClient, job: Record<string, unknown>, progress: Progress): Promise<ServerRunOutcome> {
  let id: string;
  try {
    ({ id } = await server.request<{ id: string }>('POST', '/api/evals/runs', { job: inlineDataset(job) }));
  } catch (err) {
    if (err instanceof ServerRequestError && err.status === 404) {
      throw new JobError(`${server.describe()} has no eval API (/api/evals): it was not started with \`sluice serve\``);
    }
    if (err instanceof ServerRequestError) throw new JobError(`${server.describe()} refused the job: ${err.message}`);
    throw err;
  }
  let started = false;
  let done = 0;
  for (;;) {
    const run = await server.request<RunJson>('GET', `/api/evals/runs/${id}`);
    if (run.progress && run.progress.total > 0) {
      if (!started) {
        progress.start(run.progress.total, String(job.name ?? 'eval'));
        started = true;
      }
      if (run.progress.done > done) {
        progress.tick(run.progress.done - done);
        done = run.progress.done;
      }
    }
    if (run.status === 'succeeded' || run.status === 'failed') {
      if (started) progress.done();
      if (run.status === 'failed' || !run.summary) return { runId: id, status: 'failed', error: run.error, summary: null, items: [] };
      const results = await server.request<{ items: unknown[] }>('GET', `/api/evals/runs/${id}/results`);
      return { runId: id, status: 'succeeded', error: null, summary: run.summary, items: results.items };
    }
    await sleep(POLL_MS);
  }
}
