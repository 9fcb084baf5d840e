import type { ChatCompletion } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, startFakeProvider, type FakeProvider } from '../../../test/helpers/fake-provider.ts';
import type { ChatRequest, EmbeddingsRequest } from '../../../core/chat.ts';
import { parseConfig } from '../../config/load.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { CallContext, NativeBody, Provider, StreamChunk } from '../types.ts';
import { createAnthropicProvider } from './provider.ts';
import { JSON_TOOL } from './response-format.ts';
import { toAnthropicRequest } from './to-anthropic-request.ts';
import { drain, rejection, until } from '../../../test/helpers/provider-tests.ts';

/**
 * createAnthropicProvider against the fake provider (a real HTTP server on 127.0.0.1): the
 * translation path (OpenAI chat in, Messages on the wire, chat.completion out), the
 * pass-through path (the client's own Messages body sent as written), streams both ways, and
 * how upstream failures become GatewayErrors.
 */

const KEY = 'sk-ant-test-AnthropicProviderKey0123';
const CUSTOM_SECRET = 'custom-credential-value-5d20aa71';
const NOW = 1_700_000_123_456;
const CREATED = 1_700_000_123;
const MODEL = 'claude-haiku-4-5';

let fake: FakeProvider;
const opened: Provider[] = [];

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: KEY });
});
afterEach(() => {
  fake.reset();
});
afterAll(async () => {
  await Promise.all(opened.map((p) => p.close()));
  await fake.close();
});

/** A provider built as the registry builds it: from a parsed config entry. */
function provider(over: Record<string, unknown> = {}, name = 'claude'): Provider {
  const config = parseConfig(
    { providers: { [name]: { type: 'anthropic', api_key: KEY, base_url: fake.anthropicBaseUrl, headers: { 'x-custom-auth': CUSTOM_SECRET }, ...over } } },
    {},
  ).providers[name]!;
  const p = createAnthropicProvider(name, config, { now: () => NOW });
  opened.push(p);
  return p;
}

const ctx = (signal: AbortSignal = new AbortController().signal): CallContext => ({ signal, attempts: [] });
const chatReq = (over: Record<string, unknown> = {}): ChatRequest =>
  ({ model: 'client-alias', messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'hi there' }], ...over }) as ChatRequest;

/** A Messages body as a client of the /v1/messages face writes it. */
const nativeBody = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'client-model',
  max_tokens: 30,
  system: 'Be brief',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hi there' }] }],
  top_k: 5,
  thinking: { type: 'enabled', budget_tokens: 1024 },
  metadata: { user_id: 'u-1' },
  ...over,
});
const native = (body: Record<string, unknown>): NativeBody => ({ format: 'anthropic', body });

// system "Be brief" (2 words + 1) + user "hi there" (2 words + 1); answer "Echo: hi there".
const USAGE = { inputTokens: 6, outputTokens: 3, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };

const textOf = (chunks: StreamChunk[]): string => chunks.map((c) => c.chunk.choices[0]?.delta.content ?? '').join('');
const finishOf = (chunks: StreamChunk[]): Array<string | null | undefined> =>
  chunks.map((c) => c.chunk.choices[0]?.finish_reason).filter((f) => f != null);

/** SSE text of Anthropic events, as an upstream writes them. */
const sseOf = (events: Array<Record<string, unknown> & { type: string }>): string =>
  events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');

const MESSAGE_START = {
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: MODEL, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 4, output_tokens: 1 } },
};

describe('createAnthropicProvider: identity', () => {
  it('has no native n (the pipeline fans out) and speaks the anthropic client format', () => {
    const p = provider({}, 'main');
    expect(p).toMatchObject({ name: 'main', type: 'anthropic', nativeN: false, nativeFormat: 'anthropic' });
    expect(p.config).toMatchObject({ type: 'anthropic', api_key: KEY, base_url: fake.anthropicBaseUrl });
  });
});

