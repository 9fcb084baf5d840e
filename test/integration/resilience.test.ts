import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/** Retries, timeouts, mid-stream failures and client disconnects against a faulty upstream. */
describe.each(['openai-compatible', 'anthropic'] as const)('resilience with an %s upstream', (kind) => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let client: OpenAI;
  const model = kind === 'anthropic' ? 'fake/claude-haiku-4-5' : 'fake/gpt-4o-mini';
  const path = kind === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
  const messages = [{ role: 'user' as const, content: 'one two three four five six' }];

  beforeAll(async () => {
    fake = await startFakeProvider();
    const base = kind === 'anthropic' ? fake.anthropicBaseUrl : fake.openaiBaseUrl;
    gw = await startTestGateway({
      config: {
        providers: {
          fake: {
            type: kind,
            base_url: base,
            retry: { max_attempts: 3, base_delay_ms: 10, max_delay_ms: 50 },
            timeouts: { connect_ms: 1_000, first_byte_ms: 300, total_ms: 5_000 },
          },
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

  const upstreamCalls = () => fake.requests.filter((r) => r.path === path).length;
  const lastRecord = async () => {
    await new Promise((r) => setTimeout(r, 20));
    return gw.sink.records.at(-1)!;
  };

  it.each([500, 502, 503])('retries a %i and succeeds, recording each attempt', async (status) => {
    fake.enqueue({ status, path });
    const res = await client.chat.completions.create({ model, messages });
    expect(res.choices[0]!.message.content).toContain('Echo:');
    expect(upstreamCalls()).toBe(2);
    const record = await lastRecord();
    expect(record.attempts.map((a) => a.status)).toEqual([status, 200]);
  });

  it('honours Retry-After on a 429', async () => {
    fake.enqueue({ status: 429, path, headers: { 'retry-after': '1' } });
    const started = Date.now();
    await client.chat.completions.create({ model, messages });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(upstreamCalls()).toBe(2);
  });

  it('gives the client a 429 with Retry-After when the upstream keeps limiting', async () => {
    fake.enqueue(...[1, 2, 3].map(() => ({ status: 429, path, headers: { 'retry-after': '0' } })));
    const err = (await client.chat.completions.create({ model, messages }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(upstreamCalls()).toBe(3);
    expect(err.headers?.get('retry-after')).toBe('0');
  });

  it('retries a connection reset and malformed JSON', async () => {
    fake.enqueue({ reset: true, path }, { malformed: true, path });
    const res = await client.chat.completions.create({ model, messages });
    expect(res.choices[0]!.message.content).toContain('Echo:');
    expect(upstreamCalls()).toBe(3);
    const record = await lastRecord();
    expect(record.attempts.map((a) => a.error)).toEqual(['upstream_unreachable', 'upstream_bad_response', null]);
  });

  it('times out before headers, retries, then answers 504', async () => {
    fake.enqueue({ hang: true, path }, { hang: true, path }, { hang: true, path });
    const err = (await client.chat.completions.create({ model, messages }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(504);
    const record = await lastRecord();
    expect(record.attempts.map((a) => a.error)).toEqual(['upstream_timeout', 'upstream_timeout', 'upstream_timeout']);
    expect(record.status).toBe('upstream_error');
  });

  it('does not retry a 400 from the upstream', async () => {
    fake.enqueue({ status: 400, path });
    const err = (await client.chat.completions.create({ model, messages }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(upstreamCalls()).toBe(1);
  });

  it('retries a stream that fails before it starts', async () => {
    fake.enqueue({ status: 503, path });
    const stream = await client.chat.completions.create({ model, messages, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: one two three four five six');
    expect(upstreamCalls()).toBe(2);
  });

  it('ends a stream cut mid-way with an error event, not a silent truncation, and does not retry', async () => {
    fake.enqueue({ cutAfterChunks: 4, path });
    const stream = await client.chat.completions.create({ model, messages, stream: true });
    let text = '';
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(String((failure as Error).message)).toMatch(/closed the connection mid-stream|ended the stream before it was complete/);
    expect(upstreamCalls()).toBe(1);
    const record = await lastRecord();
    expect(record.status).toBe('upstream_error');
    expect(record.stream).toBe(true);
  });

  it('passes a mid-stream upstream error event on as an error event', async () => {
    fake.enqueue({ streamError: { message: 'overloaded right now' }, path });
    const stream = await client.chat.completions.create({ model, messages, stream: true });
    const failure = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(String((failure as Error).message)).toMatch(/overloaded right now/);
  });

  it('cancels the upstream when the client goes away mid-stream, recording client_aborted', async () => {
    fake.enqueue({ dripMs: 100, path });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model, messages, stream: true }, { signal: controller.signal });
    let seen = 0;
    await (async () => {
      for await (const _ of stream) {
        if (++seen === 2) controller.abort();
      }
    })().catch(() => {});
    const deadline = Date.now() + 3_000;
    while (!fake.requests.at(-1)?.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fake.requests.at(-1)!.aborted).toBe(true);
    while (gw.sink.records.at(-1)?.status !== 'client_aborted' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(gw.sink.records.at(-1)!.status).toBe('client_aborted');
  });
});
