import PgBoss from 'pg-boss';
import type { Database } from '../../gateway/db/client.ts';
import type { Logger } from '../../gateway/logger.ts';
import { claimRun, orphanRuns } from './claim.ts';
import type { EvalQueue } from './types.ts';

/**
 * The queue on pg-boss 10 (Node 20, Postgres ≥ 13), used when DATABASE_URL names a Postgres
 * server. Each queued run is one pg-boss job whose id is the run id, so sending it twice is a
 * no-op. A handler still claims the run row (SKIP LOCKED) before running it, so the row stays
 * the single source of truth; a periodic sweep re-sends rows that never reached pg-boss (queued
 * by a process without it) and runs whose worker died (stale heartbeat).
 */
export const QUEUE_NAME = 'sluice-eval-runs';

export interface PgBossQueueOptions {
  url: string;
  database: Pick<Database, 'db'>;
  logger: Logger;
  /** Sweep period; default 30 s. */
  sweepMs?: number;
}

export async function pgBossQueue(opts: PgBossQueueOptions): Promise<EvalQueue> {
  const boss = new PgBoss({ connectionString: opts.url, max: 3, application_name: 'sluice-evals', supervise: true, schedule: false });
  boss.on('error', (err: Error) => opts.logger.warn('pg-boss error', { err: err.message }));
  await boss.start();
  await boss.createQueue(QUEUE_NAME, { name: QUEUE_NAME, policy: 'standard', retryLimit: 2, retryDelay: 30, expireInHours: 12 });
  let sweeper: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();
  const send = (runId: string, id: string = runId) => boss.send(QUEUE_NAME, { runId }, { id });

  return {
    kind: 'pg-boss',
    async submit(runId) {
      await send(runId);
    },
    async work(handle, { worker, concurrency, pollMs = 1_000 }) {
      const run = async (jobs: Array<PgBoss.Job<{ runId: string }>>) => {
        for (const job of jobs) {
          const id = await claimRun(opts.database, worker, job.data.runId);
          if (!id) continue; // finished already, or another worker holds it
          const p = handle(id);
          inFlight.add(p);
          await p.finally(() => inFlight.delete(p));
        }
      };
      for (let i = 0; i < concurrency; i++) {
        await boss.work<{ runId: string }>(QUEUE_NAME, { batchSize: 1, pollingIntervalSeconds: Math.max(0.5, pollMs / 1000) }, run);
      }
      const sweep = async () => {
        for (const run of await orphanRuns(opts.database, 15)) {
          if (run.status === 'queued') {
            await send(run.id); // a no-op when pg-boss already has it
            continue;
          }
          // A dead worker's run: pg-boss retries it itself once the job expires; if that job
          // is over (completed, failed), queue it again under a new job id.
          const job = await boss.getJobById(QUEUE_NAME, run.id);
          if (!job || ['completed', 'failed', 'cancelled'].includes(job.state)) await send(run.id, crypto.randomUUID());
        }
      };
      sweeper = setInterval(() => void sweep().catch((err: unknown) => opts.logger.warn('eval queue sweep failed', { err: String(err) })), opts.sweepMs ?? 30_000);
      sweeper.unref();
    },
    async stop() {
      if (sweeper) clearInterval(sweeper);
      await boss.offWork(QUEUE_NAME).catch(() => {});
      await Promise.all(inFlight);
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    },
  };
}
