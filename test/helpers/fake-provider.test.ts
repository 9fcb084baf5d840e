import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from './fake-provider.ts';

const KEY = 'sk-test-key-abc-1234';
let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: KEY });
  openai = new OpenAI({ baseURL: fake.openaiBaseUrl, apiKey: KEY, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: fake.anthropicBaseUrl, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => fake.reset());

const tools: ChatCompletionTool[] = [
  { type: 'function', function: { name: 'search', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
  { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
];
const anthropicTools: Anthropic.Tool[] = [
  { name: 'search', input_schema: { type: 'object', properties: { query: { type: 'string' } } } },
  { name: 'lookup', input_schema: { type: 'object', properties: { query: { type: 'string' } } } },
];

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

describe('OpenAI chat completions', () => {
  it('answers a non-streaming request with a full chat.completion', async () => {
    const res = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'hello' }, { type: 'text', text: 'big world' }] },
      ],
    });
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('gpt-4o-mini');
    expect(res.system_fingerprint).toBeTruthy();
    expect(typeof res.created).toBe('number');
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: 'Echo: hello big world', refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    });
    // prompt: (2 + 1) + (3 + 1); completion: 4 words
    expect(res.usage).toEqual({
      prompt_tokens: 7,
      completion_tokens: 4,
      total_tokens: 11,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    const rec = fake.requests[0];
    expect(rec?.method).toBe('POST');
    expect(rec?.path).toBe('/v1/chat/completions');
    expect(rec?.headers['authorization']).toBe(`Bearer ${KEY}`);
    expect(rec?.body).toMatchObject({ model: 'gpt-4o-mini' });
    expect(rec?.aborted).toBe(false);
  });

  it('streams chunks whose deltas concatenate to the non-stream text, with usage last', async () => {
    const params = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'one two three four' }] };
    const full = await openai.chat.completions.create(params);
    const chunks = await collect(
      await openai.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }),
    );
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(full.choices[0]?.message.content);
    expect(text).toBe('Echo: one two three four');
    for (const c of chunks) {
      expect(c).toMatchObject({ id: chunks[0]?.id, object: 'chat.completion.chunk', model: 'gpt-4o' });
      expect(c.system_fingerprint).toBeTruthy();
      for (const ch of c.choices) expect(ch).toHaveProperty('logprobs', null);
    }
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(contentChunks).toHaveLength(5);
    const finalIdx = chunks.findIndex((c) => c.choices[0]?.finish_reason === 'stop');
    expect(chunks[finalIdx]?.choices[0]?.delta).toEqual({});
    const last = chunks[chunks.length - 1];
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual(full.usage);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('omits usage from chunks without include_usage and ends with [DONE]', async () => {
    const res = await fetch(`${fake.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const raw = await res.text();
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
    const events = raw.split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    for (const e of events.slice(0, -1)) expect(JSON.parse(e.slice(6))).not.toHaveProperty('usage');
  });

  it('calls two tools in parallel, and one when parallel_tool_calls is false or a tool is named', async () => {
    const messages = [{ role: 'user' as const, content: 'weather in Paris' }];
    const par = await openai.chat.completions.create({ model: 'm', messages, tools });
    const choice = par.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"query":"weather in Paris"}' } },
      { id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{"query":"weather in Paris"}' } },
    ]);
    const single = await openai.chat.completions.create({ model: 'm', messages, tools, parallel_tool_calls: false });
    expect(single.choices[0]?.message.tool_calls?.map((t) => t.type === 'function' && t.function.name)).toEqual(['search']);
    const named = await openai.chat.completions.create({
      model: 'm',
      messages,
      tools,
      tool_choice: { type: 'function', function: { name: 'lookup' } },
    });
    expect(named.choices[0]?.message.tool_calls?.map((t) => t.type === 'function' && t.function.name)).toEqual(['lookup']);
    const none = await openai.chat.completions.create({ model: 'm', messages, tools, tool_choice: 'none' });
    expect(none.choices[0]?.message.content).toBe('Echo: weather in Paris');
  });

  it('answers a tool result with "Tool said: ..."', async () => {
    const res = await openai.chat.completions.create({
      model: 'm',
      tools,
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'search', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_9', content: 'sunny, 21C' },
      ],
    });
    expect(res.choices[0]?.message.content).toBe('Tool said: sunny, 21C');
    expect(res.choices[0]?.finish_reason).toBe('stop');
  });

  it('streams tool calls the SDK stream helper reassembles', async () => {
    const runner = openai.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'find "cats" now' }], tools });
    const argDeltas: string[] = [];
    runner.on('tool_calls.function.arguments.delta', (e) => argDeltas.push(e.arguments_delta));
    const final = await runner.finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(calls).toHaveLength(2);
    for (const c of calls) {
      expect(c.type).toBe('function');
      if (c.type === 'function') expect(JSON.parse(c.function.arguments)).toEqual({ query: 'find "cats" now' });
    }
    expect(calls.map((c) => c.id)).toEqual(['call_1', 'call_2']);
    expect(argDeltas.length).toBeGreaterThanOrEqual(4);
  });

  it('returns n distinct choices', async () => {
    const res = await openai.chat.completions.create({ model: 'm', n: 2, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'Echo: hi #0'],
      [1, 'Echo: hi #1'],
    ]);
    expect(res.usage?.completion_tokens).toBe(6);
    const final = await openai.chat.completions.stream({ model: 'm', n: 2, messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion();
    expect(final.choices.map((c) => c.message.content)).toEqual(['Echo: hi #0', 'Echo: hi #1']);
  });

  it('wraps the reply in JSON for json mode', async () => {
    for (const response_format of [{ type: 'json_object' as const }, { type: 'json_schema' as const, json_schema: { name: 'x', schema: {} } }]) {
      const res = await openai.chat.completions.create({ model: 'm', response_format, messages: [{ role: 'user', content: 'give json' }] });
      expect(JSON.parse(res.choices[0]?.message.content ?? '')).toEqual({ answer: 'Echo: give json' });
    }
  });

  it('applies stop strings and word limits', async () => {
    const messages = [{ role: 'user' as const, content: 'alpha beta gamma delta' }];
    const stopped = await openai.chat.completions.create({ model: 'm', messages, stop: ['gamma', 'beta'] });
    expect(stopped.choices[0]?.message.content).toBe('Echo: alpha ');
    expect(stopped.choices[0]?.finish_reason).toBe('stop');
    const limited = await openai.chat.completions.create({ model: 'm', messages, max_completion_tokens: 3 });
    expect(limited.choices[0]?.message.content).toBe('Echo: alpha beta');
    expect(limited.choices[0]?.finish_reason).toBe('length');
    expect(limited.usage?.completion_tokens).toBe(3);
    const legacy = await openai.chat.completions.create({ model: 'm', messages, max_tokens: 1 });
    expect(legacy.choices[0]?.message.content).toBe('Echo:');
  });

  it('returns logprobs when asked', async () => {
    const res = await openai.chat.completions.create({ model: 'm', logprobs: true, top_logprobs: 2, messages: [{ role: 'user', content: 'hi there' }] });
    const lp = res.choices[0]?.logprobs;
    expect(lp?.refusal).toBeNull();
    expect(lp?.content?.map((e) => e.token)).toEqual(['Echo:', ' hi', ' there']);
    for (const e of lp?.content ?? []) {
      expect(e.top_logprobs).toHaveLength(2);
      expect(e.top_logprobs[0]?.token).toBe(e.token);
      expect(e.bytes).toEqual([...Buffer.from(e.token)]);
      expect(e.logprob).toBeLessThan(0);
    }
  });

  it('honours setReply and setUsage', async () => {
    fake.setReply((req) => `custom for ${(req as { model: string }).model}`);
    fake.setUsage({ prompt: 100, completion: 5, cached: 40, reasoning: 2 });
    const res = await openai.chat.completions.create({ model: 'zz', messages: [{ role: 'user', content: 'x' }] });
    expect(res.choices[0]?.message.content).toBe('custom for zz');
    expect(res.usage).toMatchObject({
      prompt_tokens: 100,
      completion_tokens: 5,
      total_tokens: 105,
      prompt_tokens_details: { cached_tokens: 40 },
      completion_tokens_details: { reasoning_tokens: 2 },
    });
    fake.reset();
    const again = await openai.chat.completions.create({ model: 'zz', messages: [{ role: 'user', content: 'x' }] });
    expect(again.choices[0]?.message.content).toBe('Echo: x');
    expect(fake.requests).toHaveLength(1);
  });

  it('validates the body', async () => {
    await expect(openai.chat.completions.create({ model: 'm', messages: [] })).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
    const res = await fetch(`${fake.openaiBaseUrl}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: 'not json' });
    expect(res.status).toBe(400);
    expect(fake.requests.at(-1)?.body).toBe('not json');
    const nf = await fetch(`${fake.openaiBaseUrl}/nope`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ error: { message: 'Invalid URL (GET /v1/nope)', type: 'invalid_request_error', param: null, code: null } });
  });
});

