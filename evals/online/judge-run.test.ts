import { and, eq, inArray } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallEvents } from '../../gateway/calls/call-events.ts';
import type { CallRecord } from '../../gateway/calls/record.ts';
import { openDatabase, type Database } from '../../gateway/db/client.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { judgeKind, judgedAnswer, judgeReply, loggedCall, seedCalls, testClient } from '../../test/helpers/evals.ts';
import { startFakeProvider, type FakeProvider } from '../../test/helpers/fake-provider.ts';
import { createScratchDatabase, testDatabases } from '../../test/helpers/test-db.ts';
import type { GatewayClient } from '../gateway-client.ts';
import { pgBossQueue } from '../queue/pg-boss-queue.ts';
import { tableQueue } from '../queue/table-queue.ts';
import type { EvalQueue } from '../queue/types.ts';
import { callScores, evalRuns } from '../schema.ts';
import { startWorker } from '../worker.ts';
import { resolveOnlineScoring } from './config.ts';
import { ONLINE_JOB_TRIGGER, onlineJob } from './judge-job.ts';
import { executeOnlineRun } from './judge-run.ts';
import { startOnlineScoring } from './online-scoring.ts';

const CONTEXT = 'The box holds a red ball. It was bought in Lisbon.';
const JUDGE = 'fake/gpt-4o-mini';

