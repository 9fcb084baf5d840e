import { eq, inArray, sql } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../gateway/db/client.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { evalRuns } from '../schema.ts';
import { startJudgeEnqueuer } from './judge-enqueue.ts';
import { ONLINE_JOB_TRIGGER, type QueuedScorer } from './judge-job.ts';

const HALLUCINATION: QueuedScorer[] = [{ key: 'hallucination', spec: { name: 'hallucination', judge: 'up/gpt-4o-mini' } }];
const ids = (n: number) => Array.from({ length: n }, () => uuidv7());

async function until(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(testDatabases())('judge jobs: batching and shedding ($kind)', (target) => {
  let database: Database;
  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  const onlineRows = () => database.db.select().from(evalRuns).where(eq(evalRuns.trigger, ONLINE_JOB_TRIGGER));
  const clear = () => database.db.delete(evalRuns);

  it('queues one job per route and batch, carrying call ids and scorer specs only, and wakes the workers', async () => {
    await clear();
    const submitted: string[] = [];
    const jobs = startJudgeEnqueuer({ database, queue: { submit: async (id) => void submitted.push(id) }, logger: silentLogger, maxBatch: 50, flushMs: 60_000 });
    const a = ids(120);
    const b = ids(3);
    for (const id of a) expect(jobs.offer(id, 'a', HALLUCINATION)).toBe(true);
    for (const id of b) jobs.offer(id, 'b', HALLUCINATION);
    expect(jobs.stats()).toMatchObject({ judge_enqueued: 0, judge_backlog: 123 });
    // A full batch does not wait for the timer (60 s here).
    await until(async () => (await onlineRows()).length === 4);
    const rows = await onlineRows();
    expect(rows.map((r) => [r.name, (r.job.calls as string[]).length]).sort()).toEqual([
      ['online-scoring:a', 20],
      ['online-scoring:a', 50],
      ['online-scoring:a', 50],
      ['online-scoring:b', 3],
    ]);
    expect(rows.flatMap((r) => r.job.calls as string[]).sort()).toEqual([...a, ...b].sort());
    for (const r of rows) {
      expect(Object.keys(r.job).sort()).toEqual(['calls', 'kind', 'route', 'scorers']);
      expect(r.job.scorers).toEqual([{ name: 'hallucination', judge: 'up/gpt-4o-mini' }]);
      expect(r).toMatchObject({ status: 'queued', mode: 'online' });
    }
    expect(submitted.sort()).toEqual(rows.map((r) => r.id).sort());
    expect(jobs.stats()).toMatchObject({ judge_enqueued: 123, judge_shed: 0, judge_backlog: 123 });
    await jobs.stop();
  });

  it('a lone call is queued by the timer', async () => {
    await clear();
    const jobs = startJudgeEnqueuer({ database, queue: { submit: async () => {} }, logger: silentLogger, flushMs: 20 });
    jobs.offer(uuidv7(), 'a', HALLUCINATION);
    await until(async () => (await onlineRows()).length === 1);
    await jobs.stop();
  });

  it('sheds beyond the backlog (waiting and unfinished jobs), reaps finished jobs into the counters, and takes calls again', async () => {
    await clear();
    const jobs = startJudgeEnqueuer({ database, queue: { submit: async () => {} }, logger: silentLogger, maxBacklog: 5, flushMs: 60_000 });
    const offered = ids(8).map((id) => jobs.offer(id, 'a', HALLUCINATION));
    expect(offered).toEqual([true, true, true, true, true, false, false, false]);
    expect(jobs.stats()).toMatchObject({ judge_shed: 3, judge_backlog: 5 });
    await jobs.tick();
    // Queued, not yet done by any worker: still the backlog.
    expect(jobs.stats()).toMatchObject({ judge_enqueued: 5, judge_backlog: 5 });
    expect(jobs.offer(uuidv7(), 'a', HALLUCINATION)).toBe(false);
    expect(jobs.stats().judge_shed).toBe(4);

    // A worker finishes the job: four calls scored, one not in the log.
    const [job] = await onlineRows();
    await database.db.update(evalRuns).set({ status: 'succeeded', finishedAt: new Date(), summary: { calls: 5, scored: 4, failed: 1 } }).where(eq(evalRuns.id, job!.id));
    await jobs.tick();
    expect(jobs.stats()).toMatchObject({ judge_enqueued: 5, judge_scored: 4, judge_failed: 1, judge_backlog: 0 });
    expect(await onlineRows()).toEqual([]); // plumbing: reaped once counted

    // A job that failed as a whole counts all its calls as failed.
    for (const id of ids(2)) expect(jobs.offer(id, 'a', HALLUCINATION)).toBe(true);
    await jobs.tick();
    const [second] = await onlineRows();
    await database.db.update(evalRuns).set({ status: 'failed', finishedAt: new Date(), error: 'boom' }).where(eq(evalRuns.id, second!.id));
    await jobs.tick();
    expect(jobs.stats()).toMatchObject({ judge_enqueued: 7, judge_scored: 4, judge_failed: 3, judge_backlog: 0, judge_shed: 4 });
    await jobs.stop();
    expect(jobs.offer(uuidv7(), 'a', HALLUCINATION)).toBe(false);
  });

  it('stop queues what still waits; finished jobs a stopped gateway left behind are swept later, eval runs never', async () => {
    await clear();
    const jobs = startJudgeEnqueuer({ database, queue: { submit: async () => {} }, logger: silentLogger, flushMs: 60_000 });
    jobs.offer(uuidv7(), 'a', HALLUCINATION);
    await jobs.stop();
    const [left] = await onlineRows();
    expect(left).toMatchObject({ status: 'queued' });

    const old = sql`now() - interval '1 hour'`;
    await database.db.update(evalRuns).set({ status: 'succeeded', finishedAt: old }).where(eq(evalRuns.id, left!.id));
    const [evalRun] = await database.db
      .insert(evalRuns)
      .values({ name: 'nightly', job: {}, status: 'succeeded', finishedAt: old })
      .returning({ id: evalRuns.id });
    const next = startJudgeEnqueuer({ database, queue: { submit: async () => {} }, logger: silentLogger, orphanAfterMs: 60_000 });
    await next.tick();
    const remaining = await database.db.select({ id: evalRuns.id }).from(evalRuns).where(inArray(evalRuns.id, [left!.id, evalRun!.id]));
    expect(remaining.map((r) => r.id)).toEqual([evalRun!.id]);
    await next.stop();
  });
});
