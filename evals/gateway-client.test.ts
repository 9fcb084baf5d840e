import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../test/helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../test/helpers/gateway.ts';
import { testDatabases } from '../test/helpers/test-db.ts';
import { remoteGateway } from './gateway-client.ts';
import { runJob } from './runner.ts';
import { runScores } from './run/store.ts';
import { judgeKind, judgeReply } from '../test/helpers/evals.ts';

/** `--gateway URL --key K`: the same job through a running gateway, over the official OpenAI SDK. */
describe.each(testDatabases().slice(0, 1))('eval calls to a running gateway ($kind)', (target) => {
  let fake: FakeProvider;
  let database: Database;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeProvider();
    database = await target.open();
    gw = await startTestGateway({ config: { providers: { fake: { type: 'openai-compatible', base_url: fake.openaiBaseUrl } } }, database });
    const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
    await fetch(`${gw.url}/api/prompts`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'support' }) });
    await fetch(`${gw.url}/api/prompts/support/versions`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ messages: [{ role: 'system', content: 'You are {{persona}}.' }], variables: { type: 'object', properties: { persona: { type: 'string' } }, required: ['persona'] } }),
    });
  });
  afterAll(async () => {
    await gw?.close();
    await database?.close();
    await fake?.close();
  });

  it('runs prompt targets and judge scorers remotely; the judge prompt is created through the admin API', async () => {
    fake.setReply(judgeReply);
    const client = remoteGateway(gw.url, ADMIN_KEY);
    const out = await runJob(
      {
        name: 'remote',
        judge: 'fake/gpt-4o-mini',
        dataset: { items: [{ id: 'r1', input: 'where is my parcel', variables: { persona: 'a courier' }, context: 'where is my parcel' }] },
        targets: [{ name: 'support-v1', model: 'fake/gpt-4o-mini', prompt: 'support@1' }],
        scorers: ['hallucination', { name: 'contains', value: 'parcel' }],
      },
      { database, client },
    );
    fake.setReply(null);
    expect(out.status).toBe('succeeded');
    expect(out.items).toEqual([{ item_id: 'r1', target: 'support-v1', output: 'Echo: where is my parcel', scores: { hallucination: 1, contains: 1 } }]);
    const targetCall = fake.requests.find((r) => judgeKind(r.body) === null)!.body as { messages: unknown[]; metadata?: unknown };
    expect(targetCall.messages).toEqual([
      { role: 'system', content: 'You are a courier.' },
      { role: 'user', content: 'where is my parcel' },
    ]);
    const rows = await runScores(database, out.runId);
    expect(rows.find((r) => r.scorer === 'hallucination')).toMatchObject({ judgePromptVersion: 'sluice-judge-hallucination@1', judgeModel: 'fake/gpt-4o-mini' });
    expect(rows[0]!.callId).toMatch(/^[0-9a-f-]{36}$/);
    await gw.sink.waitFor(2);
    expect(gw.sink.records.map((r) => r.metadata?.sluice_eval_run)).toEqual([out.runId, out.runId]);
  });
});