describe('createAnthropicProvider: chat, translated', () => {
  it('POSTs the translated Messages body to /v1/messages and returns an OpenAI chat.completion', async () => {
    const chat = chatReq({ max_tokens: 50, temperature: 0.5, user: 'u-9' });
    const result = await provider().chat({ chat }, MODEL, ctx());

    expect(fake.requests).toHaveLength(1);
    const rec = fake.requests[0]!;
    expect(rec).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(rec.body).toEqual(JSON.parse(JSON.stringify(toAnthropicRequest(chat, { model: MODEL, defaultMaxTokens: 4096 }))));
    expect(rec.body).toMatchObject({ model: MODEL, max_tokens: 50, system: 'Be brief', temperature: 0.5, metadata: { user_id: 'u-9' } });
    expect(rec.body).not.toHaveProperty('stream');

    const body = result.body as unknown as ChatCompletion;
    expect(body).toMatchObject({ object: 'chat.completion', model: MODEL, created: CREATED });
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0]).toMatchObject({ index: 0, message: { role: 'assistant', content: 'Echo: hi there' }, finish_reason: 'stop' });
    expect(JSON.parse(result.text)).toEqual(result.body);
    expect(result.usage).toEqual(USAGE);
    expect(result.native).toBeUndefined();
  });

  it('each call gets its own completion id', async () => {
    const p = provider();
    const a = await p.chat({ chat: chatReq() }, MODEL, ctx());
    const b = await p.chat({ chat: chatReq() }, MODEL, ctx());
    expect(a.body['id']).not.toBe(b.body['id']);
  });

  it('max_tokens defaults to the provider default_max_tokens (else 4096)', async () => {
    await provider({ default_max_tokens: 77 }).chat({ chat: chatReq() }, MODEL, ctx());
    await provider().chat({ chat: chatReq() }, MODEL, ctx());
    expect(fake.requests.map((r) => (r.body as { max_tokens: number }).max_tokens)).toEqual([77, 4096]);
  });

  it('stop sequences and the token limit come back as OpenAI finish reasons', async () => {
    const p = provider();
    const stopped = await p.chat({ chat: chatReq({ stop: ' there' }) }, MODEL, ctx());
    expect(fake.requests[0]?.body).toMatchObject({ stop_sequences: [' there'] });
    expect((stopped.body as unknown as ChatCompletion).choices[0]).toMatchObject({ message: { content: 'Echo: hi' }, finish_reason: 'stop' });
    const cut = await p.chat({ chat: chatReq({ max_completion_tokens: 1 }) }, MODEL, ctx());
    expect((cut.body as unknown as ChatCompletion).choices[0]).toMatchObject({ message: { content: 'Echo:' }, finish_reason: 'length' });
  });

  it('tool_use blocks come back as tool_calls', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }];
    const result = await provider().chat({ chat: chatReq({ tools }) }, MODEL, ctx());
    expect(fake.requests[0]?.body).toMatchObject({ tools: [{ name: 'lookup', input_schema: { type: 'object' } }] });
    const choice = (result.body as unknown as ChatCompletion).choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.tool_calls).toEqual([{ id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '{"query":"hi there"}' } }]);
  });

  it('a json_schema answer through the reserved tool comes back as message content, never as a tool call', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const chat = chatReq({ response_format: { type: 'json_schema', json_schema: { name: 'place', schema } } });
    const result = await provider().chat({ chat }, MODEL, ctx());
    expect(fake.requests[0]?.body).toMatchObject({
      tools: [{ name: JSON_TOOL, input_schema: schema }],
      tool_choice: { type: 'tool', name: JSON_TOOL },
    });
    const choice = (result.body as unknown as ChatCompletion).choices[0]!;
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message.tool_calls).toBeUndefined();
    expect(JSON.parse(choice.message.content ?? '')).toEqual({ city: 'hi there' });
  });

  it('with structured_outputs the schema goes as output_config and the text is the JSON', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const chat = chatReq({ response_format: { type: 'json_schema', json_schema: { name: 'place', schema } } });
    const result = await provider({ structured_outputs: true }).chat({ chat }, MODEL, ctx());
    expect(fake.requests[0]?.body).toMatchObject({ output_config: { format: { type: 'json_schema', schema } } });
    expect(fake.requests[0]?.body).not.toHaveProperty('tools');
    expect(JSON.parse((result.body as unknown as ChatCompletion).choices[0]?.message.content ?? '')).toEqual({ city: 'hi there' });
  });

  it('a message without content is upstream_bad_response; a non-JSON body too', async () => {
    const p = provider();
    fake.enqueue({ status: 200, body: { type: 'message', role: 'assistant' } });
    expect(await rejection(p.chat({ chat: chatReq() }, MODEL, ctx()))).toMatchObject({ code: 'upstream_bad_response', provider: 'claude' });
    fake.enqueue({ malformed: true });
    expect(await rejection(p.chat({ chat: chatReq() }, MODEL, ctx()))).toMatchObject({ code: 'upstream_bad_response', provider: 'claude' });
  });
});

