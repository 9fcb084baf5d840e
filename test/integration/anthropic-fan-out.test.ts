import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectValidAgainstSpec } from '../helpers/openapi.ts';

/**
 * `n` to an Anthropic upstream (no native `n`), driven by the official openai SDK: bounded by
 * `server.max_n`, one upstream call per choice, a failed choice retried alone, and every
 * upstream answer that arrived on the call record, also when the call fails. Each answer
 * costs the same (fixed usage, flat prices), so totals are counted, not estimated.
 */
const MODEL = 'fake/claude-haiku-4-5';
const MAX_N = 8;
const USAGE = { prompt: 10, completion: 4 };
// USD per 1M tokens = micro-USD per token: one answer costs 10 * 1 + 4 * 2 = 18 micro-USD.
const ANSWER_MICROS = 18;
const messages = [{ role: 'user' as const, content: 'several answers please' }];

interface CallView {
  usage: { input_tokens: number | null; output_tokens: number | null } | null;
  cost_micros: number | null;
  status: string;
  attempts: Array<{ status: number | null; error: string | null }>;
}

describe('n fan-out to an Anthropic upstream', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeProvider();
    gw = await startTestGateway({
      callLog: true,
      config: {
        providers: {
          fake: { type: 'anthropic', base_url: fake.anthropicBaseUrl, api_key: 'k', retry: { max_attempts: 3, base_delay_ms: 0, max_delay_ms: 0 } },
        },
        pricing: { overrides: { [MODEL]: { input: 1, output: 2 } } },
        server: { max_n: MAX_N },
        logging: { flush_ms: 20 },
      },
    });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    fake.setUsage(USAGE);
  });

  const messageCalls = () => fake.requests.filter((r) => r.path === '/v1/messages');

  /** The call as the admin API reports it, once the batched writer has stored it. */
  async function storedCall(id: string): Promise<CallView> {
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${gw.url}/api/calls/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      if (res.status === 200) return (await res.json()) as CallView;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`call ${id} was never stored`);
  }

  it('refuses n above server.max_n with a 400 naming n, before any upstream call', async () => {
    const err = await client.chat.completions.create({ model: MODEL, messages, n: MAX_N + 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const api = err as InstanceType<typeof OpenAI.APIError>;
    expect(api.status).toBe(400);
    expect(api.param).toBe('n');
    expect(api.message).toContain(`at most ${MAX_N}`);
    expect(messageCalls()).toHaveLength(0);
  });

  it('answers n=5 with five choices from five single-choice upstream calls, priced on all five', async () => {
    const { data, response } = await client.chat.completions.create({ model: MODEL, messages, n: 5 }).withResponse();
    expectValidAgainstSpec('CreateChatCompletionResponse', data);
    expect(data.choices.map((c) => c.index)).toEqual([0, 1, 2, 3, 4]);
    for (const c of data.choices) expect(c.message.content).toBe('Echo: several answers please');
    expect(messageCalls()).toHaveLength(5);
    for (const r of messageCalls()) expect(r.body).not.toHaveProperty('n');
    expect(data.usage).toMatchObject({ prompt_tokens: 50, completion_tokens: 20 });
    const call = await storedCall(response.headers.get('x-sluice-call-id')!);
    expect(call.usage).toMatchObject({ input_tokens: 50, output_tokens: 20 });
    expect(call.cost_micros).toBe(5 * ANSWER_MICROS);
  });

  it('streams n=5 as one stream of five re-indexed choices with the summed usage', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages, n: 5, stream: true, stream_options: { include_usage: true } });
    const text = new Map<number, string>();
    const finished = new Set<number>();
    let usage: ChatCompletionChunk['usage'] = null;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
      ids.add(chunk.id);
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text.set(c.index, (text.get(c.index) ?? '') + (c.delta.content ?? ''));
        if (c.finish_reason) finished.add(c.index);
      }
    }
    expect([...text.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    for (const t of text.values()) expect(t).toBe('Echo: several answers please');
    expect([...finished].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(ids.size).toBe(1);
    expect(usage).toMatchObject({ prompt_tokens: 50, completion_tokens: 20 });
    expect(messageCalls()).toHaveLength(5);
  });

  it('retries a failed choice alone: n + 1 upstream calls, and only the answers are paid', async () => {
    fake.enqueue({ path: '/v1/messages', status: 529 });
    const { data, response } = await client.chat.completions.create({ model: MODEL, messages, n: 5 }).withResponse();
    expect(data.choices).toHaveLength(5);
    expect(messageCalls()).toHaveLength(6);
    const call = await storedCall(response.headers.get('x-sluice-call-id')!);
    expect(call.attempts.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 529]);
    expect(call.cost_micros).toBe(5 * ANSWER_MICROS);

    // Streamed: a stream that failed to start is retried alone too.
    fake.reset();
    fake.setUsage(USAGE);
    fake.enqueue({ path: '/v1/messages', status: 503 });
    const stream = await client.chat.completions.create({ model: MODEL, messages, n: 3, stream: true });
    const indices = new Set<number>();
    for await (const chunk of stream) for (const c of chunk.choices) indices.add(c.index);
    expect([...indices].sort()).toEqual([0, 1, 2]);
    expect(messageCalls()).toHaveLength(4);
  });

  it('when one choice fails for good: the rest are cancelled, nothing re-runs, and every answer that arrived is on the record', async () => {
    // Of four calls: the first hangs (cancelled), two answer, and the last fails with a 400
    // (not retried) once those two answers were sent: two answers paid for, no more.
    fake.enqueue(
      { path: '/v1/messages', hang: true },
      { path: '/v1/messages', delayMs: 0 },
      { path: '/v1/messages', delayMs: 0 },
      { path: '/v1/messages', afterAnswers: 2, status: 400 },
    );
    const err = await client.chat.completions
      .create({ model: MODEL, messages, n: 4 })
      .withResponse()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const api = err as InstanceType<typeof OpenAI.APIError>;
    expect(api.status).toBe(400);
    expect(messageCalls()).toHaveLength(4);
    // The hung call was cancelled by the gateway (its connection closed before an answer).
    for (let i = 0; i < 200 && !messageCalls().some((r) => r.aborted); i++) await new Promise((r) => setTimeout(r, 10));
    expect(messageCalls().filter((r) => r.aborted)).toHaveLength(1);

    const call = await storedCall(api.headers!.get('x-sluice-call-id')!);
    expect(call.status).not.toBe('ok');
    expect(call.usage).toMatchObject({ input_tokens: 2 * USAGE.prompt, output_tokens: 2 * USAGE.completion });
    expect(call.cost_micros).toBe(2 * ANSWER_MICROS);
    expect(call.attempts.map((a) => a.error ?? 'ok').sort()).toEqual(['cancelled', 'ok', 'ok', 'upstream_bad_request']);
  });
});
