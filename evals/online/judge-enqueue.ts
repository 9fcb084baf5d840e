import { and, eq, inArray, lt } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../../gateway/db/client.ts';
import type { Logger } from '../../gateway/logger.ts';
import type { EvalQueue } from '../queue/types.ts';
import { evalRuns } from '../schema.ts';
import { MAX_JOB_CALLS, ONLINE_JOB_TRIGGER, onlineJob, type OnlineJobSummary, type QueuedScorer } from './judge-job.ts';

/**
 * The gateway's half of online judge scoring: sampled call ids are collected in memory (an
 * O(1) push on the call's finish) and handed to the job queue in batches — one job per route
 * per `flushMs`, or sooner once `maxBatch` calls wait — as `eval_runs` rows a worker claims.
 * The backlog is bounded in memory: calls waiting here plus calls in this gateway's jobs not
 * finished yet. Beyond `maxBacklog` a call is shed and counted (no worker running, or workers
 * behind): requests never wait and nothing grows. The same timer reaps this gateway's finished
 * jobs: their summaries feed the counters and the rows are deleted (they are plumbing, not
 * eval runs anyone reads later).
 */
export interface JudgeEnqueuerOptions {
  database: Pick<Database, 'db'>;
  queue: Pick<EvalQueue, 'submit'>;
  logger: Logger;
  /** Most calls per job (default 50). */
  maxBatch?: number;
  /** Longest a sampled call waits before its job is queued (default 1 s). */
  flushMs?: number;
  /** Most calls waiting here or in unfinished jobs of this gateway (default 1,000). */
  maxBacklog?: number;
  /** Finished online jobs older than this, left by a gateway that stopped, are deleted (default 10 min). */
  orphanAfterMs?: number;
}

export interface JudgeStats {
  judge_enqueued: number;
  judge_shed: number;
  judge_scored: number;
  judge_failed: number;
  /** Calls waiting to be queued or in this gateway's unfinished jobs. */
  judge_backlog: number;
}

export interface JudgeEnqueuer {
  /** Takes a sampled call (false: shed). Never blocks, never throws. */
  offer(callId: string, route: string, scorers: readonly QueuedScorer[]): boolean;
  stats(): JudgeStats;
  /** Queues what waits and reaps finished jobs now (the timer does this every `flushMs`). */
  tick(): Promise<void>;
  /** Queues what waits, then stops the timer; jobs already queued stay for the workers. */
  stop(): Promise<void>;
}

interface Batch {
  scorers: readonly QueuedScorer[];
  calls: string[];
}

export function startJudgeEnqueuer(opts: JudgeEnqueuerOptions): JudgeEnqueuer {
  const maxBatch = Math.min(opts.maxBatch ?? 50, MAX_JOB_CALLS);
  const flushMs = opts.flushMs ?? 1_000;
  const maxBacklog = opts.maxBacklog ?? 1_000;
  const orphanAfterMs = opts.orphanAfterMs ?? 600_000;
  const stats = { judge_enqueued: 0, judge_shed: 0, judge_scored: 0, judge_failed: 0 };
  const waiting = new Map<string, Batch>();
  let waitingCalls = 0;
  /** This gateway's jobs not reaped yet: id → calls. */
  const outstanding = new Map<string, number>();
  let outstandingCalls = 0;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let stopped = false;
  let lastOrphanSweep = 0;

  const arm = (ms: number) => {
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void tick();
    }, ms);
    timer.unref();
  };

  const tick = (): Promise<void> => {
    ticking ??= (async () => {
      try {
        await enqueue();
        await reap();
      } catch (err) {
        opts.logger.warn('online scoring: job queue tick failed', { err: String(err) });
      } finally {
        ticking = undefined;
      }
      if (waitingCalls > 0 || outstanding.size > 0) arm(waitingCalls >= maxBatch ? 0 : flushMs);
    })();
    return ticking;
  };

  async function enqueue(): Promise<void> {
    if (waitingCalls === 0) return;
    const jobs = [...waiting].flatMap(([route, batch]) => {
      const out = [];
      for (let i = 0; i < batch.calls.length; i += maxBatch) out.push(onlineJob(route, batch.calls.slice(i, i + maxBatch), batch.scorers));
      return out;
    });
    waiting.clear();
    waitingCalls = 0;
    const rows = jobs.map((job) => ({ id: uuidv7(), name: `online-scoring:${job.route}`, job, mode: 'online' as const, trigger: ONLINE_JOB_TRIGGER, status: 'queued' as const }));
    const total = jobs.reduce((n, j) => n + j.calls.length, 0);
    try {
      await opts.database.db.insert(evalRuns).values(rows);
    } catch (err) {
      stats.judge_failed += total;
      opts.logger.error('online scoring: judge jobs could not be queued', { calls: total, err: String(err) });
      return;
    }
    for (const row of rows) {
      outstanding.set(row.id, row.job.calls.length);
      outstandingCalls += row.job.calls.length;
    }
    stats.judge_enqueued += total;
    // The row is the queue of record; submit only wakes workers (a lost wake-up is swept).
    for (const row of rows) await opts.queue.submit(row.id).catch((err: unknown) => opts.logger.warn('online scoring: queue submit failed', { run_id: row.id, err: String(err) }));
  }

  async function reap(): Promise<void> {
    if (outstanding.size > 0) {
      const ids = [...outstanding.keys()];
      const finished = await opts.database.db
        .select({ id: evalRuns.id, status: evalRuns.status, summary: evalRuns.summary, error: evalRuns.error })
        .from(evalRuns)
        .where(and(inArray(evalRuns.id, ids), inArray(evalRuns.status, ['succeeded', 'failed'])));
      for (const row of finished) {
        const calls = outstanding.get(row.id) ?? 0;
        const summary = row.summary as Partial<OnlineJobSummary> | null;
        if (row.status === 'succeeded' && summary) {
          stats.judge_scored += summary.scored ?? 0;
          stats.judge_failed += summary.failed ?? 0;
        } else {
          stats.judge_failed += calls;
          opts.logger.warn('online scoring job failed', { run_id: row.id, calls, error: row.error });
        }
        outstanding.delete(row.id);
        outstandingCalls -= calls;
      }
      if (finished.length > 0) await opts.database.db.delete(evalRuns).where(inArray(evalRuns.id, finished.map((r) => r.id)));
    }
    if (Date.now() - lastOrphanSweep >= Math.min(60_000, orphanAfterMs)) {
      lastOrphanSweep = Date.now();
      await opts.database.db
        .delete(evalRuns)
        .where(and(eq(evalRuns.trigger, ONLINE_JOB_TRIGGER), inArray(evalRuns.status, ['succeeded', 'failed']), lt(evalRuns.finishedAt, new Date(Date.now() - orphanAfterMs))));
    }
  }

  return {
    offer(callId, route, scorers) {
      if (stopped) return false;
      if (waitingCalls + outstandingCalls >= maxBacklog) {
        stats.judge_shed++;
        return false;
      }
      let batch = waiting.get(route);
      if (!batch) waiting.set(route, (batch = { scorers, calls: [] }));
      batch.calls.push(callId);
      waitingCalls++;
      if (waitingCalls >= maxBatch) {
        if (timer) clearTimeout(timer);
        timer = undefined;
        arm(0);
      } else arm(flushMs);
      return true;
    },
    stats: () => ({ ...stats, judge_backlog: waitingCalls + outstandingCalls }),
    tick,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      while (ticking) await ticking;
      await enqueue().catch((err: unknown) => opts.logger.warn('online scoring: judge jobs could not be queued at stop', { err: String(err) }));
    },
  };
}
