import { eq, sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../gateway/db/client.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { createScratchDatabase, testDatabases } from '../../test/helpers/test-db.ts';
import { openDatabase } from '../../gateway/db/client.ts';
import { executeRun, submitRun } from '../runner.ts';
import { evalRuns } from '../schema.ts';
import { claimRun } from './claim.ts';
import { pgBossQueue } from './pg-boss-queue.ts';
import { tableQueue } from './table-queue.ts';
import type { EvalQueue } from './types.ts';

const scoreOnlyJob = (name: string) => ({ name, dataset: { items: [{ id: 'a', output: 'x', expected: 'x' }] }, scorers: ['exact'] });

async function waitFor(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function drain(database: Database, queues: EvalQueue[], runs: number, handled: string[]): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < runs; i++) ids.push(await submitRun(database, scoreOnlyJob(`q${i}`), 'test'));
  for (const [i, q] of queues.entries()) {
    await q.work(
      async (runId) => {
        handled.push(runId);
        await executeRun(runId, { database, client: null });
      },
      { worker: `w${i}`, concurrency: 2, pollMs: 20 },
    );
  }
  for (const id of ids) await queues[0]!.submit(id);
  await waitFor(async () => (await database.db.select().from(evalRuns).where(eq(evalRuns.status, 'succeeded'))).length >= runs);
}

describe.each(testDatabases())('eval queue ($kind)', (target) => {
  let database: Database;
  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('table queue: two workers share the runs, each run handled once', async () => {
    const handled: string[] = [];
    const queues = [tableQueue(database), tableQueue(database)];
    await drain(database, queues, 6, handled);
    await Promise.all(queues.map((q) => q.stop()));
    expect(new Set(handled).size).toBe(6);
    expect(handled).toHaveLength(6);
  });

  it('a running run with a stale heartbeat is claimable again; a fresh one is not', async () => {
    const id = await submitRun(database, scoreOnlyJob('stale'), 'test');
    expect(await claimRun(database, 'w1', id)).toBe(id);
    expect(await claimRun(database, 'w2', id)).toBeNull();
    await database.db.update(evalRuns).set({ heartbeatAt: sql`now() - interval '10 minutes'` }).where(eq(evalRuns.id, id));
    expect(await claimRun(database, 'w2', id)).toBe(id);
    const [row] = await database.db.select().from(evalRuns).where(eq(evalRuns.id, id));
    expect(row!.worker).toBe('w2');
  });

  it('stop() waits for a claim already sent: the run it takes is finished before stop() returns', async () => {
    // The claim's statement is held until the run below is queued, as a busy pool holds it.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const db = new Proxy(database.db, {
      get: (target, key, receiver) => (key === 'execute' ? async (query: SQL) => (await gate, target.execute(query)) : Reflect.get(target, key, receiver)),
    });
    const queue = tableQueue({ db });
    const handled: string[] = [];
    const working = queue.work(
      async (runId) => {
        handled.push(runId);
        await executeRun(runId, { database, client: null });
      },
      { worker: 'late', concurrency: 1, pollMs: 20 },
    );
    const stopping = queue.stop();
    const id = await submitRun(database, scoreOnlyJob('late'), 'test');
    open();
    await stopping;
    expect(handled).toEqual([id]);
    const [row] = await database.db.select().from(evalRuns).where(eq(evalRuns.id, id));
    expect(row!.status).toBe('succeeded');
    await working;
  });
});

describe.skipIf(!process.env.DATABASE_URL)('pg-boss queue (postgres)', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let database: Database;
  beforeAll(async () => {
    scratch = await createScratchDatabase(process.env.DATABASE_URL!);
    database = await openDatabase({ url: scratch.url, max: 4 });
    await database.migrate();
  });
  afterAll(async () => {
    await database?.close();
    await scratch?.drop();
  });

  it('hands each submitted run to one of two workers; a run queued without pg-boss is swept in', async () => {
    const queues = [await pgBossQueue({ url: scratch.url, database, logger: silentLogger, sweepMs: 200 }), await pgBossQueue({ url: scratch.url, database, logger: silentLogger, sweepMs: 200 })];
    const handled: string[] = [];
    try {
      await drain(database, queues, 4, handled);
      // Queued by a process that never told pg-boss (e.g. an API without the queue): the sweep finds it.
      const orphan = await submitRun(database, scoreOnlyJob('orphan'), 'test');
      await database.db.update(evalRuns).set({ createdAt: sql`now() - interval '1 minute'` }).where(eq(evalRuns.id, orphan));
      await waitFor(async () => (await database.db.select().from(evalRuns).where(eq(evalRuns.id, orphan)))[0]!.status === 'succeeded');
    } finally {
      await Promise.all(queues.map((q) => q.stop()));
    }
    expect(new Set(handled).size).toBe(5);
    expect(handled).toHaveLength(5);
  });
});