describe('createAnthropicProvider: chat, passed through', () => {
  it("sends the client's body as written (top_k, thinking kept; prompt and stream stripped; model replaced)", async () => {
    const own = nativeBody({ prompt: 'support@prod', stream: false });
    const result = await provider().chat({ chat: chatReq({ max_tokens: 30 }), native: native(own) }, 'claude-sonnet-4-6', ctx());

    const { prompt: _p, stream: _s, ...expected } = own;
    expect(fake.requests[0]?.body).toEqual({ ...expected, model: 'claude-sonnet-4-6' });

    // `native` is the upstream's own body text, for a client of the Messages face.
    expect(typeof result.native).toBe('string');
    const message = JSON.parse(result.native!) as { type: string; model: string; content: Array<{ type: string; text: string }> };
    expect(message).toMatchObject({ type: 'message', model: 'claude-sonnet-4-6', content: [{ type: 'text', text: 'Echo: hi there' }] });
    // The OpenAI form is still there, for the record and the cache.
    expect((result.body as unknown as ChatCompletion).choices[0]?.message.content).toBe('Echo: hi there');
    expect(JSON.parse(result.text)).toEqual(result.body);
    expect(result.usage).toEqual(USAGE);
  });

  it('nothing is added to the client body: without max_tokens the upstream 400 reaches the caller', async () => {
    const { max_tokens: _m, ...own } = nativeBody();
    const err = await rejection(provider({ default_max_tokens: 77 }).chat({ chat: chatReq(), native: native(own) }, MODEL, ctx()));
    expect(fake.requests[0]?.body).not.toHaveProperty('max_tokens');
    expect(err).toMatchObject({ code: 'upstream_bad_request', upstreamStatus: 400 });
    expect(err.message).toContain('max_tokens: Field required');
  });
});