async function until(check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A call of route `kb` as the call log holds it (the fake provider served it). */
const call = (answer: string, o: Partial<CallRecord> = {}): CallRecord => ({
  ...loggedCall(new Date(), { route: 'kb', question: 'What is in the box?', answer, context: CONTEXT }),
  provider: 'fake',
  model: 'gpt-4o-mini',
  ...o,
});

const onlineScores = (database: Database, ids: string[]) =>
  database.db.select().from(callScores).where(and(inArray(callScores.callId, ids), eq(callScores.source, 'online')));

/**
 * Sampled calls through the job queue to a worker: the gateway's listener hands the judge
 * scorers over (the deterministic ones run in-process), the worker reads each call back from the
 * call log and asks the judge through the gateway, and the gateway's counters learn the outcome.
 */
async function scoresThroughTheQueue(database: Database, fake: FakeProvider, client: GatewayClient, queues: { gateway: EvalQueue; worker: EvalQueue }) {
  fake.reset();
  fake.setReply(judgeReply);
  const grounded = call('The box holds a red ball.');
  const invented = call('The box holds a red ball. It came from the moon.');
  const evalCall = call('The moon.', { metadata: { sluice_eval_run: uuidv7() } });
  await seedCalls(database, [grounded, invented, evalCall]);

  const events = new CallEvents();
  const routes = resolveOnlineScoring({
    kb: { online_scoring: { sample: 1, scorers: ['groundedness', { name: 'faithfulness', judge: JUDGE }, { name: 'hallucination', judge: JUDGE }] } },
  });
  const online = startOnlineScoring(events, { database, routes, logger: silentLogger, queue: queues.gateway, judge: { flushMs: 20 } });
  const worker = await startWorker({ database, queue: queues.worker, client, logger: silentLogger, concurrency: 1, schedules: [], pollMs: 50 });
  try {
    for (const record of [grounded, invented, evalCall]) events.emit({ record, shadow: null });
    const ids = [grounded.id, invented.id];
    await until(async () => (await onlineScores(database, ids)).length === 6);
    const rows = await onlineScores(database, ids);
    const score = (id: string, scorer: string) => rows.find((r) => r.callId === id && r.scorer === scorer)!;
    expect(score(grounded.id, 'faithfulness').score).toBe(1);
    expect(score(grounded.id, 'hallucination').score).toBe(1);
    expect(score(invented.id, 'faithfulness').score).toBe(0.5);
    expect(score(invented.id, 'hallucination')).toMatchObject({ score: 0, reason: 'the moon is not in the context' });
    expect(score(invented.id, 'hallucination').details).toMatchObject({ judge_prompt_version: 'sluice-judge-hallucination@1', judge_model: JUDGE });
    expect(score(grounded.id, 'groundedness').score).toBe(1); // in-process, as before
    // Both writers copy the call's time and slice onto the score (monitor/score-call-fields.ts).
    for (const scorer of ['faithfulness', 'groundedness']) {
      expect(score(grounded.id, scorer)).toMatchObject({ callStartedAt: grounded.startedAt, route: grounded.route, variant: grounded.variant, production: true });
    }
    // The judge saw the context retrieval injected, read back from the call log.
    const judged = fake.requests.filter((r) => judgeKind(r.body) !== null);
    expect(judged).toHaveLength(4);
    expect(judged.every((r) => JSON.stringify(r.body).includes('It was bought in Lisbon.'))).toBe(true);
    expect(judged.map((r) => judgedAnswer(r.body)).sort()).toEqual([grounded, grounded, invented, invented].map((c) => completion(c)).sort());
    // Eval traffic is never scored online.
    expect(await onlineScores(database, [evalCall.id])).toEqual([]);

    await until(() => online.stats().judge_scored === 2);
    expect(online.stats()).toMatchObject({ sampled: 2, scored: 2, judge_enqueued: 2, judge_scored: 2, judge_failed: 0, judge_shed: 0, judge_backlog: 0 });
    // The counters are taken before the finished job rows are deleted: the deletion follows.
    const jobRows = () => database.db.select().from(evalRuns).where(eq(evalRuns.trigger, ONLINE_JOB_TRIGGER));
    await until(async () => (await jobRows()).length === 0).catch(() => {});
    expect(await jobRows()).toEqual([]);
  } finally {
    await online.stop();
    await worker.stop();
    fake.setReply(null);
  }
}

const completion = (c: CallRecord) => (c.responseBody as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;

describe.each(testDatabases())('online judge jobs ($kind)', (target) => {
  let fake: FakeProvider;
  let database: Database;
  let client: GatewayClient;
  beforeAll(async () => {
    fake = await startFakeProvider();
    database = await target.open();
    client = await testClient(fake, database);
  });
  afterAll(async () => {
    await client?.close();
    await database?.close();
    await fake?.close();
  });

  it('a worker scores sampled calls with the judge from the call log, source online (table queue)', async () => {
    const queue = tableQueue(database);
    await scoresThroughTheQueue(database, fake, client, { gateway: queue, worker: queue });
  });

  /** A job row as the enqueuer writes it, claimed (running) as a worker would hold it. */
  async function claimedJob(ids: string[], scorers: Array<{ name: string } & Record<string, unknown>>): Promise<string> {
    const id = uuidv7();
    const job = onlineJob('kb', ids, scorers.map((spec) => ({ key: spec.name, spec })));
    await database.db.insert(evalRuns).values({ id, name: 'online-scoring:kb', job, mode: 'online', trigger: ONLINE_JOB_TRIGGER, status: 'running' });
    return id;
  }

  it('a retried job asks no judge twice and writes no second row; a call missing from the log fails, the rest are scored', async () => {
    fake.reset();
    fake.setReply(judgeReply);
    const logged = call('The box holds a red ball, bought in Lisbon.');
    await seedCalls(database, [logged]);
    const never = uuidv7();
    const scorers = [{ name: 'faithfulness', judge: JUDGE }, { name: 'hallucination', judge: JUDGE }];
    const deps = { database, client, logger: silentLogger, logWaitMs: 100 };

    const first = await executeOnlineRun(await claimedJob([logged.id, never], scorers), deps);
    expect(first).toEqual({ calls: 2, scored: 1, failed: 1 });
    expect(fake.requests.filter((r) => judgeKind(r.body) !== null)).toHaveLength(2);
    // The same calls again (a re-claimed job, or the same call sampled twice).
    const runId = await claimedJob([logged.id], scorers);
    expect(await executeOnlineRun(runId, deps)).toEqual({ calls: 1, scored: 1, failed: 0 });
    expect(fake.requests.filter((r) => judgeKind(r.body) !== null)).toHaveLength(2);
    expect(await onlineScores(database, [logged.id])).toHaveLength(2);
    const [row] = await database.db.select().from(evalRuns).where(eq(evalRuns.id, runId));
    expect(row).toMatchObject({ status: 'succeeded', summary: { calls: 1, scored: 1, failed: 0 } });
    fake.setReply(null);
  });

  it('sampling scorers re-ask the target that served the call; not when the log lacks the injected context', async () => {
    fake.reset();
    const plain = call('Echo: What is in the box?', { rag: null });
    const injected = call('Echo: What is in the box?'); // a route without a prompt logs the client's body
    await seedCalls(database, [plain, injected]);
    const runId = await claimedJob([plain.id, injected.id], [{ name: 'self_consistency', samples: 2, temperature: 0.5 }]);
    expect(await executeOnlineRun(runId, { database, client, logger: silentLogger })).toEqual({ calls: 2, scored: 2, failed: 0 });
    const rows = await onlineScores(database, [plain.id, injected.id]);
    expect(rows.find((r) => r.callId === plain.id)!.score).toBe(1);
    expect(rows.find((r) => r.callId === injected.id)).toMatchObject({ score: null, reason: expect.stringMatching(/does not hold the context retrieval injected/) });
    const sent = fake.requests.map((r) => r.body as Record<string, unknown>);
    expect(sent).toHaveLength(2);
    expect(sent.map((b) => [b.model, b.temperature, b.seed])).toEqual([
      ['gpt-4o-mini', 0.5, 43],
      ['gpt-4o-mini', 0.5, 44],
    ]);
  });
});

describe.skipIf(!process.env.DATABASE_URL)('online judge jobs through pg-boss (postgres, a separate worker)', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let database: Database;
  let fake: FakeProvider;
  let client: GatewayClient;
  beforeAll(async () => {
    scratch = await createScratchDatabase(process.env.DATABASE_URL!);
    database = await openDatabase({ url: scratch.url, max: 4 });
    await database.migrate();
    fake = await startFakeProvider();
    client = await testClient(fake, database);
  });
  afterAll(async () => {
    await client?.close();
    await database?.close();
    await scratch?.drop();
    await fake?.close();
  });

  it('the gateway submits to pg-boss and a `sluice worker`-style process scores', async () => {
    const gateway = await pgBossQueue({ url: scratch.url, database, logger: silentLogger });
    const worker = await pgBossQueue({ url: scratch.url, database, logger: silentLogger });
    try {
      await scoresThroughTheQueue(database, fake, client, { gateway, worker });
    } finally {
      await gateway.stop();
    }
  });
});
