import { hostname } from 'node:os';
import type { Database } from '../gateway/db/client.ts';
import type { Logger } from '../gateway/logger.ts';
import type { PromptStore } from '../prompts/index.ts';
import type { GatewayClient } from './gateway-client.ts';
import { isOnlineJob } from './online/judge-job.ts';
import { executeOnlineRun } from './online/judge-run.ts';
import type { EvalQueue } from './queue/types.ts';
import type { Progress } from './run/progress.ts';
import { getRun } from './run/store.ts';
import { executeRun } from './runner.ts';
import { queueDueRuns, syncSchedules, type ScheduleSpec } from './schedule/schedules.ts';

/**
 * `sluice worker`: takes queued runs (API-submitted and scheduled) from the queue and runs them
 * through the gateway client, while ticking the schedules. Any number of workers, on any
 * machines, can share one database.
 */
export interface WorkerOptions {
  database: Database;
  queue: EvalQueue;
  client: GatewayClient;
  prompts?: PromptStore;
  logger: Logger;
  concurrency: number;
  schedules: readonly ScheduleSpec[];
  /** Schedule tick period; default 30 s. */
  tickMs?: number;
  pollMs?: number;
  now?: () => number;
}

export interface RunningWorker {
  id: string;
  /** Queues due scheduled runs now (the timer does this every tick). */
  tick(): Promise<string[]>;
  stop(): Promise<void>;
}

function logProgress(logger: Logger, runId: string): Progress {
  let total = 0;
  let done = 0;
  let lastDecile = -1;
  return {
    start(t, label) {
      total = t;
      logger.info('eval run started', { run_id: runId, job: label, units: t });
    },
    tick(n = 1) {
      done += n;
      const decile = total ? Math.floor((done / total) * 10) : 10;
      if (decile > lastDecile && decile < 10) {
        lastDecile = decile;
        logger.info('eval run progress', { run_id: runId, done, total });
      }
    },
    done() {},
  };
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const id = `${hostname()}:${process.pid}`;
  const now = opts.now ?? Date.now;
  await syncSchedules(opts.database, opts.schedules, new Date(now()));
  const tick = async (): Promise<string[]> => {
    const ids = await queueDueRuns(opts.database, new Date(now()));
    for (const runId of ids) {
      opts.logger.info('scheduled eval run queued', { run_id: runId });
      await opts.queue.submit(runId);
    }
    return ids;
  };
  const handle = async (runId: string): Promise<void> => {
    // Online scoring jobs (judge scorers of sampled calls, evals/online) share the queue.
    const row = await getRun(opts.database, runId);
    if (row && isOnlineJob(row)) {
      await executeOnlineRun(runId, { database: opts.database, client: opts.client, logger: opts.logger });
      return;
    }
    const out = await executeRun(runId, {
      database: opts.database,
      client: opts.client,
      progress: logProgress(opts.logger, runId),
      ...(opts.prompts ? { prompts: opts.prompts } : {}),
    });
    if (out.status === 'failed') opts.logger.warn('eval run failed', { run_id: runId, error: out.error });
    else opts.logger.info('eval run finished', { run_id: runId, regression: out.summary?.regression ?? false, gate: out.summary?.gate?.verdict ?? null });
  };
  await opts.queue.work(handle, { worker: id, concurrency: opts.concurrency, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) });
  const timer = setInterval(() => void tick().catch((err: unknown) => opts.logger.warn('schedule tick failed', { err: String(err) })), opts.tickMs ?? 30_000);
  void tick().catch(() => {});
  opts.logger.info('eval worker started', { worker: id, queue: opts.queue.kind, concurrency: opts.concurrency, schedules: opts.schedules.length });
  return {
    id,
    tick,
    async stop() {
      clearInterval(timer);
      await opts.queue.stop();
    },
  };
}
