import type { ChatCompletion } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, startFakeProvider, type FakeProvider } from '../../../test/helpers/fake-provider.ts';
import type { ChatRequest, EmbeddingsRequest } from '../../../core/chat.ts';
import { parseConfig } from '../../config/load.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { CallContext, Provider, StreamChunk } from '../types.ts';
import { createOpenAIProvider } from './provider.ts';
import { drain, rejection, until } from '../../../test/helpers/provider-tests.ts';

/**
 * createOpenAIProvider against the fake provider (a real HTTP server on 127.0.0.1): what goes
 * on the wire, what comes back, and how upstream failures become GatewayErrors.
 */

const KEY = 'sk-test-OpenAIProviderKey0123456789';
const ORG_HEADER = 'org-providertest-7c41';
const CUSTOM_SECRET = 'custom-credential-value-91ab03fe';

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
function provider(over: Record<string, unknown> = {}, name = 'oa'): Provider {
  const config = parseConfig(
    {
      providers: {
        [name]: {
          type: 'openai',
          api_key: KEY,
          base_url: fake.openaiBaseUrl,
          headers: { 'OpenAI-Organization': ORG_HEADER, 'x-custom-auth': CUSTOM_SECRET },
          ...over,
        },
      },
    },
    {},
  ).providers[name]!;
  const p = createOpenAIProvider(name, config, { now: () => 1_700_000_000_000 });
  opened.push(p);
  return p;
}

const ctx = (signal: AbortSignal = new AbortController().signal): CallContext => ({ signal, attempts: [] });
const chatReq = (over: Record<string, unknown> = {}): ChatRequest =>
  ({ model: 'client-alias', messages: [{ role: 'user', content: 'hi there' }], ...over }) as ChatRequest;

const textOf = (chunks: StreamChunk[]): string => chunks.map((c) => c.chunk.choices[0]?.delta.content ?? '').join('');

describe('createOpenAIProvider: identity', () => {
  it('carries its name, type and config; speaks Responses natively (issue 22); no nativeN limit', () => {
    const p = provider({}, 'main');
    expect(p.name).toBe('main');
    expect(p.type).toBe('openai');
    expect(p.config).toMatchObject({ type: 'openai', api_key: KEY, base_url: fake.openaiBaseUrl });
    expect(p.nativeFormat).toBe('openai-responses');
    expect(p.nativeN).toBeUndefined();
    expect(provider({ type: 'openai-compatible' }, 'local').nativeFormat).toBeUndefined();
  });
});

