import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../gateway/calls/record.ts';
import { openDatabase, type Database } from '../../gateway/db/client.ts';
import { PromptStore } from '../../prompts/index.ts';
import type { CallView } from '../../gateway/calls/queries.ts';
import { tracingFromEnv } from '../../gateway/observability/tracing-from-env.ts';
import type { Tracing } from '../../gateway/observability/tracing.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';

const SERVER = 2;
const CLIENT = 3;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const MODEL = 'fake/gpt-4o-mini';
const messages = [{ role: 'user' as const, content: 'one two three' }];

function config(base: string, anthropicBase: string): unknown {
  return {
    providers: {
      fake: { type: 'openai-compatible', base_url: base, retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 10 } },
      claude: { type: 'anthropic', base_url: anthropicBase, api_key: 'sk-ant-upstream' },
    },
    pricing: { overrides: { 'fake/gpt-4o-mini': { input: 1, output: 2 } } },
    routes: { support: { variants: [{ name: 'control', target: MODEL, weight: 1 }] } },
    logging: { flush_ms: 20 },
  };
}

/** DESIGN §4.5: spans over OTLP/HTTP (http/json here), traceparent in and out, trace_id on the record. */
describe('tracing with an OTLP endpoint', () => {
  let receiver: OtlpReceiver;
  let fake: FakeProvider;
  let tracing: Tracing;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    fake = await startFakeProvider();
    tracing = await tracingFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'sluice-test',
    });
    gw = await startTestGateway({ config: config(fake.openaiBaseUrl, fake.anthropicBaseUrl), callLog: true, overrides: { tracing } });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await tracing.shutdown();
    await fake.close();
    await receiver.close();
  });
  beforeEach(() => {
    fake.reset();
    gw.sink.records.length = 0;
    receiver.spans.length = 0;
  });

  const chatRequests = () => fake.requests.filter((r) => r.path === '/v1/chat/completions');

  /** Every span of the call, once the gateway has finished it and exported everything. */
  async function spansOf(record: CallRecord): Promise<{ server: ReceivedSpan; clients: ReceivedSpan[] }> {
    await tracing.forceFlush();
    const server = receiver.spans.filter((s) => s.kind === SERVER && s.attributes['sluice.call_id'] === record.id);
    expect(server).toHaveLength(1);
    const clients = receiver.spans.filter((s) => s.kind === CLIENT && s.parentSpanId === server[0]!.spanId);
    return { server: server[0]!, clients };
  }

  async function storedCall(id: string): Promise<CallView> {
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${gw.url}/api/calls/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      if (res.status === 200) return (await res.json()) as CallView;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`call ${id} was never stored`);
  }

  it('continues the caller’s traceparent: a server span with the GenAI attributes, a client span, traceparent upstream', async () => {
    const res = await client.chat.completions.create({ model: 'support', messages }, { headers: { traceparent: TRACEPARENT } });
    await gw.sink.waitFor(1);
    const record = gw.sink.records[0]!;
    expect(record.traceId).toBe(TRACE_ID);

    const { server, clients } = await spansOf(record);
    expect(server.traceId).toBe(TRACE_ID);
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    expect(server.name).toBe('chat gpt-4o-mini');
    expect(server.resource['service.name']).toBe('sluice-test');
    expect(server.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'fake',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': res.model,
      'gen_ai.usage.input_tokens': res.usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': res.usage!.completion_tokens,
      'gen_ai.response.finish_reasons': ['stop'],
      'sluice.call_id': record.id,
      'sluice.route': 'support',
      'sluice.variant': 'control',
      'sluice.cache': record.cacheStatus ?? undefined,
      'sluice.cost_usd': record.costMicros! / 1e6,
    });
    expect(server.status?.code ?? 0).not.toBe(2);

    expect(clients).toHaveLength(1);
    expect(clients[0]!.traceId).toBe(TRACE_ID);
    expect(clients[0]!.name).toBe('chat gpt-4o-mini');
    expect(clients[0]!.attributes).toMatchObject({ 'gen_ai.provider.name': 'fake', 'gen_ai.request.model': 'gpt-4o-mini', 'http.response.status_code': 200 });
    // The upstream's parent is the attempt's span, in the caller's trace.
    expect(chatRequests()[0]!.headers.traceparent).toBe(`00-${TRACE_ID}-${clients[0]!.spanId}-01`);

    expect((await storedCall(record.id)).trace_id).toBe(TRACE_ID);
  });

  it('traces a streamed Messages call to an Anthropic upstream: its stop_reason and usage on the server span', async () => {
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: ADMIN_KEY, maxRetries: 0 });
    const stream = anthropic.messages.stream({ model: 'claude/claude-haiku-4-5', max_tokens: 64, messages }, { headers: { traceparent: TRACEPARENT } });
    const final = await stream.finalMessage();
    await gw.sink.waitFor(1);
    const record = gw.sink.records[0]!;
    const { server, clients } = await spansOf(record);
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    expect(server.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'claude',
      'gen_ai.request.model': 'claude-haiku-4-5',
      'gen_ai.usage.input_tokens': final.usage.input_tokens,
      'gen_ai.usage.output_tokens': final.usage.output_tokens,
      // In OpenAI's vocabulary for every provider (end_turn → stop), so one panel covers all.
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(final.stop_reason).toBe('end_turn');
    expect(clients).toHaveLength(1);
    expect(clients[0]!.attributes).toMatchObject({ 'gen_ai.provider.name': 'claude', 'http.response.status_code': 200 });
    const upstream = fake.requests.filter((r) => r.path === '/v1/messages');
    expect(upstream.map((r) => r.headers.traceparent)).toEqual([`00-${TRACE_ID}-${clients[0]!.spanId}-01`]);

    const plain = await anthropic.messages.create({ model: 'claude/claude-haiku-4-5', max_tokens: 64, messages });
    await gw.sink.waitFor(2);
    const second = await spansOf(gw.sink.records[1]!);
    expect(second.server.attributes).toMatchObject({ 'gen_ai.usage.output_tokens': plain.usage.output_tokens, 'gen_ai.response.finish_reasons': ['stop'] });
  });

  it('gives each upstream attempt its own client span and traceparent: a retry is two', async () => {
    fake.enqueue({ status: 503, path: '/v1/chat/completions' });
    await client.chat.completions.create({ model: MODEL, messages }, { headers: { traceparent: TRACEPARENT } });
    await gw.sink.waitFor(1);
    const record = gw.sink.records[0]!;
    const { server, clients } = await spansOf(record);
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    expect(clients).toHaveLength(2);
    const [failed, ok] = [clients.find((c) => c.attributes['http.response.status_code'] === 503)!, clients.find((c) => c.attributes['http.response.status_code'] === 200)!];
    expect(failed.attributes['error.type']).toBe('upstream_error');
    expect(failed.status?.code).toBe(2);
    expect(ok.attributes['error.type']).toBeUndefined();
    expect(chatRequests().map((r) => r.headers.traceparent)).toEqual([`00-${TRACE_ID}-${failed.spanId}-01`, `00-${TRACE_ID}-${ok.spanId}-01`]);
  });

  it('starts a new trace for a call without traceparent, streams included, and records its id', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true, stream_options: { include_usage: true } });
    for await (const _ of stream) void _;
    await gw.sink.waitFor(1);
    const record = gw.sink.records[0]!;
    const { server, clients } = await spansOf(record);
    expect(record.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(record.traceId).not.toBe(TRACE_ID);
    expect(server.traceId).toBe(record.traceId);
    expect(server.parentSpanId).toBeUndefined();
    expect(server.attributes['gen_ai.usage.output_tokens']).toBe(record.usage!.outputTokens);
    expect(clients).toHaveLength(1);
    expect(chatRequests()[0]!.headers.traceparent).toBe(`00-${record.traceId}-${clients[0]!.spanId}-01`);
  });

  it('marks a failed call’s server span as an error, with one client span per try', async () => {
    for (let i = 0; i < 3; i++) fake.enqueue({ status: 500, path: '/v1/chat/completions' });
    const err = await client.chat.completions.create({ model: MODEL, messages }, { headers: { traceparent: TRACEPARENT } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    await gw.sink.waitFor(1);
    const { server, clients } = await spansOf(gw.sink.records[0]!);
    expect(server.status?.code).toBe(2);
    expect(server.attributes['error.type']).toBe('upstream_error');
    expect(clients).toHaveLength(3);
  });

  it('traces every call of a batch separately under the caller’s trace', async () => {
    const n = 5;
    await Promise.all(Array.from({ length: n }, () => client.chat.completions.create({ model: MODEL, messages }, { headers: { traceparent: TRACEPARENT } })));
    await gw.sink.waitFor(n);
    await tracing.forceFlush();
    const servers = receiver.spans.filter((s) => s.kind === SERVER);
    expect(servers).toHaveLength(n);
    expect(new Set(servers.map((s) => s.attributes['sluice.call_id']))).toEqual(new Set(gw.sink.records.map((r) => r.id)));
    for (const s of servers) expect(s.parentSpanId).toBe(CALLER_SPAN);
    const upstreamParents = new Set(chatRequests().map((r) => String(r.headers.traceparent).split('-')[2]));
    const clientIds = new Set(receiver.spans.filter((s) => s.kind === CLIENT).map((s) => s.spanId));
    expect(upstreamParents).toEqual(clientIds);
  });
});

