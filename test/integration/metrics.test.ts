import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../gateway/config/env.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { labelsOf, parsePrometheusText, valueOf, type Exposition } from '../helpers/prom-text.ts';

/**
 * GET /metrics through the real app (DESIGN §4.5): after a known set of calls (plain, streamed,
 * cached, failed upstream, retried, unknown model) the scraped counters equal what was sent.
 */
describe('GET /metrics', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let open: TestGateway;
  let client: OpenAI;
  const usage = { input: 0, output: 0, calls: 0 };
  const path = '/v1/chat/completions';
  const noDelay = { base_delay_ms: 0, max_delay_ms: 0 };

  const scrape = async (target: TestGateway, headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` }) => {
    const res = await fetch(`${target.url}/metrics`, { headers });
    return { res, text: await res.text() };
  };
  const count = (u: OpenAI.CompletionUsage | null | undefined) => {
    usage.input += u!.prompt_tokens;
    usage.output += u!.completion_tokens;
    usage.calls++;
  };
  let exp: Exposition;

  beforeAll(async () => {
    fake = await startFakeProvider();
    const config = {
      providers: {
        fake: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, retry: { max_attempts: 2, ...noDelay } },
        once: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, retry: { max_attempts: 1, ...noDelay } },
      },
      routes: { chat: { variants: [{ name: 'a', target: 'fake/gpt-4o-mini' }] } },
    };
    gw = await startTestGateway({ config });
    open = await startTestGateway({ config, overrides: { metricsPublic: parseEnv({ SLUICE_METRICS_PUBLIC: '1' }).SLUICE_METRICS_PUBLIC } });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    const messages = (text: string) => [{ role: 'user' as const, content: text }];

    count((await client.chat.completions.create({ model: 'chat', messages: messages('plain call'), temperature: 0.7 })).usage);
    const stream = await client.chat.completions.create({ model: 'chat', messages: messages('a streamed call'), stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) if (chunk.usage) count(chunk.usage);
    count((await client.chat.completions.create({ model: 'chat', messages: messages('cache me'), temperature: 0 })).usage);
    await gw.sink.waitFor(3); // the miss is stored before the same request comes again
    await client.chat.completions.create({ model: 'chat', messages: messages('cache me'), temperature: 0 }); // hit: no upstream tokens
    fake.enqueue({ status: 500, path });
    await expect(client.chat.completions.create({ model: 'once/gpt-4o-mini', messages: messages('fails') })).rejects.toThrow();
    fake.enqueue({ status: 500, path });
    count((await client.chat.completions.create({ model: 'fake/gpt-4o-mini', messages: messages('retried once'), temperature: 0.5 })).usage);
    count((await client.chat.completions.create({ model: 'fake/mystery-model-1', messages: messages('nobody configured me') })).usage);
    await gw.sink.waitFor(7);
    const { res, text } = await scrape(gw);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    exp = parsePrometheusText(text);
  });
  afterAll(async () => {
    await gw?.close();
    await open?.close();
    await fake?.close();
  });

  it('counts calls by status, route and variant', () => {
    expect(valueOf(exp, 'sluice_requests_total', { status: 'ok' })).toBe(6);
    expect(valueOf(exp, 'sluice_requests_total', { status: 'upstream_error', provider: 'once', model: 'gpt-4o-mini' })).toBe(1);
    expect(valueOf(exp, 'sluice_requests_total', { route: 'chat', variant: 'a', endpoint: 'chat.completions' })).toBe(4);
  });

  it('counts cache hits and misses', () => {
    expect(valueOf(exp, 'sluice_cache_requests_total', { result: 'hit' })).toBe(1);
    expect(valueOf(exp, 'sluice_cache_requests_total', { result: 'miss' })).toBe(gw.sink.records.filter((r) => r.cacheStatus === 'miss').length);
    expect(valueOf(exp, 'sluice_cache_requests_total', { result: 'miss' })).toBeGreaterThanOrEqual(1);
  });

  it('counts upstream attempts by outcome, the retry included', () => {
    expect(valueOf(exp, 'sluice_upstream_attempts_total', { provider: 'fake', outcome: 'ok' })).toBe(5);
    expect(valueOf(exp, 'sluice_upstream_attempts_total', { provider: 'fake', outcome: 'error' })).toBe(1);
    expect(valueOf(exp, 'sluice_upstream_attempts_total', { provider: 'once', outcome: 'error' })).toBe(1);
    expect(valueOf(exp, 'sluice_upstream_attempts_total', { outcome: 'ok' })).toBe(fake.requests.filter((r) => r.path === path).length - 2);
  });

  it('sums token usage as the upstream reported it', () => {
    const input = { gen_ai_operation_name: 'chat', gen_ai_token_type: 'input' };
    const output = { gen_ai_operation_name: 'chat', gen_ai_token_type: 'output' };
    expect(valueOf(exp, 'gen_ai_client_token_usage_count', input)).toBe(usage.calls);
    expect(valueOf(exp, 'gen_ai_client_token_usage_sum', input)).toBe(usage.input);
    expect(valueOf(exp, 'gen_ai_client_token_usage_count', output)).toBe(usage.calls);
    expect(valueOf(exp, 'gen_ai_client_token_usage_sum', output)).toBe(usage.output);
    expect(valueOf(exp, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_provider_name: 'fake' })).toBe(6);
    expect(valueOf(exp, 'sluice_time_to_first_token_seconds_count')).toBe(1);
  });

  it('labels a model no config names `other`', () => {
    const models = new Set(labelsOf(exp, 'sluice_requests_total').map((l) => l['model']));
    expect(models).toEqual(new Set(['gpt-4o-mini', 'other']));
    expect(valueOf(exp, 'sluice_requests_total', { model: 'other', provider: 'fake', status: 'ok' })).toBe(1);
    expect(exp.samples.some((s) => Object.values(s.labels).includes('mystery-model-1'))).toBe(false);
  });

  it('exposes the scrape-time and process metrics', () => {
    for (const name of ['sluice_call_log_queue_depth', 'sluice_incidents_open', 'sluice_overhead_seconds', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(exp.types.has(name), name).toBe(true);
    }
  });

  it('needs an admin key, and counts the 401 as a rejection', async () => {
    const { res } = await scrape(gw, {});
    expect(res.status).toBe(401);
    const after = parsePrometheusText((await scrape(gw)).text);
    expect(valueOf(after, 'sluice_rejections_total', { reason: 'unauthenticated' })).toBe(valueOf(exp, 'sluice_rejections_total', { reason: 'unauthenticated' }) + 1);
  });

  it('is open with SLUICE_METRICS_PUBLIC=1', async () => {
    const { res, text } = await scrape(open, {});
    expect(res.status).toBe(200);
    expect(parsePrometheusText(text).types.get('sluice_requests_total')).toBe('counter');
  });
});

/** The other upstream kind: Messages calls to an Anthropic provider, streamed and not. */
describe('GET /metrics with an Anthropic upstream', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let off: TestGateway;

  beforeAll(async () => {
    fake = await startFakeProvider();
    const config = {
      providers: { claude: { type: 'anthropic', base_url: fake.anthropicBaseUrl, api_key: 'sk-ant-upstream' } },
      // A model is a label value once config names it (else `other`).
      routes: { chat: { variants: [{ name: 'a', target: 'claude/claude-haiku-4-5' }] } },
    };
    gw = await startTestGateway({ config });
    off = await startTestGateway({ config, overrides: { metrics: parseEnv({ SLUICE_METRICS: '0' }).SLUICE_METRICS } });
  });
  afterAll(async () => {
    await gw?.close();
    await off?.close();
    await fake?.close();
  });

  it('counts both calls, their tokens and the stream’s first token under the provider’s name', async () => {
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: ADMIN_KEY, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'count these words please' }];
    const plain = await anthropic.messages.create({ model: 'claude/claude-haiku-4-5', max_tokens: 64, messages });
    const streamed = await anthropic.messages.stream({ model: 'claude/claude-haiku-4-5', max_tokens: 64, messages }).finalMessage();
    await gw.sink.waitFor(2);
    const exp = parsePrometheusText(await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).text());
    const labels = { endpoint: 'messages', provider: 'claude', model: 'claude-haiku-4-5', status: 'ok' };
    expect(valueOf(exp, 'sluice_requests_total', labels)).toBe(2);
    const input = { gen_ai_provider_name: 'claude', gen_ai_token_type: 'input' };
    const output = { gen_ai_provider_name: 'claude', gen_ai_token_type: 'output' };
    expect(valueOf(exp, 'gen_ai_client_token_usage_sum', input)).toBe(plain.usage.input_tokens + streamed.usage.input_tokens);
    expect(valueOf(exp, 'gen_ai_client_token_usage_sum', output)).toBe(plain.usage.output_tokens + streamed.usage.output_tokens);
    expect(valueOf(exp, 'sluice_upstream_attempts_total', { provider: 'claude', outcome: 'ok' })).toBe(2);
    expect(valueOf(exp, 'sluice_time_to_first_token_seconds_count')).toBe(1);
  });

  it('is absent with SLUICE_METRICS=0: no route, calls still answered', async () => {
    const anthropic = new Anthropic({ baseURL: off.url, apiKey: ADMIN_KEY, maxRetries: 0 });
    await anthropic.messages.create({ model: 'claude/claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    const res = await fetch(`${off.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.status).toBe(404);
  });
});
