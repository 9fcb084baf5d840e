import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { runWithoutSpaces } from '../helpers/text-samples.ts';

/**
 * Issue 14, item 3: a long run without spaces made js-tiktoken quadratic (40K letters in
 * count_tokens held the event loop for two minutes). The bound itself is proven by counting
 * tiktoken's work in gateway/cost/*.test.ts; here a real gateway answers such requests.
 */
describe('token estimates of a 200K-character run without spaces', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let anthropic: Anthropic;
  let openai: OpenAI;
  const run = runWithoutSpaces(200_000);

  beforeAll(async () => {
    fake = await startFakeProvider();
    gw = await startTestGateway({
      config: { providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, models: ['gpt-4o-mini', 'text-embedding-3-small'] } } },
    });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: ADMIN_KEY, maxRetries: 0 });
    openai = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('/v1/messages/count_tokens answers with an estimate', async () => {
    const res = await anthropic.messages
      .countTokens({ model: 'claude-sonnet-4-5', system: 'Count this.', messages: [{ role: 'user', content: run }] })
      .withResponse();
    expect(res.response.status).toBe(200);
    expect(res.response.headers.get('x-sluice-token-count')).toBe('estimate');
    // Random letters are ~3–5 bytes a token; an estimate, not a stall.
    expect(res.data.input_tokens).toBeGreaterThan(200_000 / 8);
    expect(res.data.input_tokens).toBeLessThan(200_000);
  });

  it('several such requests at once all get their count, and the server keeps answering', async () => {
    const counts = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        anthropic.messages.countTokens({ model: 'gpt-4o', messages: [{ role: 'user', content: runWithoutSpaces(200_000, i + 2) }] }),
      ),
    );
    for (const c of counts) expect(c.input_tokens).toBeGreaterThan(200_000 / 8);
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('prices a stream cut before its usage chunk from an estimate of the run', async () => {
    fake.enqueue({ cutAfterChunks: 2, path: '/v1/chat/completions' });
    const stream = await openai.chat.completions.create({
      model: 'up/gpt-4o-mini',
      messages: [{ role: 'user', content: run }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const failure = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    await gw.sink.waitFor(1);
    const record = gw.sink.records.at(-1)!;
    expect(record.status).toBe('upstream_error');
    expect(record.costStatus).toBe('estimated');
    expect(record.usage?.inputTokens).toBeGreaterThan(200_000 / 8);
  });
});