/** Without an endpoint: no SDK and no spans, but a caller's trace is still recorded and passed on. */
describe('tracing without an OTLP endpoint', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startFakeProvider();
    gw = await startTestGateway({ config: config(fake.openaiBaseUrl, fake.anthropicBaseUrl), overrides: { tracing: await tracingFromEnv({}) } });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it('records the caller’s trace id and sends its traceparent upstream unchanged', async () => {
    await client.chat.completions.create({ model: MODEL, messages }, { headers: { traceparent: TRACEPARENT, tracestate: 'vendor=1' } });
    await gw.sink.waitFor(1);
    expect(gw.sink.records[0]!.traceId).toBe(TRACE_ID);
    const upstream = fake.requests.find((r) => r.path === '/v1/chat/completions')!;
    expect(upstream.headers.traceparent).toBe(TRACEPARENT);
    expect(upstream.headers.tracestate).toBe('vendor=1');
  });

  it('leaves a call without (or with a malformed) traceparent untraced', async () => {
    fake.reset();
    await client.chat.completions.create({ model: MODEL, messages });
    await client.chat.completions.create({ model: MODEL, messages }, { headers: { traceparent: '00-zz-yy-01' } });
    await gw.sink.waitFor(3);
    expect(gw.sink.records.slice(1).map((r) => r.traceId)).toEqual([null, null]);
    expect(fake.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.headers.traceparent)).toEqual([undefined, undefined]);
  });
});