describe('createAnthropicProvider: credentials and headers', () => {
  it('sends x-api-key, anthropic-version and the configured headers (no Authorization)', async () => {
    await provider().chat({ chat: chatReq() }, MODEL, ctx());
    expect(fake.requests[0]?.headers).toMatchObject({
      'x-api-key': KEY,
      'anthropic-version': '2023-06-01',
      'x-custom-auth': CUSTOM_SECRET,
      'user-agent': 'sluice/0.1',
      'content-type': 'application/json',
    });
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('a wrong key is upstream_auth_failed', async () => {
    const err = await rejection(provider({ api_key: 'sk-ant-wrong-0000000000' }).chat({ chat: chatReq() }, MODEL, ctx()));
    expect(err).toMatchObject({ code: 'upstream_auth_failed', status: 502, upstreamStatus: 401, provider: 'claude' });
  });
});

describe('createAnthropicProvider: upstream failures', () => {
  it.each([
    [400, 'upstream_bad_request', 400],
    [404, 'model_not_found', 404],
    [413, 'upstream_bad_request', 413],
    [429, 'upstream_rate_limited', 429],
    [500, 'upstream_error', 502],
    [529, 'upstream_error', 502],
  ] as const)('HTTP %i from the upstream is %s (client status %i)', async (status, code, clientStatus) => {
    fake.enqueue({ status });
    const err = await rejection(provider().chat({ chat: chatReq() }, MODEL, ctx()));
    expect(err).toMatchObject({ code, status: clientStatus, upstreamStatus: status, provider: 'claude' });
  });

  it("a 400 keeps the upstream's message, with the credentials it echoed scrubbed", async () => {
    fake.enqueue({ status: 400, echoHeaders: true });
    const err = await rejection(provider().chat({ chat: chatReq() }, MODEL, ctx()));
    expect(err.message).toContain('Injected fault: HTTP 400');
    for (const secret of [KEY, CUSTOM_SECRET]) expect(err.message).not.toContain(secret);
  });

  it('a stream the upstream refuses rejects chatStream itself', async () => {
    fake.enqueue({ status: 429, headers: { 'retry-after': '2' } });
    expect(await rejection(provider().chatStream({ chat: chatReq() }, MODEL, ctx()))).toMatchObject({
      code: 'upstream_rate_limited',
      retryAfter: 2,
    });
  });
});

describe('createAnthropicProvider: chatStream, translated', () => {
  it('sends the translated body with stream:true and yields OpenAI chunks; usage() after the end', async () => {
    const chat = chatReq({ max_tokens: 50, stream: true, stream_options: { include_usage: true } });
    const stream = await provider().chatStream({ chat }, MODEL, ctx());
    expect(stream.usage()).toBeNull();
    const { chunks, error } = await drain(stream);
    expect(error).toBeUndefined();

    expect(fake.requests[0]?.path).toBe('/v1/messages');
    expect(fake.requests[0]?.body).toEqual({ ...JSON.parse(JSON.stringify(toAnthropicRequest(chat, { model: MODEL, defaultMaxTokens: 4096 }))), stream: true });

    // message_start -> role chunk; one chunk per text_delta; message_delta -> finish chunk.
    expect(chunks).toHaveLength(5);
    const id = chunks[0]!.chunk.id;
    expect(id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    for (const c of chunks) {
      expect(c.native).toBeUndefined();
      expect(JSON.parse(c.data)).toEqual(c.chunk);
      expect(c.chunk).toMatchObject({ id, object: 'chat.completion.chunk', created: CREATED, model: MODEL });
    }
    expect(chunks[0]?.chunk.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.slice(1, 4).map((c) => c.chunk.choices[0]?.delta.content)).toEqual(['Echo:', ' hi', ' there']);
    expect(textOf(chunks)).toBe('Echo: hi there');
    expect(finishOf(chunks)).toEqual(['stop']);
    expect(stream.usage()).toEqual(USAGE);
  });

  it('streams tool calls as OpenAI tool_call deltas', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }];
    const { chunks, error } = await drain(await provider().chatStream({ chat: chatReq({ tools }) }, MODEL, ctx()));
    expect(error).toBeUndefined();
    const calls = chunks.flatMap((c) => c.chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '' } });
    expect(calls.map((c) => c.function?.arguments ?? '').join('')).toBe('{"query":"hi there"}');
    expect(finishOf(chunks)).toEqual(['tool_calls']);
  });

  it('an incomplete stream (it ends before message_stop) throws upstream_bad_response', async () => {
    const delta = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'partial' } };
    fake.enqueue({ status: 200, body: sseOf([MESSAGE_START, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, delta]) });
    const { chunks, error } = await drain(await provider().chatStream({ chat: chatReq() }, MODEL, ctx()));
    expect(textOf(chunks)).toBe('partial');
    expect(error).toMatchObject({ code: 'upstream_bad_response', provider: 'claude' });
    expect(error?.message).toContain('ended the stream before it was complete');
  });

  it('an error event mid-stream throws upstream_error after the chunks before it', async () => {
    fake.enqueue({ streamError: { message: 'Overloaded', type: 'overloaded_error' } });
    const { chunks, error } = await drain(await provider().chatStream({ chat: chatReq() }, MODEL, ctx()));
    expect(textOf(chunks)).toBe('Echo:');
    expect(error).toMatchObject({ code: 'upstream_error' });
    expect(error?.message).toContain('Overloaded');
  });

  // The upstream's words reach the client's SSE error event (upstream_error is exposed), so they
  // are scrubbed of the provider's credentials, as the OpenAI provider does.
  it('an error event mid-stream is scrubbed of the credentials it quotes and names the provider', async () => {
    fake.enqueue({ streamError: { message: `invalid x-api-key ${KEY} (${CUSTOM_SECRET})` } });
    const { error } = await drain(await provider().chatStream({ chat: chatReq() }, MODEL, ctx()));
    expect(error?.code).toBe('upstream_error');
    for (const secret of [KEY, CUSTOM_SECRET]) expect(error?.publicMessage).not.toContain(secret);
    expect(error?.provider).toBe('claude');
  });

  it('a connection cut mid-stream throws a GatewayError (upstream_error)', async () => {
    fake.enqueue({ cutAfterChunks: 3 });
    const { error } = await drain(await provider().chatStream({ chat: chatReq() }, MODEL, ctx()));
    expect(error).toMatchObject({ code: 'upstream_error', provider: 'claude' });
  });

  it('cancel() releases the upstream connection', async () => {
    fake.enqueue({ dripMs: 600_000 });
    const stream = await provider().chatStream({ chat: chatReq() }, MODEL, ctx());
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    stream.cancel();
    await until(() => fake.requests[0]!.aborted);
    await iterator.next().then(
      (r) => expect(r.done).toBe(true),
      (err: unknown) => expect(err).toBeInstanceOf(GatewayError),
    );
  });

  it('a client abort mid-stream surfaces as client_aborted', async () => {
    fake.enqueue({ dripMs: 600_000 });
    const ac = new AbortController();
    const stream = await provider().chatStream({ chat: chatReq() }, MODEL, ctx(ac.signal));
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    ac.abort();
    expect(await rejection(iterator.next())).toMatchObject({ code: 'client_aborted' });
  });
});