describe('createOpenAIProvider: chat', () => {
  it('POSTs {...req.chat, model, stream:false} to /chat/completions and returns text, body and usage', async () => {
    const chat = chatReq({ temperature: 0.2, user: 'u-1', stream: true, metadata: { team: 'a' } });
    const result = await provider().chat({ chat }, 'gpt-4o-mini', ctx());

    expect(fake.requests).toHaveLength(1);
    const rec = fake.requests[0]!;
    expect(rec).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(rec.body).toEqual({ ...chat, model: 'gpt-4o-mini', stream: false });

    const body = result.body as unknown as ChatCompletion;
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini' });
    expect(body.choices[0]?.message.content).toBe('Echo: hi there');
    // `text` is the upstream's body as it came (sent to the client as is), `body` its parse.
    expect(JSON.parse(result.text)).toEqual(result.body);
    // prompt: "hi there" = 2 words + 1; completion: "Echo: hi there" = 3 words.
    expect(result.usage).toEqual({ inputTokens: 3, outputTokens: 3, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(result.native).toBeUndefined();
  });

  it('normalises the upstream usage details (cached and reasoning tokens)', async () => {
    fake.setUsage({ prompt: 120, completion: 40, cached: 100, reasoning: 12 });
    const result = await provider().chat({ chat: chatReq() }, 'gpt-4o', ctx());
    expect(result.usage).toEqual({ inputTokens: 120, outputTokens: 40, cachedInputTokens: 100, cacheWriteTokens: 0, reasoningTokens: 12 });
  });

  it('usage is null when the upstream reports none', async () => {
    const body = { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [] };
    fake.enqueue({ status: 200, body });
    const result = await provider().chat({ chat: chatReq() }, 'gpt-4o', ctx());
    expect(result.usage).toBeNull();
    expect(result.body).toEqual(body);
  });

  it('sends the canonical chat, never a native body meant for another format', async () => {
    const native = { format: 'anthropic' as const, body: { model: 'x', max_tokens: 5, top_k: 3, messages: [{ role: 'user', content: 'hi there' }] } };
    await provider().chat({ chat: chatReq(), native }, 'gpt-4o-mini', ctx());
    expect(fake.requests[0]?.body).toEqual({ ...chatReq(), model: 'gpt-4o-mini', stream: false });
    expect(fake.requests[0]?.body).not.toHaveProperty('top_k');
  });

  it('a 200 without choices is upstream_bad_response; a non-JSON body too', async () => {
    const p = provider();
    fake.enqueue({ status: 200, body: { object: 'chat.completion' } });
    expect(await rejection(p.chat({ chat: chatReq() }, 'gpt-4o', ctx()))).toMatchObject({ code: 'upstream_bad_response', provider: 'oa' });
    fake.enqueue({ malformed: true });
    expect(await rejection(p.chat({ chat: chatReq() }, 'gpt-4o', ctx()))).toMatchObject({ code: 'upstream_bad_response', provider: 'oa' });
  });
});

describe('createOpenAIProvider: credentials and headers', () => {
  it('sends the api_key as a Bearer token, the configured headers and its user-agent', async () => {
    await provider().chat({ chat: chatReq() }, 'gpt-4o-mini', ctx());
    expect(fake.requests[0]?.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      'openai-organization': ORG_HEADER,
      'x-custom-auth': CUSTOM_SECRET,
      'user-agent': 'sluice/0.1',
      'content-type': 'application/json',
    });
  });

  it('the same headers reach streams, embeddings and model listings', async () => {
    const p = provider();
    await drain(await p.chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    await p.embeddings({ model: 'e', input: 'hello' } as EmbeddingsRequest, 'text-embedding-3-small', ctx());
    await p.listModels(new AbortController().signal);
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/embeddings', '/v1/models']);
    for (const r of fake.requests) {
      expect(r.headers).toMatchObject({ authorization: `Bearer ${KEY}`, 'openai-organization': ORG_HEADER, 'x-custom-auth': CUSTOM_SECRET });
    }
  });

  it('the api_key wins over a configured authorization header', async () => {
    await provider({ headers: { authorization: 'Bearer proxy-token-0000' } }).chat({ chat: chatReq() }, 'gpt-4o-mini', ctx());
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  // Headers are merged case-insensitively (provider-http.ts mergeHeaders): `Authorization` as
  // written in YAML and the api_key's `authorization` are one header, and the api_key's is sent.
  it('the api_key wins over a configured Authorization header written in another case', async () => {
    await provider({ headers: { Authorization: 'Bearer proxy-token-0000' } }).chat({ chat: chatReq() }, 'gpt-4o-mini', ctx());
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('without an api_key it sends no authorization header (an openai-compatible upstream without auth)', async () => {
    const p = provider({ type: 'openai-compatible', api_key: undefined });
    expect(p.type).toBe('openai-compatible');
    const err = await rejection(p.chat({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
    // This fake wants a key: the 401 is the gateway's credentials failing, not the client's.
    expect(err).toMatchObject({ code: 'upstream_auth_failed', status: 502, upstreamStatus: 401, provider: 'oa' });
  });

  it('a wrong key is upstream_auth_failed, and the upstream quoting it never reaches the message', async () => {
    const wrong = 'sk-test-WrongKeyForThisFake987654';
    const err = await rejection(provider({ api_key: wrong }).chat({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(err).toMatchObject({ code: 'upstream_auth_failed', upstreamStatus: 401 });
    expect(err.message).not.toContain(wrong);
    expect(err.message).not.toContain(wrong.slice(-4));
  });
});

describe('createOpenAIProvider: upstream failures', () => {
  it.each([
    [400, 'upstream_bad_request', 400],
    [404, 'model_not_found', 404],
    [422, 'upstream_bad_request', 422],
    [429, 'upstream_rate_limited', 429],
    [500, 'upstream_error', 502],
    [503, 'upstream_error', 502],
  ] as const)('HTTP %i from the upstream is %s (client status %i)', async (status, code, clientStatus) => {
    fake.enqueue({ status });
    const err = await rejection(provider().chat({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(err).toMatchObject({ code, status: clientStatus, upstreamStatus: status, provider: 'oa' });
  });

  it("a 400 keeps the upstream's own message for the client", async () => {
    fake.enqueue({ status: 400, body: { error: { message: "Unrecognized request argument supplied: foo", type: 'invalid_request_error' } } });
    const err = await rejection(provider().chat({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(err.code).toBe('upstream_bad_request');
    expect(err.message).toContain('Unrecognized request argument supplied: foo');
  });

  it('a 429 carries the Retry-After the upstream asked for', async () => {
    fake.enqueue({ status: 429, headers: { 'retry-after': '7' } });
    const err = await rejection(provider().chat({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(err).toMatchObject({ code: 'upstream_rate_limited', retryAfter: 7 });
  });

  it('an upstream echoing the request headers has the api_key and credential headers scrubbed', async () => {
    fake.enqueue({ status: 400, echoHeaders: true });
    const err = await rejection(provider().chat({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(err.code).toBe('upstream_bad_request');
    expect(err.message).toContain('Injected fault: HTTP 400');
    for (const secret of [KEY, CUSTOM_SECRET]) expect(err.message).not.toContain(secret);
  });

  it('a connection reset is upstream_unreachable', async () => {
    fake.enqueue({ reset: true });
    const err = await rejection(provider().chat({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(err).toMatchObject({ code: 'upstream_unreachable', provider: 'oa' });
  });

  it('a client that goes away before the answer is client_aborted, and the upstream request is cancelled', async () => {
    fake.enqueue({ hang: true });
    const ac = new AbortController();
    const pending = provider().chat({ chat: chatReq() }, 'gpt-4o-mini', ctx(ac.signal));
    await until(() => fake.requests.length === 1);
    ac.abort();
    expect(await rejection(pending)).toMatchObject({ code: 'client_aborted' });
    await until(() => fake.requests[0]!.aborted);
  });
});

describe('createOpenAIProvider: chatStream', () => {
  it('asks for a stream with include_usage, keeping the other stream_options, with the model replaced', async () => {
    const chat = chatReq({ stream_options: { include_usage: false, include_obfuscation: false }, temperature: 0 });
    await drain(await provider().chatStream({ chat }, 'gpt-4o-mini', ctx()));
    expect(fake.requests[0]?.path).toBe('/v1/chat/completions');
    expect(fake.requests[0]?.body).toEqual({
      ...chat,
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true, include_obfuscation: false },
    });
  });

  it('yields each upstream event as {data, chunk}, in order, then usage() once the stream ended', async () => {
    const stream = await provider().chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx());
    expect(stream.usage()).toBeNull();
    const { chunks, error } = await drain(stream);
    expect(error).toBeUndefined();

    // role chunk, one chunk per word piece, the finish chunk, the usage chunk; [DONE] is not a chunk.
    expect(chunks).toHaveLength(6);
    for (const c of chunks) {
      expect(JSON.parse(c.data)).toEqual(c.chunk);
      expect(c.native).toBeUndefined();
      expect(c.chunk).toMatchObject({ object: 'chat.completion.chunk', model: 'gpt-4o-mini' });
    }
    expect(chunks[0]?.chunk.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.slice(1, 4).map((c) => c.chunk.choices[0]?.delta.content)).toEqual(['Echo:', ' hi', ' there']);
    expect(textOf(chunks)).toBe('Echo: hi there');
    expect(chunks[4]?.chunk.choices[0]?.finish_reason).toBe('stop');
    expect(chunks[5]?.chunk.choices).toEqual([]);
    expect(chunks[5]?.chunk.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3 });

    expect(stream.usage()).toEqual({ inputTokens: 3, outputTokens: 3, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    await until(() => fake.answered() === 1);
    expect(fake.requests[0]?.aborted).toBe(false);
  });

  it('the connection is reused for the next request after a completed stream', async () => {
    const p = provider();
    for (let i = 0; i < 3; i++) {
      const { error } = await drain(await p.chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
      expect(error).toBeUndefined();
    }
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests.every((r) => !r.aborted)).toBe(true);
  });

  it('cancel() releases the upstream connection: the upstream sees the request aborted', async () => {
    // After the first event the upstream pauses (for as long as the connection lives).
    fake.enqueue({ dripMs: 600_000 });
    const p = provider();
    const stream = await p.chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx());
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    stream.cancel();
    await until(() => fake.requests[0]!.aborted);
    // The iterator does not hang on a cancelled stream: it ends, with a GatewayError if anything.
    await iterator.next().then(
      (r) => expect(r.done).toBe(true),
      (err: unknown) => expect(err).toBeInstanceOf(GatewayError),
    );
    // The provider still works afterwards.
    const { error } = await drain(await p.chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(error).toBeUndefined();
  });

  it('an error event mid-stream surfaces from the iterator as upstream_error, after the chunks before it, without credentials', async () => {
    fake.enqueue({ streamError: { message: `The server is overloaded (key ${KEY}, ${CUSTOM_SECRET})` } });
    const stream = await provider().chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx());
    const { chunks, error } = await drain(stream);
    // role chunk and the first word, then the error event
    expect(textOf(chunks)).toBe('Echo:');
    expect(error).toMatchObject({ code: 'upstream_error', provider: 'oa' });
    expect(error?.message).toContain('failed mid-stream: The server is overloaded');
    for (const secret of [KEY, CUSTOM_SECRET]) expect(error?.message).not.toContain(secret);
  });

  it('a connection cut mid-stream surfaces as a GatewayError (upstream_error), never as a clean end', async () => {
    fake.enqueue({ cutAfterChunks: 2 });
    const { chunks, error } = await drain(await provider().chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(chunks.length).toBeLessThanOrEqual(2);
    expect(error).toMatchObject({ code: 'upstream_error', provider: 'oa' });
  });

  it('an event that is not JSON is upstream_bad_response', async () => {
    fake.enqueue({ malformed: true });
    const { error } = await drain(await provider().chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(error).toMatchObject({ code: 'upstream_bad_response', provider: 'oa' });
  });

  it('a stream that ends without [DONE] is upstream_bad_response', async () => {
    const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'partial' }, finish_reason: null }] };
    fake.enqueue({ status: 200, body: `data: ${JSON.stringify(chunk)}\n\n` });
    const { chunks, error } = await drain(await provider().chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(textOf(chunks)).toBe('partial');
    expect(error).toMatchObject({ code: 'upstream_bad_response', provider: 'oa' });
    expect(error?.message).toContain('ended the stream before it was complete');
  });

  it('a client abort mid-stream surfaces as client_aborted', async () => {
    fake.enqueue({ dripMs: 600_000 });
    const ac = new AbortController();
    const stream = await provider().chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx(ac.signal));
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    ac.abort();
    expect(await rejection(iterator.next())).toMatchObject({ code: 'client_aborted' });
    await until(() => fake.requests[0]!.aborted);
  });

  it('a 4xx before the stream starts rejects chatStream itself with the mapped error', async () => {
    fake.enqueue({ status: 400, body: { error: { message: 'bad stream request' } } });
    const err = await rejection(provider().chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(err).toMatchObject({ code: 'upstream_bad_request', upstreamStatus: 400 });
    expect(err.message).toContain('bad stream request');
    fake.enqueue({ status: 429, headers: { 'retry-after': '3' } });
    expect(await rejection(provider().chatStream({ chat: chatReq() }, 'gpt-4o-mini', ctx()))).toMatchObject({
      code: 'upstream_rate_limited',
      retryAfter: 3,
    });
  });
});

describe('createOpenAIProvider: embeddings', () => {
  it('POSTs {...req, model} to /embeddings and returns text, body and input-only usage', async () => {
    const req = { model: 'alias', input: ['hello world', 'one two three'], dimensions: 4 } as EmbeddingsRequest;
    const result = await provider().embeddings(req, 'text-embedding-3-small', ctx());
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/v1/embeddings' });
    expect(fake.requests[0]?.body).toEqual({ ...req, model: 'text-embedding-3-small' });
    const body = result.body as { data: Array<{ index: number; embedding: number[] }>; model: string };
    expect(body.model).toBe('text-embedding-3-small');
    expect(body.data.map((d) => [d.index, d.embedding.length])).toEqual([
      [0, 4],
      [1, 4],
    ]);
    expect(JSON.parse(result.text)).toEqual(result.body);
    expect(result.usage).toEqual({ inputTokens: 5, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it('usage is null when the upstream reports no prompt_tokens', async () => {
    fake.enqueue({ status: 200, body: { object: 'list', data: [], model: 'm' } });
    const result = await provider().embeddings({ model: 'x', input: 'a' } as EmbeddingsRequest, 'm', ctx());
    expect(result.usage).toBeNull();
  });

  it('an upstream 400 is upstream_bad_request', async () => {
    const err = await rejection(provider().embeddings({ model: 'x', input: [] } as unknown as EmbeddingsRequest, 'm', ctx()));
    expect(err).toMatchObject({ code: 'upstream_bad_request', upstreamStatus: 400 });
  });
});

describe('createOpenAIProvider: listModels', () => {
  it('GETs /models and maps each entry to {id, created, ownedBy}', async () => {
    const models = await provider().listModels(new AbortController().signal);
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models', body: undefined });
    expect(models).toEqual(DEFAULT_MODELS.map((id) => ({ id, created: 1_700_000_000, ownedBy: 'fake' })));
  });

  it('skips entries without a string id; missing created is 0 and missing owner is the provider name', async () => {
    fake.enqueue({ status: 200, body: { object: 'list', data: [{ id: 'a' }, { id: 7 }, {}, { id: 'b', created: 5, owned_by: 'x' }] } });
    const models = await provider({}, 'local').listModels(new AbortController().signal);
    expect(models).toEqual([
      { id: 'a', created: 0, ownedBy: 'local' },
      { id: 'b', created: 5, ownedBy: 'x' },
    ]);
  });

  it('a body without data is an empty list; a non-JSON body is upstream_bad_response', async () => {
    const p = provider();
    fake.enqueue({ status: 200, body: { object: 'list' } });
    expect(await p.listModels(new AbortController().signal)).toEqual([]);
    fake.enqueue({ status: 200, body: 'not json' });
    expect(await rejection(p.listModels(new AbortController().signal))).toMatchObject({ code: 'upstream_bad_response' });
  });

  it('a non-200 is the mapped GatewayError', async () => {
    fake.enqueue({ status: 403 });
    expect(await rejection(provider().listModels(new AbortController().signal))).toMatchObject({
      code: 'upstream_auth_failed',
      upstreamStatus: 403,
    });
  });
});

describe('createOpenAIProvider: close', () => {
  it('after close() nothing more is sent; calls fail with a GatewayError', async () => {
    const p = provider();
    await p.listModels(new AbortController().signal);
    await p.close();
    fake.reset();
    await rejection(p.chat({ chat: chatReq() }, 'gpt-4o-mini', ctx()));
    expect(fake.requests).toHaveLength(0);
  });
});
