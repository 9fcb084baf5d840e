import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Database } from '../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../test/helpers/fake-provider.ts';
import { testDatabases } from '../test/helpers/test-db.ts';
import { DocumentStore } from '../gateway/rag/index.ts';
import type { GatewayClient } from './gateway-client.ts';
import { runJob } from './runner.ts';
import { runScores } from './run/store.ts';
import { judgeKind, judgeReply, testClient } from '../test/helpers/evals.ts';

describe.each(testDatabases())('eval runner through the in-process gateway ($kind)', (target) => {
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

  it('scores items that carry output without any model call', async () => {
    fake.reset();
    const job = {
      name: 'score-only',
      dataset: {
        items: [
          { id: 'a', input: 'Where is the head office?', context: 'The Oberoi Group has its head office in Delhi.', output: 'Delhi', expected: 'delhi' },
          { id: 'b', input: 'Where is the head office?', context: 'The Oberoi Group has its head office in Delhi.', output: 'Mumbai', expected: 'delhi' },
        ],
      },
      scorers: ['groundedness', 'exact', { name: 'latency' }],
    };
    const out = await runJob(job, { database, client });
    expect(out.status).toBe('succeeded');
    expect(fake.requests).toHaveLength(0);
    expect(out.items).toEqual([
      { item_id: 'a', target: 'dataset', output: 'Delhi', scores: { groundedness: 1, exact: 1, latency: null } },
      { item_id: 'b', target: 'dataset', output: 'Mumbai', scores: { groundedness: 0, exact: 0, latency: null } },
    ]);
    const rows = await runScores(database, out.runId);
    expect(rows.find((r) => r.itemId === 'b' && r.scorer === 'groundedness')!.reason).toMatch(/Mumbai/);
    expect(rows.find((r) => r.scorer === 'latency')!.reason).toMatch(/no latency/);
  });

  it('runs targets through the gateway, seeded, tagged with the run id, and gives the same results twice', async () => {
    fake.reset();
    const job = {
      name: 'two-targets',
      dataset: { items: [{ id: 'q1', input: 'alpha beta' }, { id: 'q2', input: 'gamma' }, { input: 'delta' }] },
      targets: [
        { name: 'v1', model: 'fake/gpt-4o-mini' },
        { name: 'v2', model: 'fake/gpt-4o' },
      ],
      scorers: [{ name: 'contains', value: 'Echo' }, { name: 'regex', pattern: 'beta' }],
      gate: { scorer: 'contains', max_drop: 0 },
    };
    const first = await runJob(job, { database, client });
    expect(first.status).toBe('succeeded');
    expect(first.items.map((i) => `${i.item_id}/${i.target}`)).toEqual(['q1/v1', 'q1/v2', 'q2/v1', 'q2/v2', '2/v1', '2/v2']);
    expect(first.items[0]).toMatchObject({ output: 'Echo: alpha beta', scores: { contains: 1, regex: 1 } });
    const sent = fake.requests.map((r) => r.body as Record<string, unknown>);
    expect(sent).toHaveLength(6);
    expect(sent.every((b) => b.temperature === 0 && b.seed === 42)).toBe(true);
    expect(first.summary!.gate).toMatchObject({ verdict: 'pass' });
    expect(first.summary!.baseline).toBe('v1');

    const second = await runJob(job, { database, client });
    expect(second.runId).not.toBe(first.runId);
    expect(second.items).toEqual(first.items);
    const strip = (s: typeof first.summary) => ({ ...s!, duration_ms: 0 });
    expect(strip(second.summary)).toEqual(strip(first.summary));
  });

  it('scores cost as 1 / (1 + cost / budget) from the gateway-reported price', async () => {
    fake.reset();
    const out = await runJob(
      { name: 'costly', dataset: { items: [{ id: 'c', input: 'a fresh question for cost' }] }, targets: [{ name: 't', model: 'fake/gpt-4o-mini' }], scorers: [{ name: 'cost', budget_usd: 0.000001 }, 'latency'] },
      { database, client },
    );
    const rows = await runScores(database, out.runId);
    const cost = rows.find((r) => r.scorer === 'cost')!;
    expect(cost.costUsd).toBeGreaterThan(0);
    expect(cost.score).toBeCloseTo(1 / (1 + cost.costUsd! / 0.000001), 9);
    expect(rows.find((r) => r.scorer === 'latency')!.score).toBeGreaterThan(0.5);
  });

  it('judges end to end with the fake provider as judge; malformed judge output scores null with a reason', async () => {
    fake.reset();
    fake.setReply(judgeReply);
    const items = [
      { id: 'good', input: 'What is in the box?', context: 'The box holds a red ball.', output: 'The box holds a red ball.' },
      { id: 'bad', input: 'What is in the box?', context: 'The box holds a red ball.', output: 'A red ball. It came from the moon.' },
    ];
    const job = { name: 'judged', judge: 'fake/gpt-4o-mini', dataset: { items }, scorers: ['faithfulness', 'hallucination'] };
    const out = await runJob(job, { database, client });
    expect(out.items.map((i) => [i.item_id, i.scores])).toEqual([
      ['good', { faithfulness: 1, hallucination: 1 }],
      ['bad', { faithfulness: 0.5, hallucination: 0 }],
    ]);
    const rows = await runScores(database, out.runId);
    for (const r of rows) {
      expect(r.judgePromptVersion).toBe(r.scorer === 'faithfulness' ? 'sluice-judge-faithfulness@1' : 'sluice-judge-hallucination@1');
      expect(r.judgeModel).toBe('fake/gpt-4o-mini');
    }
    expect(rows.find((r) => r.itemId === 'bad' && r.scorer === 'hallucination')!.reason).toMatch(/moon/);
    expect(fake.requests.filter((r) => judgeKind(r.body) !== null)).toHaveLength(4);

    fake.setReply((body) => (judgeKind(body) === 'faithfulness' ? 'I think it is fine.' : '{"verdict": "maybe"}'));
    // Another judge model, so the judge calls miss the gateway's cache of the first run.
    const broken = await runJob({ ...job, name: 'judged-broken', judge: 'fake/gpt-4o' }, { database, client });
    expect(broken.status).toBe('succeeded');
    expect(broken.items.map((i) => i.scores)).toEqual([
      { faithfulness: null, hallucination: null },
      { faithfulness: null, hallucination: null },
    ]);
    const reasons = (await runScores(database, broken.runId)).map((r) => r.reason);
    expect(reasons).toContain('judge output is not JSON: "I think it is fine."');
    expect(reasons.some((r) => r?.startsWith('judge output has the wrong shape: verdict'))).toBe(true);
    fake.setReply(null);
  });

  it('self_consistency samples the target with new seeds; targets that fail score null with the reason', async () => {
    fake.reset();
    const job = { name: 'consistency', dataset: { items: [{ id: 'x', input: 'same answer' }] }, targets: [{ name: 't', model: 'fake/gpt-4o-mini' }], scorers: [{ name: 'self_consistency', samples: 2 }] };
    const out = await runJob(job, { database, client });
    expect(out.items[0]!.scores.self_consistency).toBe(1);
    expect(fake.requests.map((r) => (r.body as { seed: number }).seed)).toEqual([42, 43, 44]);

    fake.reset();
    fake.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    const failing = await runJob(
      { name: 'failing', dataset: { items: [{ id: 'x', input: 'hi' }, { id: 'y', input: 'ho' }] }, targets: [{ name: 't', model: 'fake/gpt-4o-mini' }], scorers: ['groundedness'], concurrency: 1 },
      { database, client, retry: { tries: 3, baseMs: 1, maxMs: 1, sleep: async () => {} } },
    );
    expect(failing.status).toBe('succeeded');
    const rows = await runScores(database, failing.runId);
    expect(rows.find((r) => r.itemId === 'x')).toMatchObject({ score: null, output: null });
    expect(rows.find((r) => r.itemId === 'x')!.reason).toMatch(/target call failed after 3 tries: HTTP 5\d\d/);
    // The second item's calls succeeded once the queued faults ran out.
    expect(rows.find((r) => r.itemId === 'y')!.output).toBe('Echo: ho');
  });

  it('scores groundedness of a RAG route against the context the gateway retrieved for the eval call', async () => {
    fake.reset();
    await new DocumentStore(database).upsert([
      { collection: 'kb', id: 'oberoi', text: 'The Oberoi Group is a hotel company with its head office in Delhi.' },
      { collection: 'kb', id: 'stark', text: 'Jonathan Stark is a former professional tennis player from the United States.' },
    ]);
    const rag = await testClient(fake, database, {
      retrievers: { docs: { type: 'postgres-fts', collection: 'kb' } },
      routes: { 'rag-bot': { variants: [{ name: 'only', target: 'fake/gpt-4o-mini' }], rag: { retriever: 'docs', top_k: 1 } } },
    });
    fake.setReply((body) => (JSON.stringify(body).includes('head office in Delhi') ? 'The Oberoi head office is in Delhi.' : 'Jonathan Stark played for Brazil in 1980.'));
    try {
      const out = await runJob(
        {
          name: 'rag-groundedness',
          dataset: { items: [{ id: 'oberoi', input: 'Where is the Oberoi Group head office?' }, { id: 'stark', input: 'Which country is the tennis player Jonathan Stark from?' }] },
          targets: [{ name: 'rag', model: 'rag-bot' }],
          scorers: ['groundedness'],
        },
        { database, client: rag },
      );
      expect(out.items.map((i) => [i.item_id, i.scores.groundedness])).toEqual([
        ['oberoi', 1],
        ['stark', expect.any(Number)],
      ]);
      expect(out.items[1]!.scores.groundedness).toBeLessThan(0.7);
    } finally {
      fake.setReply(null);
      await rag.close();
    }
  });

  it('logs every eval call with the run id in its metadata', async () => {
    fake.reset();
    const out = await runJob({ name: 'tagged', dataset: { items: [{ id: 'k', input: 'log me' }] }, targets: [{ name: 't', model: 'fake/gpt-4o-mini' }], scorers: ['contains'] }, { database, client });
    const deadline = Date.now() + 5_000;
    let rows: Array<{ item: string }> = [];
    while (Date.now() < deadline) {
      rows = rowsOf<{ item: string }>(await database.db.execute(sql`select metadata->>'sluice_eval_item' as item from calls where metadata->>'sluice_eval_run' = ${out.runId}`));
      if (rows.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(rows).toEqual([{ item: 'k' }]);
  });
});
