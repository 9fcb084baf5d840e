import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectValidAgainstSpec } from '../helpers/openapi.ts';

/**
 * The drop-in face, driven by the official openai SDK, through each kind of upstream. Every
 * body and every stream chunk is checked against the official OpenAI OpenAPI description.
 */
const UPSTREAM_KEY = 'sk-upstream-secret-abcdef123456';

const upstreams = [
  { kind: 'openai-compatible', model: 'fake/gpt-4o-mini' },
  { kind: 'anthropic', model: 'fake/claude-haiku-4-5' },
] as const;

describe.each(upstreams)('chat completions through an $kind upstream', ({ kind, model }) => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeProvider({ apiKey: UPSTREAM_KEY });
    gw = await startTestGateway({
      config: {
        providers: {
          fake:
            kind === 'anthropic'
              ? { type: 'anthropic', api_key: UPSTREAM_KEY, base_url: fake.anthropicBaseUrl }
              : { type: 'openai-compatible', api_key: UPSTREAM_KEY, base_url: fake.openaiBaseUrl },
        },
      },
    });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('answers a plain chat call with a spec-valid completion and the gateway headers', async () => {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there' }] })
      .withResponse();
    expectValidAgainstSpec('CreateChatCompletionResponse', data);
    expect(data.choices[0]!.message.content).toBe('Echo: hello there');
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-request-id')).toMatch(/\S+/);
    expect(response.headers.get('x-sluice-call-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(response.headers.get('x-sluice-overhead-ms'))).toBeGreaterThanOrEqual(0);
    // The upstream got the provider key, never the gateway key.
    const sent = fake.requests.at(-1)!;
    expect(JSON.stringify(sent.headers)).not.toContain(ADMIN_KEY);
    await gw.sink.waitFor(1);
    const record = gw.sink.records.at(-1)!;
    expect(record).toMatchObject({ status: 'ok', provider: 'fake', stream: false });
  });

  it('streams chunks that are each spec-valid and add up to the non-stream answer', async () => {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'stream me some words please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usageSeen = false;
    for await (const chunk of stream) {
      expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usageSeen = true;
    }
    expect(text).toBe('Echo: stream me some words please');
    expect(usageSeen).toBe(true);
  });

  it('hides the usage chunk the gateway asked for when the client did not ask', async () => {
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'no usage' }], stream: true });
    for await (const chunk of stream) {
      expect(chunk.choices.length).toBeGreaterThan(0);
      expect(chunk.usage ?? null).toBeNull();
    }
    await gw.sink.waitFor(1);
    expect(gw.sink.records.at(-1)!.usage?.outputTokens).toBeGreaterThan(0);
  });

  it("works with the SDK's stream helper", async () => {
    const runner = client.chat.completions.stream({ model, messages: [{ role: 'user', content: 'helper test' }] });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe('Echo: helper test');
  });

  const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
    { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
  ];

  it('round-trips parallel tool calls, non-stream and stream', async () => {
    const first = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'weather in Paris' }], tools });
    expectValidAgainstSpec('CreateChatCompletionResponse', first);
    const calls = first.choices[0]!.message.tool_calls!;
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(calls.map((c) => (c.type === 'function' ? c.function.name : ''))).toEqual(['get_weather', 'get_time']);
    for (const c of calls) if (c.type === 'function') expect(JSON.parse(c.function.arguments)).toEqual({ query: 'weather in Paris' });

    const streamed = await client.chat.completions
      .stream({ model, messages: [{ role: 'user', content: 'weather in Paris' }], tools })
      .finalChatCompletion();
    const streamedCalls = streamed.choices[0]!.message.tool_calls!;
    expect(streamedCalls.map((c) => (c.type === 'function' ? JSON.parse(c.function.arguments) : null))).toEqual([
      { query: 'weather in Paris' },
      { query: 'weather in Paris' },
    ]);

    const second = await client.chat.completions.create({
      model,
      tools,
      messages: [
        { role: 'user', content: 'weather in Paris' },
        { role: 'assistant', content: null, tool_calls: calls },
        ...calls.map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: `result for ${c.id}` })),
      ],
    });
    expectValidAgainstSpec('CreateChatCompletionResponse', second);
    expect(second.choices[0]!.message.content).toMatch(/^Tool said: result for /);
  });

  it('honours json mode', async () => {
    const res = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'json please' }],
      response_format: { type: 'json_object' },
    });
    expectValidAgainstSpec('CreateChatCompletionResponse', res);
    expect(JSON.parse(res.choices[0]!.message.content!)).toHaveProperty('answer');
  });

  it('returns n=2 choices', async () => {
    const res = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'two please' }], n: 2 });
    expectValidAgainstSpec('CreateChatCompletionResponse', res);
    expect(res.choices.map((c) => c.index)).toEqual([0, 1]);
  });

  it('passes stop sequences and max_tokens through', async () => {
    const res = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'one two three four five' }],
      max_tokens: 3,
    });
    expect(res.choices[0]!.finish_reason).toBe('length');
    const stopped = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'alpha beta gamma' }],
      stop: [' gamma'],
    });
    expect(stopped.choices[0]!.message.content).toBe('Echo: alpha beta');
  });

  it('sends image content parts upstream', async () => {
    await client.chat.completions.create({
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    expect(JSON.stringify(fake.requests.at(-1)!.body)).toContain('iVBORw0KGgo=');
  });

  it('lists and retrieves models with a slash in the id', async () => {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id);
    expect(ids).toContain(model);
    for (const m of list.data) expectValidAgainstSpec('Model', m);
    const one = await client.models.retrieve(model);
    expectValidAgainstSpec('Model', one);
    expect(one.id).toBe(model);
    await expect(client.models.retrieve('fake/no-such-model')).rejects.toMatchObject({ status: 404 });
  });
});

describe('embeddings', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let client: OpenAI;
  beforeAll(async () => {
    fake = await startFakeProvider({ apiKey: UPSTREAM_KEY });
    gw = await startTestGateway({
      config: {
        providers: {
          fake: { type: 'openai-compatible', api_key: UPSTREAM_KEY, base_url: fake.openaiBaseUrl },
          claude: { type: 'anthropic', api_key: UPSTREAM_KEY, base_url: fake.anthropicBaseUrl },
        },
      },
    });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it('returns float and base64 vectors that agree', async () => {
    const asFloat = await client.embeddings.create({ model: 'fake/text-embedding-3-small', input: ['a b', 'c'], encoding_format: 'float' });
    expectValidAgainstSpec('CreateEmbeddingResponse', asFloat);
    // The SDK asks for base64 by default and decodes it.
    const raw = await fetch(`${gw.baseURL}/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake/text-embedding-3-small', input: ['a b', 'c'], encoding_format: 'base64' }),
    });
    const rawBody = (await raw.json()) as { data: Array<{ embedding: unknown }> };
    expectValidAgainstSpec('CreateEmbeddingResponse', rawBody);
    expect(typeof rawBody.data[0]!.embedding).toBe('string');
    const viaSdk = await client.embeddings.create({ model: 'fake/text-embedding-3-small', input: ['a b', 'c'] });
    expect(viaSdk.data[0]!.embedding.length).toBe(asFloat.data[0]!.embedding.length);
    viaSdk.data[0]!.embedding.forEach((v, i) => expect(v).toBeCloseTo(asFloat.data[0]!.embedding[i]!, 5));
  });

  it('says clearly that an anthropic provider has no embeddings', async () => {
    await expect(client.embeddings.create({ model: 'claude/claude-haiku-4-5', input: 'x' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('no embeddings endpoint'),
    });
  });
});