describe('createAnthropicProvider: chatStream, passed through', () => {
  it("sends the client's body with stream:true and yields the upstream's own frames as `native`", async () => {
    const own = nativeBody({ prompt: 'support@prod', stream: true });
    const stream = await provider().chatStream({ chat: chatReq(), native: native(own) }, 'claude-sonnet-4-6', ctx());
    const { chunks, error } = await drain(stream);
    expect(error).toBeUndefined();

    const { prompt: _p, ...expected } = own;
    expect(fake.requests[0]?.body).toEqual({ ...expected, model: 'claude-sonnet-4-6', stream: true });

    // One frame per upstream event, in order, each exactly as the upstream wrote it.
    const frames = chunks.map((c) => c.native).filter((f): f is string => f !== undefined && f !== '');
    const events = frames.map((f) => {
      const m = /^event: (\w+)\ndata: (.*)\n\n$/s.exec(f);
      expect(m, f).not.toBeNull();
      const data = JSON.parse(m![2]!) as { type: string };
      expect(data.type).toBe(m![1]);
      return m![1];
    });
    expect(events).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(chunks.every((c) => typeof c.native === 'string')).toBe(true);
    const deltas = frames
      .filter((f) => f.startsWith('event: content_block_delta'))
      .map((f) => (JSON.parse(f.slice(f.indexOf('data: ') + 6)) as { delta: { text: string } }).delta.text);
    expect(deltas.join('')).toBe('Echo: hi there');

    // The translated chunks still ride along (the record and the cache are fed from them).
    expect(textOf(chunks)).toBe('Echo: hi there');
    expect(finishOf(chunks)).toEqual(['stop']);
    for (const c of chunks) {
      if (c.data !== '') expect(JSON.parse(c.data)).toEqual(c.chunk);
      else expect(c.chunk.choices).toEqual([]);
    }
    expect(stream.usage()).toEqual(USAGE);
  });

  it('an incomplete pass-through stream throws upstream_bad_response after the frames it had', async () => {
    fake.enqueue({ status: 200, body: sseOf([MESSAGE_START]) });
    const { chunks, error } = await drain(await provider().chatStream({ chat: chatReq(), native: native(nativeBody()) }, MODEL, ctx()));
    expect(chunks.map((c) => c.native)).toEqual([sseOf([MESSAGE_START])]);
    expect(error).toMatchObject({ code: 'upstream_bad_response', provider: 'claude' });
  });
});

describe('createAnthropicProvider: embeddings and listModels', () => {
  it('has no embeddings: invalid_request, nothing sent', async () => {
    const err = await rejection(provider().embeddings({ model: 'x', input: 'a' } as EmbeddingsRequest, MODEL, ctx()));
    expect(err).toMatchObject({ code: 'invalid_request', status: 400, param: 'model' });
    expect(fake.requests).toHaveLength(0);
  });

  it('GETs /v1/models?limit=1000 and maps ids, created_at and the provider as owner', async () => {
    const models = await provider({}, 'claude2').listModels(new AbortController().signal);
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models?limit=1000' });
    expect(fake.requests[0]?.headers).toMatchObject({ 'x-api-key': KEY, 'anthropic-version': '2023-06-01' });
    const created = Date.parse('2025-01-01T00:00:00Z') / 1000;
    expect(models).toEqual(DEFAULT_MODELS.map((id) => ({ id, created, ownedBy: 'claude2' })));
  });

  it('entries without a string id are skipped; a missing or bad created_at is 0', async () => {
    fake.enqueue({ status: 200, body: { data: [{ id: 'a' }, { id: 3 }, { id: 'b', created_at: 'not a date' }] } });
    expect(await provider().listModels(new AbortController().signal)).toEqual([
      { id: 'a', created: 0, ownedBy: 'claude' },
      { id: 'b', created: 0, ownedBy: 'claude' },
    ]);
  });

  it('a non-200 is the mapped GatewayError', async () => {
    fake.enqueue({ status: 500 });
    expect(await rejection(provider().listModels(new AbortController().signal))).toMatchObject({ code: 'upstream_error', upstreamStatus: 500 });
  });
});
