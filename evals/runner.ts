import type { Database } from '../gateway/db/client.ts';
import type { PromptStore } from '../prompts/index.ts';
import { resolveDataset } from './datasets.ts';
import type { GatewayClient } from './gateway-client.ts';
import { parseJob, type Job } from './job.ts';
import { gatewayJudge } from './run/judge-client.ts';
import { runPool } from './run/pool.ts';
import { silentProgress, type Progress } from './run/progress.ts';
import { recordedContextReader } from './run/recorded-context.ts';
import { itemResults, scoreTable, type ItemResult } from './run/results.ts';
import type { RetryOptions } from './run/retry.ts';
import { doneUnits, getRun, heartbeat, insertRun, runScores, saveUnitResults, updateRun } from './run/store.ts';
import { DATASET_TARGET, runUnit, type Unit, type UnitResult } from './run/unit.ts';
import { compareTargets, type RunSummary } from './stats/compare.ts';

/**
 * Runs an eval job (issue 10 §2): resolve the dataset, send every item to every target through
 * the gateway with bounded concurrency (items that carry `output` are scored as they are, with
 * no call), score, store each score, then compare the targets. A run row that a crashed worker
 * left behind resumes: units already scored are skipped.
 */
export interface EvalSummary extends RunSummary {
  job: string;
  dataset: { name: string; version: string; items: number };
  counts: { units: number; failed_units: number; scores: number; null_scores: number };
  duration_ms: number;
}

export interface RunOutcome {
  runId: string;
  status: 'succeeded' | 'failed';
  summary: EvalSummary | null;
  items: ItemResult[];
  error: string | null;
}

export interface RunnerDeps {
  database: Database;
  /** Null: score-only (items must carry `output`; judge and sampling scorers give null). */
  client: GatewayClient | null;
  progress?: Progress;
  /** Wall clock (ms). */
  now?: () => number;
  /** Lets a from_logs replay strip the rendered prompt from logged requests. */
  prompts?: PromptStore;
  retry?: RetryOptions;
  /** Heartbeat period while running (ms). */
  heartbeatMs?: number;
}

const FLUSH_UNITS = 20;

/** Validates a job and queues it; returns the run id. */
export async function submitRun(database: Database, rawJob: unknown, trigger: string): Promise<string> {
  const { job } = parseJob(rawJob);
  return insertRun(database, { name: job.name, job: rawJob as Record<string, unknown>, mode: job.mode, trigger, status: 'queued' });
}

/** Runs a job now, in this process (the CLI). */
export async function runJob(rawJob: unknown, deps: RunnerDeps, trigger = 'cli'): Promise<RunOutcome> {
  const { job } = parseJob(rawJob);
  const id = await insertRun(deps.database, { name: job.name, job: rawJob as Record<string, unknown>, mode: job.mode, trigger, status: 'running', worker: `${trigger}:${process.pid}` });
  return executeRun(id, deps);
}

export function defaultBaseline(job: Job): string | null {
  return job.baseline ?? (job.targets.length >= 2 ? job.targets[0]!.name : null);
}

/** Executes a run whose row this process owns (status `running`). */
export async function executeRun(runId: string, deps: RunnerDeps): Promise<RunOutcome> {
  const { database } = deps;
  const now = deps.now ?? Date.now;
  const progress = deps.progress ?? silentProgress;
  const started = now();
  const row = await getRun(database, runId);
  if (!row) throw new Error(`no eval run ${runId}`);
  let beat: NodeJS.Timeout | undefined;
  try {
    const { job, scorers } = parseJob(row.job);
    const prompts = deps.prompts;
    const dataset = await resolveDataset(database, job.dataset, job.name, {
      seed: job.seed,
      now,
      ...(prompts ? { promptMessageCount: async (name: string, v: number) => (await prompts.getVersion(name, v).catch(() => null))?.messages.length ?? null } : {}),
    });
    await updateRun(database, runId, { datasetName: dataset.name, datasetVersion: dataset.version });

    const units: Unit[] = [];
    dataset.items.forEach((item, position) => {
      if (item.output !== undefined) units.push({ item, position, target: null });
      else if (job.targets.length === 0) throw new Error(`item '${item.item_id}' has no output and the job has no targets`);
      else for (const target of job.targets) units.push({ item, position, target });
    });

    const done = await doneUnits(database, runId);
    const todo = units.filter((u) => !done.has(`${u.target?.name ?? DATASET_TARGET}\u0000${u.item.item_id}`));
    const total = units.length;
    let finished = total - todo.length;
    progress.start(total, job.name);
    if (finished) progress.tick(finished);
    beat = setInterval(() => void heartbeat(database, runId, { done: finished, total }).catch(() => {}), deps.heartbeatMs ?? 2_000);
    beat.unref();

    const judge = deps.client ? gatewayJudge(deps.client, { runId, seed: job.seed, ...(deps.retry ? { retry: deps.retry } : {}) }) : null;
    let buffer: UnitResult[] = [];
    let writing: Promise<void> = Promise.resolve();
    const flush = (): Promise<void> => {
      const batch = buffer;
      buffer = [];
      writing = writing.then(() => saveUnitResults(database, runId, batch, job.mode === 'online'));
      return writing;
    };
    const unitDeps = {
      runId,
      seed: job.seed,
      temperature: job.temperature,
      client: deps.client,
      judge,
      scorers,
      recordedContext: recordedContextReader(database),
      ...(deps.retry ? { retry: deps.retry } : {}),
    };
    await runPool(todo, job.concurrency, async (unit) => {
      buffer.push(await runUnit(unit, unitDeps));
      finished++;
      progress.tick();
      if (buffer.length >= FLUSH_UNITS) await flush();
    });
    await flush();

    const rows = await runScores(database, runId);
    const perUnit = new Map<string, { output: string | null; target: string }>();
    for (const r of rows) perUnit.set(`${r.target}\u0000${r.itemId}`, { output: r.output, target: r.target });
    const failed = [...perUnit.values()].filter((u) => u.output === null && u.target !== DATASET_TARGET).length;
    const calledUnits = [...perUnit.values()].filter((u) => u.target !== DATASET_TARGET).length;
    if (calledUnits > 0 && failed === calledUnits) {
      const reason = rows.find((r) => r.output === null)?.reason ?? 'unknown error';
      throw new Error(`every target call failed (${reason})`);
    }
    const order = { targets: [DATASET_TARGET, ...job.targets.map((t) => t.name)], scorers: scorers.map((s) => s.key) };
    const comparison = compareTargets(scoreTable(rows, order), {
      candidates: job.targets.map((t) => t.name), baseline: defaultBaseline(job), gate: job.gate ?? null, resamples: job.resamples, seed: job.seed });
    const summary: EvalSummary = {
      job: job.name,
      dataset: { name: dataset.name, version: dataset.version, items: dataset.items.length },
      ...comparison,
      counts: { units: perUnit.size, failed_units: failed, scores: rows.length, null_scores: rows.filter((r) => r.score === null).length },
      duration_ms: Math.round(now() - started),
    };
    await updateRun(database, runId, { status: 'succeeded', finishedAt: new Date(now()), summary: summary as unknown as Record<string, unknown>, progress: { done: total, total }, error: null });
    const items = itemResults(rows, { items: dataset.items.map((i) => i.item_id), ...order });
    return { runId, status: 'succeeded', summary, items, error: null };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await updateRun(database, runId, { status: 'failed', finishedAt: new Date(now()), error: message }).catch(() => {});
    return { runId, status: 'failed', summary: null, items: [], error: message };
  } finally {
    if (beat) clearInterval(beat);
    progress.done();
  }
}
