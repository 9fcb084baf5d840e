import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonLogger } from '../../gateway/logger.ts';
import type { Provider } from '../../gateway/providers/types.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/** DESIGN §4.5: one JSON line per call, through the real app, at the level its outcome calls for. */
type Line = Record<string, unknown>;

const chat = (gw: TestGateway, model: string, extra: Record<string, unknown> = {}) =>
  fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello there' }], ...extra }),
  });

describe('the call log line', () => {
  let fake: FakeProvider;
  let gw: TestGateway;
  const lines: Line[] = [];
  const callLines = () => lines.filter((l) => l.msg === 'call');

  beforeAll(async () => {
    fake = await startFakeProvider();
    gw = await startTestGateway({
      logger: createJsonLogger((l) => void lines.push(JSON.parse(l) as Line)),
      config: {
        providers: {
          fake: { type: 'openai-compatible', api_key: 'sk-fake', base_url: fake.openaiBaseUrl, retry: { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 5 } },
          down: { type: 'openai-compatible', api_key: 'sk-fake', base_url: 'http://127.0.0.1:9/v1', retry: { max_attempts: 1 } },
        },
        routes: {
          failover: {
            variants: [{ name: 'main', target: 'down/gpt-4o' }],
            fallbacks: ['fake/gpt-4o-mini'],
            circuit_breaker: { failures: 1, cooldown_ms: 60_000 },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it('logs a plain call at info with its ids, target, outcome, timings, tokens and cost', async () => {
    const res = await chat(gw, 'fake/gpt-4o-mini');
    expect(res.status).toBe(200);
    await gw.sink.waitFor(1);
    const record = gw.sink.records.at(-1)!;
    const line = callLines().at(-1)!;
    expect(line).toMatchObject({
      level: 'info',
      msg: 'call',
      call_id: record.id,
      trace_id: (record as { traceId?: string | null }).traceId ?? null,
      endpoint: 'chat.completions',
      route: null,
      variant: null,
      provider: 'fake',
      model: 'gpt-4o-mini',
      api_key_id: record.apiKeyId,
      status: 'ok',
      http_status: 200,
      error_code: null,
      ttft_ms: null,
      input_tokens: record.usage!.inputTokens,
      output_tokens: record.usage!.outputTokens,
      cache: record.cacheStatus,
      attempts: 1,
      fallback_used: false,
    });
    expect(line.latency_ms).toEqual(expect.any(Number));
    expect(line.overhead_ms).toEqual(expect.any(Number));
    expect(line).toHaveProperty('cost_usd');
    expect(line).not.toHaveProperty('attempt_log');
    expect(JSON.stringify(line)).not.toContain('hello there');
  });

  it('gives a stream its time to first token', async () => {
    const before = gw.sink.records.length;
    const res = await chat(gw, 'fake/gpt-4o-mini', { stream: true });
    await res.text();
    await gw.sink.waitFor(before + 1);
    expect(callLines().at(-1)).toMatchObject({ level: 'info', stream: true, status: 'ok', ttft_ms: expect.any(Number) });
  });

  it('logs a call that needed a retry at warn, naming the failed attempt', async () => {
    const before = gw.sink.records.length;
    fake.enqueue({ status: 503 });
    expect((await chat(gw, 'fake/gpt-4o-mini')).status).toBe(200);
    await gw.sink.waitFor(before + 1);
    const line = callLines().at(-1)!;
    expect(line).toMatchObject({ level: 'warn', status: 'ok', attempts: 2, fallback_used: false });
    expect(line.attempt_log).toEqual([
      expect.objectContaining({ provider: 'fake', status: 503, error: expect.any(String) }),
      expect.objectContaining({ provider: 'fake', status: 200, error: null }),
    ]);
  });

  it('logs a fallback at warn, and the breaker opening on the failed target', async () => {
    const before = gw.sink.records.length;
    expect((await chat(gw, 'failover')).status).toBe(200);
    await gw.sink.waitFor(before + 1);
    const line = callLines().at(-1)!;
    expect(line).toMatchObject({ level: 'warn', route: 'failover', variant: 'main', provider: 'fake', fallback_used: true, status: 'ok' });
    expect(line.attempt_log).toEqual([expect.objectContaining({ provider: 'down', status: null }), expect.objectContaining({ provider: 'fake', status: 200 })]);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'circuit breaker open', target: 'down/gpt-4o', from: 'closed', to: 'open' }));
  });

  it('logs an upstream failure at warn with its cause', async () => {
    const before = gw.sink.records.length;
    fake.enqueue(...[1, 2, 3].map(() => ({ status: 500 })));
    expect((await chat(gw, 'fake/gpt-4o-mini')).status).toBeGreaterThanOrEqual(500);
    await gw.sink.waitFor(before + 1);
    const record = gw.sink.records.at(-1)!;
    expect(callLines().at(-1)).toMatchObject({
      level: 'warn',
      status: 'upstream_error',
      http_status: record.httpStatus,
      error_code: record.errorCode,
      error_message: record.errorMessage,
      attempts: 3,
    });
  });

  it('logs a client error at info; an upstream refusal at warn', async () => {
    const before = gw.sink.records.length;
    expect((await chat(gw, 'fake/gpt-4o-mini', { messages: 'not a list' })).status).toBe(400);
    fake.enqueue({ status: 400 });
    expect((await chat(gw, 'fake/gpt-4o-mini')).status).toBe(400);
    await gw.sink.waitFor(before + 2);
    expect(callLines().slice(-2)).toEqual([
      expect.objectContaining({ level: 'info', status: 'client_error', http_status: 400 }),
      expect.objectContaining({ level: 'warn', status: 'upstream_error', http_status: 400, attempts: 1 }),
    ]);
  });

  it('writes exactly one call line per call', () => {
    expect(callLines().map((l) => l.call_id)).toEqual(gw.sink.records.map((r) => r.id));
  });
});

describe('the call log line for a gateway failure', () => {
  it('is at error, with the error code and message', async () => {
    const lines: Line[] = [];
    const exploding: Provider = {
      name: 'boom',
      type: 'openai-compatible',
      config: { type: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' },
      chat: async () => {
        throw new TypeError('cannot read x of undefined');
      },
      chatStream: async () => {
        throw new TypeError('cannot read x of undefined');
      },
      embeddings: async () => {
        throw new TypeError('cannot read x of undefined');
      },
      listModels: async () => [],
      close: async () => {},
    };
    const gw = await startTestGateway({
      logger: createJsonLogger((l) => void lines.push(JSON.parse(l) as Line)),
      config: { providers: { boom: { type: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' } } },
      providers: new Map([['boom', exploding]]),
    });
    try {
      expect((await chat(gw, 'boom/x')).status).toBe(500);
      await gw.sink.waitFor(1);
      const record = gw.sink.records[0]!;
      expect(lines.filter((l) => l.msg === 'call')).toEqual([
        expect.objectContaining({ level: 'error', call_id: record.id, status: 'gateway_error', http_status: 500, error_code: 'internal_error', error_message: record.errorMessage }),
      ]);
    } finally {
      await gw.close();
    }
  });
});
