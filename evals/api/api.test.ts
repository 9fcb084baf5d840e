import { sql } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { silentLogger } from '../../gateway/logger.ts';
import { startFakeProvider, type FakeProvider } from '../../test/helpers/fake-provider.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import type { GatewayClient } from '../gateway-client.ts';
import { scoreProductionCalls } from '../online.ts';
import { tableQueue } from '../queue/table-queue.ts';
import { fieldsOfRecord, type ScoreCallFields } from '../monitor/score-call-fields.ts';
import { callScores } from '../schema.ts';
import { apiApp, loggedCall, seedCalls, testClient } from '../../test/helpers/evals.ts';
import { startWorker, type RunningWorker } from '../worker.ts';
import { feedbackRoutes } from './feedback.ts';
import { evalRoutes } from './routes.ts';

const DAY = 86_400_000;
const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe.each(testDatabases())('eval and feedback API, online scoring, monitoring ($kind)', (target) => {
  let fake: FakeProvider;
  let database: Database;
  let client: GatewayClient;
  let worker: RunningWorker;
  let app: ReturnType<typeof apiApp>;
  const now = Date.UTC(2026, 0, 31, 12);

  beforeAll(async () => {
    fake = await startFakeProvider();
    database = await target.open();
    client = await testClient(fake, database);
    const queue = tableQueue(database);
    worker = await startWorker({ database, queue, client, logger: silentLogger, concurrency: 2, schedules: [], pollMs: 50 });
    app = apiApp([
      ['/api/evals', evalRoutes({ database, queue, clock: () => now })],
      ['/api/feedback', feedbackRoutes({ database })],
    ]);
  });
  afterAll(async () => {
    await worker?.stop();
    await client?.close();
    await database?.close();
    await fake?.close();
  });

  it('POST /api/evals/runs validates the job, queues it, and a worker runs it', async () => {
    const bad = await app.request('/api/evals/runs', json({ job: { name: 'x', dataset: { items: [{ output: 'a' }] }, scorers: ['nope'] } }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/scorers\.0\.name: unknown scorer 'nope'/);
    expect((await app.request('/api/evals/runs', json({ name: 'no job key' }))).status).toBe(400);

    const job = { name: 'api-job', dataset: { items: [{ id: 'a', input: 'hello there' }] }, targets: [{ name: 't', model: 'fake/gpt-4o-mini' }], scorers: [{ name: 'contains', value: 'hello' }] };
    const res = await app.request('/api/evals/runs', json({ job }));
    expect(res.status).toBe(202);
    const { id, status } = (await res.json()) as { id: string; status: string };
    expect(status).toBe('queued');
    let run: { status: string; summary: unknown } = { status: 'queued', summary: null };
    for (let i = 0; i < 200 && (run.status === 'queued' || run.status === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 25));
      run = (await (await app.request(`/api/evals/runs/${id}`)).json()) as typeof run;
    }
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'api:test-admin', dataset: { name: 'api-job' } });
    const results = (await (await app.request(`/api/evals/runs/${id}/results`)).json()) as Record<string, unknown>;
    expect(results).toMatchObject({ run_id: id, status: 'succeeded', items: [{ item_id: 'a', target: 't', output: 'Echo: hello there', scores: { contains: 1 } }] });
    expect((await app.request(`/api/evals/runs/${uuidv7()}`)).status).toBe(404);
    expect((await app.request('/api/evals/runs/not-a-uuid/results')).status).toBe(404);
    const list = (await (await app.request('/api/evals/runs?name=api-job')).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((r) => r.id)).toEqual([id]);
  });

  it('online jobs score a deterministic sample of logged calls into call_scores; feedback lands beside them', async () => {
    const at = new Date(now - 3_600_000);
    const calls = [
      loggedCall(at, { question: 'Where is the head office?', answer: 'The head office is in Delhi.', context: 'The Oberoi Group has its head office in Delhi.', route: 'online-route' }),
      loggedCall(at, { question: 'Where is the head office?', answer: 'It is in Mumbai.', context: 'The Oberoi Group has its head office in Delhi.', route: 'online-route' }),
      loggedCall(at, { question: 'Where?', answer: 'Delhi.', context: 'Delhi.', route: 'other-route' }),
    ];
    await seedCalls(database, calls);
    const spec = { name: 'online-groundedness', from_logs: { route: 'online-route', sample: 10, since: '2026-01-30T00:00:00Z' }, scorers: ['groundedness'] };
    const first = await scoreProductionCalls(spec, { database, client: null, now: () => now });
    expect(first.status).toBe('succeeded');
    expect(first.items.map((i) => [i.item_id, i.scores.groundedness]).sort()).toEqual([[calls[0]!.id, 1], [calls[1]!.id, 0]].sort());
    const again = await scoreProductionCalls(spec, { database, client: null, now: () => now });
    expect(again.items).toEqual(first.items);
    const stored = await database.db.select().from(callScores).where(sql`source = 'eval' and call_id in (${calls[0]!.id}::uuid, ${calls[1]!.id}::uuid)`);
    expect(stored).toHaveLength(2); // replaced, not duplicated
    expect(stored.every((s) => s.runId === again.runId)).toBe(true);
    expect(stored.every((s) => s.production && s.route === 'online-route' && s.callStartedAt?.getTime() === at.getTime())).toBe(true);

    const fb = await app.request('/api/feedback', json({ call_id: calls[1]!.id, name: 'thumbs', label: 'down', comment: 'wrong city' }));
    expect(fb.status).toBe(201);
    expect(await fb.json()).toMatchObject({ object: 'feedback', call_id: calls[1]!.id, scorer: 'thumbs', score: 0, label: 'down', comment: 'wrong city' });
    expect((await app.request('/api/feedback', json({ call_id: calls[0]!.id, scorer: 'quality', score: 0.75 }))).status).toBe(201);
    expect((await app.request('/api/feedback', json({ call_id: uuidv7(), scorer: 'quality', score: 1 }))).status).toBe(404);
    const invalid = await app.request('/api/feedback', json({ call_id: calls[0]!.id, scorer: 'quality', score: 2 }));
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { param: string } }).error.param).toBe('score');
    const all = rowsOf<{ source: string; n: number }>(await database.db.execute(sql`select source, count(*)::int as n from call_scores group by source order by source`));
    expect(all).toEqual([
      { source: 'eval', n: 2 },
      { source: 'feedback', n: 2 },
    ]);
  });

  it('GET /api/evals/timeseries gives daily series with EWMA/CUSUM alarms; /drift gives PSI and KS', async () => {
    const start = now - 20 * DAY;
    const records = [];
    const scores: Array<{ callId: string; score: number; call: ScoreCallFields }> = [];
    for (let d = 0; d < 20; d++) {
      for (let k = 0; k < 10; k++) {
        const r = loggedCall(new Date(start + d * DAY + k * 60_000), { question: 'q', answer: 'a', route: 'monitored', prompt: ['support', 2], outputTokens: d < 13 ? 40 + k : 140 + k, latencyMs: 300 + k });
        records.push(r);
        // Scores drop from ~0.9 to ~0.5 over the last 5 days.
        scores.push({ callId: r.id, score: d < 15 ? 0.85 + (k % 3) * 0.05 : 0.45 + (k % 3) * 0.05, call: fieldsOfRecord(r) });
      }
    }
    await seedCalls(database, records);
    await database.db.insert(callScores).values(scores.map((s) => ({ callId: s.callId, scorer: 'groundedness', score: s.score, source: 'eval' as const, ...s.call })));

    const res = await app.request(`/api/evals/timeseries?route=monitored&prompt=support@2&scorer=groundedness&since=${new Date(start).toISOString()}&reference_days=10`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { series: Array<{ route: string; prompt: string; points: Array<{ day: string; n: number }>; alarms: Array<{ day: string; direction: string }> }> };
    expect(body.series).toHaveLength(1);
    const series = body.series[0]!;
    expect(series).toMatchObject({ route: 'monitored', prompt: 'support@2', scorer: 'groundedness' });
    expect(series.points).toHaveLength(20);
    expect(series.points.every((p) => p.n === 10)).toBe(true);
    expect(series.alarms.length).toBeGreaterThan(0);
    expect(series.alarms.every((a) => a.direction === 'low' && a.day >= new Date(start + 15 * DAY).toISOString().slice(0, 10))).toBe(true);

    const drift = await app.request(
      `/api/evals/drift?route=monitored&since=${new Date(start + 13 * DAY).toISOString()}&until=${new Date(start + 20 * DAY).toISOString()}&reference_since=${new Date(start).toISOString()}&reference_until=${new Date(start + 13 * DAY).toISOString()}`,
    );
    expect(drift.status).toBe(200);
    const report = (await drift.json()) as { metrics: Record<string, { psi: number; psi_level: string; ks: { d: number; p: number }; n_current: number }>; scores: Record<string, { psi_level: string }> };
    expect(report.metrics.output_tokens).toMatchObject({ psi_level: 'significant', n_current: 70, ks: { d: 1 } });
    expect(report.metrics.output_tokens!.ks.p).toBeLessThan(1e-6);
    expect(report.metrics.latency_ms!.psi_level).toBe('stable');
    expect(report.scores.groundedness!.psi_level).toBe('significant');
    expect((await app.request('/api/evals/drift?since=2026-02-01&until=2026-01-01')).status).toBe(400);
  });
});
