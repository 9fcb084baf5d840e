import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { testDatabases } from '../helpers/test-db.ts';

/** Registry prompts applied at the gateway (issue 5 §4–5), on PGlite and Postgres. */
describe.each(testDatabases())('prompts applied at the gateway ($kind)', (target) => {
  let fake: FakeProvider;
  let database: Database;
  let a: TestGateway;
  let b: TestGateway;
  const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    fake = await startFakeProvider();
    database = await target.open();
    const config = { providers: { fake: { type: 'openai-compatible', base_url: fake.openaiBaseUrl } } };
    a = await startTestGateway({ config, database });
    b = await startTestGateway({ config, database });
    const api = (path: string, method: string, body: unknown) =>
      fetch(`${a.url}/api/prompts${path}`, { method, headers: admin, body: JSON.stringify(body) });
    expect((await api('', 'POST', { name: 'support' })).status).toBe(201);
    const v1 = await api('/support/versions', 'POST', {
      messages: [{ role: 'system', content: 'You are {{persona}}.' }],
      model: 'fake/gpt-4o-mini',
      params: { temperature: 0.2 },
      variables: { type: 'object', properties: { persona: { type: 'string' } }, required: ['persona'] },
    });
    expect(await v1.json()).toMatchObject({ version: 1 });
    await api('/support/versions', 'POST', { messages: [{ role: 'system', content: 'You are {{persona}}, v2.' }], model: 'fake/gpt-4o-mini' });
    expect((await api('/support/labels/production', 'PUT', { version: 1 })).status).toBe(200);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await database.close();
    await fake.close();
  });

  it('renders the prompt before the request messages, applies defaults and strips the field (official SDK)', async () => {
    const client = new OpenAI({ baseURL: a.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({
        model: 'fake/gpt-4o-mini',
        messages: [{ role: 'user', content: 'where is my parcel' }],
        // @ts-expect-error the gateway's extension field, sent as-is by the SDK
        prompt: { id: 'support', label: 'production', variables: { persona: 'a patient agent' } },
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('Echo: where is my parcel');
    expect(response.headers.get('x-sluice-prompt-version')).toBe('support@1');
    const sent = fake.requests.at(-1)!.body as Record<string, unknown>;
    expect(sent.messages).toEqual([
      { role: 'system', content: 'You are a patient agent.' },
      { role: 'user', content: 'where is my parcel' },
    ]);
    expect(sent.temperature).toBe(0.2);
    expect(sent).not.toHaveProperty('prompt');
    await a.sink.waitFor(1);
    expect(a.sink.records.at(-1)).toMatchObject({ promptName: 'support', promptVersion: 1 });
  });

  it('takes the prompt from the x-sluice-prompt header, with the model from the version', async () => {
    const res = await fetch(`${a.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { ...admin, 'x-sluice-prompt': 'support@2' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], prompt: { variables: { persona: 'Bob' } } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sluice-prompt-version')).toBe('support@2');
    const sent = fake.requests.at(-1)!.body as { model: string; messages: Array<{ content: string }> };
    expect(sent.model).toBe('gpt-4o-mini');
    expect(sent.messages[0]!.content).toBe('You are Bob, v2.');
  });

  it('a label move is seen by another instance on the next call within a second', async () => {
    const move = await fetch(`${a.url}/api/prompts/support/labels/production`, { method: 'PUT', headers: admin, body: JSON.stringify({ version: 2 }) });
    expect(move.status).toBe(200);
    const deadline = Date.now() + 1_000;
    let seen = '';
    while (Date.now() < deadline) {
      const res = await fetch(`${b.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { ...admin, 'x-sluice-prompt': 'support@production' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], prompt: { variables: { persona: 'X' } } }),
      });
      seen = res.headers.get('x-sluice-prompt-version') ?? '';
      if (seen === 'support@2') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toBe('support@2');
  });

  it('400 naming a missing or ill-typed variable, 404 for an unknown prompt or version', async () => {
    const call = (prompt: unknown) =>
      fetch(`${a.baseURL}/chat/completions`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ model: 'fake/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], prompt }),
      });
    const missing = await call({ id: 'support', version: 1 });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { param: string } }).error.param).toBe('variables.persona');
    const illTyped = await call({ id: 'support', version: 1, variables: { persona: 42 } });
    expect(illTyped.status).toBe(400);
    expect(((await illTyped.json()) as { error: { message: string } }).error.message).toContain('persona');
    expect((await call({ id: 'nope', label: 'production' })).status).toBe(404);
    expect((await call({ id: 'support', version: 99 })).status).toBe(404);
    expect((await call({ id: 'support', version: 1, label: 'x', variables: { persona: 'a' } })).status).toBe(400);
  });
});