describe('OpenAI embeddings and models', () => {
  it('returns deterministic float and base64 embeddings that agree', async () => {
    const floats = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['a b', 'c'], encoding_format: 'float' });
    expect(floats.object).toBe('list');
    expect(floats.model).toBe('text-embedding-3-small');
    expect(floats.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    expect(floats.data[0]?.embedding).toHaveLength(8);
    expect(floats.data[0]?.embedding).not.toEqual(floats.data[1]?.embedding);
    const decoded = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['a b', 'c'] });
    expect((fake.requests.at(-1)?.body as { encoding_format: string }).encoding_format).toBe('base64');
    expect(decoded.data.map((d) => d.embedding)).toEqual(floats.data.map((d) => d.embedding));
    const norm = Math.hypot(...(floats.data[0]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 5);
    const again = await openai.embeddings.create({ model: 'x', input: 'a b', encoding_format: 'float', dimensions: 3 });
    expect(again.data[0]?.embedding).toHaveLength(3);
    const tokens = await openai.embeddings.create({ model: 'x', input: [[1, 2, 3], [4]], encoding_format: 'float' });
    expect(tokens.data).toHaveLength(2);
    expect(tokens.usage.prompt_tokens).toBe(4);
  });

  it('lists and retrieves models in OpenAI format', async () => {
    const page = await openai.models.list();
    expect(page.data.map((m) => m.id)).toContain('gpt-4o-mini');
    expect(page.data[0]).toMatchObject({ object: 'model', owned_by: 'fake' });
    expect((await openai.models.retrieve('gpt-4o')).id).toBe('gpt-4o');
    await expect(openai.models.retrieve('nope')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('Anthropic messages', () => {
  it('creates a message', async () => {
    const msg = await anthropic.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 100,
      system: 'you are terse',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }],
    });
    expect(msg).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-6',
      content: [{ type: 'text', text: 'Echo: hello there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 7, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    expect(msg.id).toMatch(/^msg_/);
    const rec = fake.requests[0];
    expect(rec?.headers['authorization']).toBe(`Bearer ${KEY}`); // the v1.14 SDK sends its apiKey as a bearer token
    expect(rec?.headers['anthropic-version']).toBeTruthy();
  });

  it('streams the exact event sequence; finalMessage matches create', async () => {
    const params = { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user' as const, content: 'stream me please' }] };
    const created = await anthropic.messages.create(params);
    const stream = anthropic.messages.stream(params);
    const final = await stream.finalMessage();
    expect(final.content).toEqual(created.content);
    expect(final.usage.output_tokens).toBe(created.usage.output_tokens);
    expect(final.usage.input_tokens).toBe(created.usage.input_tokens);

    const res = await fetch(`${fake.anthropicBaseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, stream: true }),
    });
    const raw = await res.text();
    const names = raw
      .split('\n\n')
      .filter(Boolean)
      .map((e) => /^event: (\S+)\ndata: /.exec(e)?.[1]);
    expect(names).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  it('uses tools (parallel unless disabled) and answers tool results', async () => {
    const messages = [{ role: 'user' as const, content: 'look it up' }];
    const par = await anthropic.messages.create({ model: 'c', max_tokens: 10, messages, tools: anthropicTools });
    expect(par.stop_reason).toBe('tool_use');
    expect(par.content).toMatchObject([
      { type: 'tool_use', id: 'toolu_1', name: 'search', input: { query: 'look it up' } },
      { type: 'tool_use', id: 'toolu_2', name: 'lookup', input: { query: 'look it up' } },
    ]);
    const one = await anthropic.messages.create({
      model: 'c',
      max_tokens: 10,
      messages,
      tools: anthropicTools,
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    });
    expect(one.content.map((b) => b.type === 'tool_use' && b.name)).toEqual(['search']);
    const named = anthropic.messages.stream({ model: 'c', max_tokens: 10, messages, tools: anthropicTools, tool_choice: { type: 'tool', name: 'lookup' } });
    const final = await named.finalMessage();
    expect(final.content).toMatchObject([{ type: 'tool_use', name: 'lookup', input: { query: 'look it up' } }]);
    const answered = await anthropic.messages.create({
      model: 'c',
      max_tokens: 10,
      tools: anthropicTools,
      messages: [
        ...messages,
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'search', input: { query: 'x' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'found it' }] }] },
      ],
    });
    expect(answered.content).toMatchObject([{ type: 'text', text: 'Tool said: found it' }]);
  });

  it('applies stop_sequences and max_tokens', async () => {
    const messages = [{ role: 'user' as const, content: 'one two three' }];
    const s = await anthropic.messages.create({ model: 'c', max_tokens: 10, messages, stop_sequences: ['two'] });
    expect(s).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'two', content: [{ text: 'Echo: one ' }] });
    const m = await anthropic.messages.create({ model: 'c', max_tokens: 2, messages });
    expect(m).toMatchObject({ stop_reason: 'max_tokens', stop_sequence: null, content: [{ text: 'Echo: one' }] });
  });

  it('rejects a missing max_tokens or anthropic-version with 400 in Anthropic format', async () => {
    const headers = { 'x-api-key': KEY, 'content-type': 'application/json' };
    const body = JSON.stringify({ model: 'c', messages: [{ role: 'user', content: 'x' }] });
    const noMax = await fetch(`${fake.url}/v1/messages`, { method: 'POST', headers: { ...headers, 'anthropic-version': '2023-06-01' }, body });
    expect(noMax.status).toBe(400);
    expect(await noMax.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    const noVersion = await fetch(`${fake.url}/v1/messages`, { method: 'POST', headers, body });
    expect(noVersion.status).toBe(400);
    expect(((await noVersion.json()) as { error: { message: string } }).error.message).toMatch(/anthropic-version/);
  });

  it('counts tokens and honours setUsage', async () => {
    const params = { model: 'c', messages: [{ role: 'user' as const, content: 'a b c' }] };
    expect(await anthropic.messages.countTokens(params)).toEqual({ input_tokens: 4 });
    fake.setUsage({ prompt: 10, completion: 2, cached: 7, cacheWrite: 3 });
    const msg = await anthropic.messages.create({ ...params, max_tokens: 5 });
    expect(msg.usage).toMatchObject({ input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 });
    const streamed = await anthropic.messages.stream({ ...params, max_tokens: 5 }).finalMessage();
    expect(streamed.usage).toMatchObject({ input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 });
  });

  it('lists models in Anthropic format', async () => {
    const page = await anthropic.models.list();
    expect(page.data[0]).toEqual({ type: 'model', id: 'gpt-4o-mini', display_name: 'gpt-4o-mini', created_at: '2025-01-01T00:00:00Z' });
    expect(page.has_more).toBe(false);
    expect(page.last_id).toBe('claude-haiku-4-5');
    expect((await anthropic.models.retrieve('claude-sonnet-4-6')).id).toBe('claude-sonnet-4-6');
    await expect(anthropic.models.retrieve('nope')).rejects.toMatchObject({ status: 404 });
  });
});

describe('auth', () => {
  it('rejects a wrong OpenAI key with 401 echoing the masked key', async () => {
    const bad = new OpenAI({ baseURL: fake.openaiBaseUrl, apiKey: 'sk-test-wrong-k-1234', maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const e = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(e.status).toBe(401);
    expect(e.code).toBe('invalid_api_key');
    expect(e.message).toContain('Incorrect API key provided: sk-te***********1234.');
    expect(e.message).not.toContain('sk-test-wrong');
    const missing = await fetch(`${fake.openaiBaseUrl}/models`);
    expect(missing.status).toBe(401);
  });

  it('rejects a wrong Anthropic key with 401 authentication_error', async () => {
    const bad = new Anthropic({ baseURL: fake.anthropicBaseUrl, apiKey: 'nope', maxRetries: 0 });
    const err = await bad.messages.create({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.AuthenticationError>).error).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'invalid x-api-key' },
    });
    const body = JSON.stringify({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    const viaHeader = (h: Record<string, string>) =>
      fetch(`${fake.url}/v1/messages`, { method: 'POST', headers: { 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...h }, body });
    expect((await viaHeader({ 'x-api-key': KEY })).status).toBe(200);
    expect((await viaHeader({ 'x-api-key': 'wrong' })).status).toBe(401);
    const missing = await viaHeader({});
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'x-api-key header is required' } });
  });

  it('accepts anything when no apiKey is configured', async () => {
    const open = await startFakeProvider({ models: ['only'], embeddingDimensions: 4 });
    try {
      const client = new OpenAI({ baseURL: open.openaiBaseUrl, apiKey: 'whatever', maxRetries: 0 });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['only']);
      const emb = await client.embeddings.create({ model: 'e', input: 'x', encoding_format: 'float' });
      expect(emb.data[0]?.embedding).toHaveLength(4);
    } finally {
      await open.close();
    }
  });
});

describe('faults', () => {
  const ask = (content = 'hi') => openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content }] });

  it('status fault: error shape and headers reach the SDK error; path filter applies', async () => {
    fake.enqueue({ status: 429, headers: { 'retry-after': '1' }, path: '/v1/chat/completions' });
    await openai.models.list(); // not matching the path: unaffected
    const err = await ask().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.headers.get('retry-after')).toBe('1');
    expect(e.error).toMatchObject({ type: 'rate_limit_error', param: null, code: null });
    await expect(ask()).resolves.toBeTruthy(); // one-shot

    fake.enqueue({ status: 529 });
    const aerr = await anthropic.messages.create({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((x: unknown) => x);
    expect((aerr as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((aerr as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });

    fake.enqueue({ status: 500, body: { custom: true } });
    const cerr = await ask().catch((x: unknown) => x);
    expect((cerr as InstanceType<typeof OpenAI.APIError>).status).toBe(500);
    expect(fake.requests).toHaveLength(5);
  });

  it('reset destroys the socket: connection error', async () => {
    fake.enqueue({ reset: true });
    await expect(ask()).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    expect(fake.requests[0]?.body).toMatchObject({ model: 'm' });
    expect(fake.requests[0]?.aborted).toBe(false);
  });

  it('cutAfterChunks ends the stream with an error and no [DONE]', async () => {
    fake.enqueue({ cutAfterChunks: 2 });
    const stream = await openai.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'a b c d' }] });
    const got: ChatCompletionChunk[] = [];
    await expect(
      (async () => {
        for await (const c of stream) got.push(c);
      })(),
    ).rejects.toThrow();
    expect(got).toHaveLength(2);

    fake.enqueue({ cutAfterChunks: 3 });
    await expect(anthropic.messages.stream({ model: 'c', max_tokens: 9, messages: [{ role: 'user', content: 'x y' }] }).finalMessage()).rejects.toThrow();
  });

  it('malformed: broken JSON body and broken SSE data line', async () => {
    fake.enqueue({ malformed: true });
    await expect(ask()).rejects.toThrow();
    fake.enqueue({ malformed: true });
    const quiet = new OpenAI({ baseURL: fake.openaiBaseUrl, apiKey: KEY, maxRetries: 0, logLevel: 'off' });
    const stream = await quiet.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] });
    await expect(collect(stream)).rejects.toThrow(SyntaxError);
    fake.enqueue({ malformed: true });
    await expect(anthropic.messages.create({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toThrow();
  });

  it('hang: the SDK times out and the request is marked aborted', async () => {
    fake.enqueue({ hang: true });
    const t0 = Date.now();
    await expect(openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { timeout: 150 })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionTimeoutError,
    );
    expect(Date.now() - t0).toBeLessThan(1500);
    await until(() => fake.requests[0]?.aborted === true);
  });

  it('streamError: OpenAI error data line and Anthropic error event after first content', async () => {
    fake.enqueue({ streamError: { message: 'boom', type: 'server_error' } });
    const stream = await openai.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'a b c' }] });
    const got: ChatCompletionChunk[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as Error).message).toContain('boom');
    expect(got.map((c) => c.choices[0]?.delta.content)).toEqual(['', 'Echo:']);

    fake.enqueue({ streamError: { message: 'Overloaded', type: 'overloaded_error' } });
    const texts: string[] = [];
    const s = anthropic.messages.stream({ model: 'c', max_tokens: 9, messages: [{ role: 'user', content: 'x y' }] });
    s.on('text', (t) => texts.push(t));
    const aerr = await s.finalMessage().catch((e: unknown) => e);
    expect(aerr).toBeInstanceOf(Anthropic.APIError);
    expect((aerr as InstanceType<typeof Anthropic.APIError>).error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(texts).toEqual(['Echo:']);
  });

  it('delayMs and dripMs slow the answer down', async () => {
    fake.enqueue({ delayMs: 120 });
    let t0 = Date.now();
    await ask();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);

    fake.enqueue({ dripMs: 20 });
    t0 = Date.now();
    const chunks = await collect(await openai.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'a b c' }] }));
    expect(chunks.length).toBe(6);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(6 * 20 - 10);
  });

  it('records aborted when the client aborts mid-stream', async () => {
    fake.enqueue({ dripMs: 30 });
    const stream = await openai.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'a b c d e f' }] });
    for await (const _ of stream) break; // the SDK aborts the request on break
    await until(() => fake.requests[0]?.aborted === true);
  });

  it('close() also ends hung requests', async () => {
    const other = await startFakeProvider();
    other.enqueue({ hang: true });
    const client = new OpenAI({ baseURL: other.openaiBaseUrl, apiKey: 'k', maxRetries: 0 });
    const pending = client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    await until(() => other.requests.length === 1);
    await other.close();
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(other.requests[0]?.aborted).toBe(false);
  });
});
