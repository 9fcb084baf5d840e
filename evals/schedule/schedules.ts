import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { JobError, loadJobFile, parseJob } from '../job.ts';
import { insertRun } from '../run/store.ts';
import { evalSchedules } from '../schema.ts';
import { CronError, nextRun, parseCron } from './cron.ts';

/**
 * Scheduled jobs (issue 10 §6). Declared in a YAML file the worker reads (`sluice worker
 * --schedules file.yaml`, or SLUICE_EVAL_SCHEDULES):
 *
 *   schedules:
 *     - name: nightly-support          # default: the job's name
 *       cron: "0 3 * * *"              # UTC; default: the job's own `schedule:`
 *       job: ./jobs/support.yaml       # a job file (relative to this file) or an inline job
 *
 * Workers store them in `eval_schedules`; a due row is claimed with SKIP LOCKED and advanced in
 * the same transaction that queues its run, so each slot runs once however many workers tick.
 * A missed slot (no worker up) runs once when a worker comes back, not once per missed slot.
 */
const entrySchema = z.strictObject({
  name: z.string().min(1).optional(),
  cron: z.string().optional(),
  job: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
});
const fileSchema = z.strictObject({ schedules: z.array(entrySchema) });

export interface ScheduleSpec {
  name: string;
  cron: string;
  job: Record<string, unknown>;
}

export function loadSchedules(path: string): ScheduleSpec[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new JobError(`cannot read schedules ${path}: ${(err as Error).message}`);
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success) throw new JobError(`schedules ${path}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data.schedules.map((e, i) => {
    const where = `schedules ${path}: schedules.${i}`;
    const job = typeof e.job === 'string' ? loadJobFile(isAbsolute(e.job) ? e.job : resolve(dirname(path), e.job)).raw : e.job;
    const parsed = parseJob(job).job;
    const cron = e.cron ?? parsed.schedule;
    if (!cron) throw new JobError(`${where}: no cron (give 'cron' or the job's 'schedule')`);
    try {
      parseCron(cron);
    } catch (err) {
      throw new JobError(`${where}.cron: ${(err as CronError).message}`);
    }
    return { name: e.name ?? parsed.name, cron, job };
  });
}

/** Upserts the declared schedules; a changed cron or job restarts its clock from `now`. */
export async function syncSchedules(database: Pick<Database, 'db'>, specs: readonly ScheduleSpec[], now: Date): Promise<void> {
  for (const s of specs) {
    const next = nextRun(parseCron(s.cron), now);
    await database.db
      .insert(evalSchedules)
      .values({ name: s.name, cron: s.cron, job: s.job, nextRunAt: next })
      .onConflictDoUpdate({
        target: evalSchedules.name,
        set: {
          cron: s.cron,
          job: s.job,
          nextRunAt: sql`case when ${evalSchedules.cron} = excluded.cron and ${evalSchedules.job} = excluded.job then ${evalSchedules.nextRunAt} else excluded.next_run_at end`,
          updatedAt: sql`now()`,
        },
      });
  }
}

/** Queues a run for every schedule that is due; returns the new run ids. */
export async function queueDueRuns(database: Database, now: Date): Promise<string[]> {
  const queued: string[] = [];
  for (;;) {
    const id = await database.db.transaction(async (tx) => {
      const [due] = rowsOf<{ name: string; cron: string; job: Record<string, unknown> }>(
        await tx.execute(sql`select name, cron, job from eval_schedules where next_run_at <= ${now.toISOString()}::timestamptz order by next_run_at limit 1 for update skip locked`),
      );
      if (!due) return null;
      let runId: string | null = null;
      try {
        const { job } = parseJob(due.job);
        runId = await insertRun({ db: tx as unknown as Database['db'] }, { name: job.name, job: due.job, mode: job.mode, trigger: `schedule:${due.name}`, status: 'queued' });
      } catch {
        // A job that no longer validates is skipped to its next slot rather than retried forever.
      }
      await tx.update(evalSchedules).set({ nextRunAt: nextRun(parseCron(due.cron), now), lastRunId: runId, updatedAt: sql`now()` }).where(eq(evalSchedules.name, due.name));
      return runId ?? '';
    });
    if (id === null) break;
    if (id) queued.push(id);
  }
  return queued;
}
