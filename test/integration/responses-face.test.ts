import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectValidAgainstSpec } from '../helpers/openapi.ts';

/** Issue 9: the OpenAI Responses face, driven by the official openai SDK. */
describe.each([
  { kind: 'openai-compatible', model: 'up/gpt-4o-mini' },
  { kind: 'anthropic', model: 'up/claude-haiku-4-5' },
] as const)('/v1/responses over an $kind upstream', ({ kind, model }) => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeProvider();
    gw = await startTestGateway({
      config: { providers: { up: { type: kind, base_url: kind === 'anthropic' ? fake.anthropicBaseUrl : fake.openaiBaseUrl } } },
    });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('creates a response that validates against the spec, and GET returns it', async () => {
    const res = await client.responses.create({ model, instructions: 'Be brief.', input: 'hello responses' });
    expectValidAgainstSpec('Response', res);
    expect(res.output_text).toBe('Echo: hello responses');
    expect(res.status).toBe('completed');
    const sent = fake.requests.at(-1)!.body as { messages?: Array<{ role: string }>; system?: unknown };
    if (kind === 'openai-compatible') expect(sent.messages![0]!.role).toBe('system');
    let fetched: unknown;
    for (let i = 0; i < 20 && !fetched; i++) {
      fetched = await client.responses.retrieve(res.id).catch(() => undefined);
      if (!fetched) await new Promise((r) => setTimeout(r, 25));
    }
    expect(fetched).toMatchObject({ id: res.id, output: res.output });
    await expect(client.responses.retrieve('resp_nope')).rejects.toMatchObject({ status: 404 });
  });

  it('streams with the Responses event types', async () => {
    const stream = client.responses.stream({ model, input: 'stream responses please' });
    const types: string[] = [];
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    expectValidAgainstSpec('Response', final);
    expect(final.output_text).toBe('Echo: stream responses please');
    expect(types[0]).toBe('response.created');
    expect(types).toContain('response.output_text.delta');
    expect(types.at(-1)).toBe('response.completed');
  });

  it('round-trips a function tool call', async () => {
    const tools: OpenAI.Responses.Tool[] = [
      { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { query: { type: 'string' } } }, strict: false },
    ];
    const first = await client.responses.create({ model, input: 'weather in Rome', tools });
    expectValidAgainstSpec('Response', first);
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather' });
    const second = await client.responses.create({
      model,
      tools,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: (call as { call_id: string }).call_id, output: 'hot, 30C' }],
    });
    expect(second.output_text).toBe('Tool said: hot, 30C');
  });

  it('continues a conversation with previous_response_id', async () => {
    const first = await client.responses.create({ model, input: 'my name is Ada' });
    const second = await client.responses.create({ model, input: 'what is my name', previous_response_id: first.id });
    expectValidAgainstSpec('Response', second);
    const sent = JSON.stringify(fake.requests.at(-1)!.body);
    expect(sent).toContain('my name is Ada');
    expect(sent).toContain('Echo: my name is Ada');
    expect(second.previous_response_id).toBe(first.id);
    await expect(client.responses.create({ model, input: 'x', previous_response_id: 'resp_missing' })).rejects.toMatchObject({ status: 404 });
  });

  it('serves a prompt reference from the registry', async () => {
    const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
    const name = `greeter-${kind}`;
    await fetch(`${gw.url}/api/prompts`, { method: 'POST', headers: admin, body: JSON.stringify({ name }) });
    await fetch(`${gw.url}/api/prompts/${name}/versions`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ messages: [{ role: 'system', content: 'You greet {{who}}.' }], model }),
    });
    const res = await client.responses.create({ model, prompt: { id: name, version: '1', variables: { who: 'Grace' } }, input: 'hi' }).withResponse();
    expectValidAgainstSpec('Response', res.data);
    expect(res.response.headers.get('x-sluice-prompt-version')).toBe(`${name}@1`);
    expect(JSON.stringify(fake.requests.at(-1)!.body)).toContain('You greet Grace.');
  });
});