/** Prompt rendering, retrieval and the cache lookup each get a span under the call's server span. */
describe('tracing the steps of a call', () => {
  let receiver: OtlpReceiver;
  let fake: FakeProvider;
  let tracing: Tracing;
  let database: Database;
  let gw: TestGateway;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    fake = await startFakeProvider();
    tracing = await tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    database = await openDatabase({});
    await database.migrate();
    const prompts = new PromptStore(database);
    await prompts.createPrompt('grounded', null, 'test');
    await prompts.createVersion('grounded', { messages: [{ role: 'system', content: 'Answer only from: {{context}}' }], model: null, params: {}, variables: null }, 'test');
    gw = await startTestGateway({
      config: {
        providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl } },
        retrievers: { docs: { type: 'postgres-fts', collection: 'handbook' } },
        routes: { kb: { variants: [{ name: 'a', target: 'up/gpt-4o-mini', prompt: 'grounded@latest' }], rag: { retriever: 'docs', top_k: 1 }, cache: { mode: 'on' } } },
      },
      database,
      overrides: { tracing },
    });
    const res = await fetch(`${gw.url}/api/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ documents: [{ collection: 'handbook', id: 'vacation', text: 'Employees get 25 days of paid vacation per year.' }] }),
    });
    expect(res.status).toBeLessThan(300);
  });
  afterAll(async () => {
    await gw?.close();
    await tracing?.shutdown();
    await database?.close();
    await fake?.close();
    await receiver?.close();
  });

  it('has prompt, retrieval and cache spans, with what each found', async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'kb', messages: [{ role: 'user', content: 'how many vacation days?' }], temperature: 0 });
    await ask();
    await gw.sink.waitFor(1);
    await ask();
    await gw.sink.waitFor(2);
    await tracing.forceFlush();
    const [miss, hit] = gw.sink.records;
    const stepsOf = (record: CallRecord) => {
      const server = receiver.spans.find((s) => s.kind === SERVER && s.attributes['sluice.call_id'] === record.id)!;
      const children = receiver.spans.filter((s) => s.parentSpanId === server.spanId);
      return Object.fromEntries(children.map((c) => [c.name, c]));
    };
    const first = stepsOf(miss!);
    expect(Object.keys(first).sort()).toEqual(['chat gpt-4o-mini', 'sluice.cache.lookup', 'sluice.prompt.render', 'sluice.retrieval']);
    expect(first['sluice.prompt.render']!.attributes['sluice.prompt']).toBe('grounded@1');
    expect(first['sluice.retrieval']!.attributes).toMatchObject({ 'sluice.retriever': 'docs', 'sluice.retrieval.documents': 1 });
    expect(first['sluice.cache.lookup']!.attributes['sluice.cache']).toBe('miss');
    for (const span of Object.values(first)) expect(span.traceId).toBe(miss!.traceId);
    const second = stepsOf(hit!);
    expect(second['sluice.cache.lookup']!.attributes['sluice.cache']).toBe('hit');
    expect(second['chat gpt-4o-mini']).toBeUndefined(); // a hit calls no upstream
  });
});
