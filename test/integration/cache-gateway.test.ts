import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../gateway/calls/record.ts';
import type { Database } from '../../gateway/db/client.ts';
import { startFakeProvider, type FakeProvider } from '../helpers/fake-provider.ts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { expectValidAgainstSpec } from '../helpers/openapi.ts';
import { testDatabases } from '../helpers/test-db.ts';

/**
 * The response cache through the real gateway (issue 7): hits and their accounting, stream ⇄
 * JSON replay, key canonicalisation, header and route modes, what is never cached, single
 * flight, and hits shared between two instances through Postgres and through Redis.
 */
const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
const noRetry = { max_attempts: 1, base_delay_ms: 0, max_delay_ms: 0 };
const RUN = randomBytes(4).toString('hex');
let counter = 0;
/** A message no other request of this run (or an earlier run sharing Redis) has sent. */
const fresh = (tag: string) => `${tag} ${RUN} ${++counter}`;

interface Answer {
  status: number;
  cache: string | null;
  cost: string | null;
  callId: string;
  text: string;
}

async function post(gw: TestGateway, body: Record<string, unknown> | string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { ...admin, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    cache: res.headers.get('x-sluice-cache'),
    cost: res.headers.get('x-sluice-cost-usd'),
    callId: res.headers.get('x-sluice-call-id')!,
    text: await res.text(),
  };
}

const contentOf = (a: Answer): string | null => (JSON.parse(a.text) as { choices: Array<{ message: { content: string | null } }> }).choices[0]!.message.content;

/** The `data:` events of an SSE body, parsed, up to `[DONE]`; `done` says whether it came. */
function sseEvents(text: string): { events: Array<Record<string, unknown>>; done: boolean } {
  const events: Array<Record<string, unknown>> = [];
  for (const block of text.split('\n\n')) {
    const line = block.split('\n').find((l) => l.startsWith('data: '));
    if (!line) continue;
    const data = line.slice('data: '.length);
    if (data === '[DONE]') return { events, done: true };
    events.push(JSON.parse(data) as Record<string, unknown>);
  }
  return { events, done: false };
}

interface Assembled {
  text: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finish: string | null;
}

/** Folds chunks (choice 0) into text, tool calls and finish reason. */
function assemble(chunks: readonly ChatCompletionChunk[]): Assembled {
  let text = '';
  let finish: string | null = null;
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  for (const chunk of chunks) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta.content ?? '';
    for (const tc of choice.delta.tool_calls ?? []) {
      const slot = (calls[tc.index] ??= { id: '', name: '', arguments: '' });
      if (tc.id) slot.id = tc.id;
      if (tc.function?.name) slot.name += tc.function.name;
      if (tc.function?.arguments) slot.arguments += tc.function.arguments;
    }
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  return { text, toolCalls: calls, finish };
}

function fromCompletion(c: OpenAI.Chat.Completions.ChatCompletion): Assembled {
  const m = c.choices[0]!.message;
  return {
    text: m.content ?? '',
    toolCalls: (m.tool_calls ?? []).map((t) => {
      if (t.type !== 'function') throw new Error('unexpected tool call type');
      return { id: t.id, name: t.function.name, arguments: t.function.arguments };
    }),
    finish: c.choices[0]!.finish_reason,
  };
}

async function recordOf(gw: TestGateway, callId: string, timeoutMs = 3_000): Promise<CallRecord> {
  const t0 = performance.now();
  for (;;) {
    const r = gw.sink.records.find((x) => x.id === callId);
    if (r) return r;
    if (performance.now() - t0 > timeoutMs) throw new Error(`no record for call ${callId}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

async function until(probe: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const t0 = performance.now();
  while (!(await probe())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The same JSON value with every object's keys in reverse order. */
function reorder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorder);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reorder(v)]),
    );
  }
  return value;
}

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
  { type: 'function', function: { name: 'get_time', parameters: { properties: { query: { type: 'string' } }, type: 'object' } } },
] as const;

describe.each(testDatabases())('response cache through the gateway ($kind)', (target) => {
  let fake: FakeProvider;
  let database: Database;
  let gw: TestGateway;
  let gw2: TestGateway;
  let client: OpenAI;
  const route = (mode: string, extra: Record<string, unknown> = {}) => ({ variants: [{ name: 'v', target: 'up/gpt-4o-mini' }], cache: { mode, ...extra } });

  beforeAll(async () => {
    fake = await startFakeProvider();
    database = await target.open();
    const config = {
      providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, retry: noRetry } },
      routes: {
        'c-on': route('on'),
        'c-off': route('off'),
        'c-ro': route('read_only', { scope: 'global' }),
        'c-wo': route('write_only', { scope: 'global' }),
      },
      // Embedded PGlite would keep the cache in memory only (`auto`); both kinds use the table.
      cache: { shared: 'postgres' },
    };
    gw = await startTestGateway({
      config,
      database,
      callLog: true,
    });
    // A second instance on the same database: hits are shared through the Postgres tier.
    gw2 = await startTestGateway({ config, database });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.close();
    await gw2?.close();
    await database?.close();
    await fake?.close();
  });

  const upstreamCalls = () => fake.requests.filter((r) => r.path === '/v1/chat/completions').length;

  it('temperature 0 twice: one upstream call, an identical hit that costs 0 and records the saving; /api/usage reports it', async () => {
    fake.setUsage({ prompt: 1000, completion: 500 });
    try {
      const body = { model: 'up/gpt-4o', temperature: 0, messages: [{ role: 'user', content: fresh('accounting') }] };
      const before = upstreamCalls();
      const first = await post(gw, body);
      const second = await post(gw, body);
      expect(first).toMatchObject({ status: 200, cache: 'miss' });
      expect(second).toMatchObject({ status: 200, cache: 'hit', cost: '0' });
      expect(Number(first.cost)).toBeGreaterThan(0);
      expect(second.text).toBe(first.text);
      expect(upstreamCalls()).toBe(before + 1);

      const miss = await recordOf(gw, first.callId);
      const hit = await recordOf(gw, second.callId);
      expect(miss.cacheStatus).toBe('miss');
      expect(miss.costMicros).toBeGreaterThan(0);
      expect(hit).toMatchObject({ cacheStatus: 'hit', costMicros: 0, costSavedMicros: miss.costMicros, status: 'ok', model: 'gpt-4o' });
      expect(hit.usage).toEqual(miss.usage);

      type Row = { key: string | null; calls: number; cache_hits: number; cache_hit_rate: number | null; cost_saved_usd: number; cost_usd: number | null };
      let row: Row | undefined;
      await until(async () => {
        const res = await fetch(`${gw.url}/api/usage?group_by=model`, { headers: admin });
        expect(res.status).toBe(200);
        row = ((await res.json()) as { data: Row[] }).data.find((r) => r.key === 'gpt-4o');
        return row?.calls === 2;
      }, 5_000, 100);
      expect(row).toMatchObject({ calls: 2, cache_hits: 1, cache_hit_rate: 0.5 });
      expect(row!.cost_saved_usd).toBeCloseTo(miss.costMicros! / 1e6, 9);
      expect(row!.cost_usd).toBeCloseTo(miss.costMicros! / 1e6, 9);
    } finally {
      fake.setUsage(null);
    }
  });

  it('stream → cache → JSON hit, then stream hits with and without include_usage: same text and finish reason', async () => {
    const messages = [{ role: 'user' as const, content: fresh('stream first') }];
    const before = upstreamCalls();
    const { data: stream, response } = await client.chat.completions.create({ model: 'up/gpt-4o-mini', temperature: 0, messages, stream: true }).withResponse();
    expect(response.headers.get('x-sluice-cache')).toBe('miss');
    const original: ChatCompletionChunk[] = [];
    for await (const chunk of stream) original.push(chunk);
    const want = assemble(original);
    expect(want.text).toBe(`Echo: ${messages[0]!.content}`);
    expect(want.finish).toBe('stop');

    const { data: json, response: jsonRes } = await client.chat.completions.create({ model: 'up/gpt-4o-mini', temperature: 0, messages }).withResponse();
    expect(jsonRes.headers.get('x-sluice-cache')).toBe('hit');
    expectValidAgainstSpec('CreateChatCompletionResponse', json);
    expect(fromCompletion(json)).toEqual(want);

    for (const includeUsage of [false, true]) {
      const { data: replay, response: replayRes } = await client.chat.completions
        .create({ model: 'up/gpt-4o-mini', temperature: 0, messages, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) })
        .withResponse();
      expect(replayRes.headers.get('x-sluice-cache')).toBe('hit');
      expect(replayRes.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const chunks: ChatCompletionChunk[] = [];
      for await (const chunk of replay) {
        expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
        chunks.push(chunk);
      }
      expect(assemble(chunks)).toEqual(want);
      const usageChunks = chunks.filter((c) => c.usage);
      if (includeUsage) {
        expect(usageChunks).toHaveLength(1);
        expect(chunks.at(-1)!.choices).toEqual([]);
        expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
        for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
      } else {
        expect(usageChunks).toEqual([]);
        expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
      }
    }
    expect(upstreamCalls()).toBe(before + 1);
  });

  it('JSON → cache → stream hit: same text and finish reason, every chunk valid', async () => {
    const messages = [{ role: 'user' as const, content: fresh('json first') }];
    const before = upstreamCalls();
    const json = await client.chat.completions.create({ model: 'up/gpt-4o-mini', seed: 42, messages });
    const { data: replay, response } = await client.chat.completions
      .create({ model: 'up/gpt-4o-mini', seed: 42, messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(response.headers.get('x-sluice-cache')).toBe('hit');
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of replay) {
      expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
      chunks.push(chunk);
    }
    expect(assemble(chunks)).toEqual(fromCompletion(json));
    const { prompt_tokens, completion_tokens, total_tokens } = json.usage!;
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens, completion_tokens, total_tokens });
    expect(upstreamCalls()).toBe(before + 1);
  });

  it('tool calls survive both directions: stream → JSON hit and JSON → stream hit', async () => {
    const before = upstreamCalls();
    // Stream first.
    const m1 = [{ role: 'user' as const, content: fresh('weather and time') }];
    const stream = await client.chat.completions.create({ model: 'up/gpt-4o-mini', temperature: 0, messages: m1, tools: [...tools], stream: true });
    const streamed: ChatCompletionChunk[] = [];
    for await (const chunk of stream) streamed.push(chunk);
    const want1 = assemble(streamed);
    expect(want1.finish).toBe('tool_calls');
    expect(want1.toolCalls.map((t) => t.name)).toEqual(['get_weather', 'get_time']);
    expect(JSON.parse(want1.toolCalls[0]!.arguments)).toEqual({ query: m1[0]!.content });
    const { data: hit1, response: r1 } = await client.chat.completions.create({ model: 'up/gpt-4o-mini', temperature: 0, messages: m1, tools: [...tools] }).withResponse();
    expect(r1.headers.get('x-sluice-cache')).toBe('hit');
    expectValidAgainstSpec('CreateChatCompletionResponse', hit1);
    expect(fromCompletion(hit1)).toEqual(want1);

    // JSON first.
    const m2 = [{ role: 'user' as const, content: fresh('weather again') }];
    const json = await client.chat.completions.create({ model: 'up/gpt-4o-mini', temperature: 0, messages: m2, tools: [...tools] });
    expect(json.choices[0]!.finish_reason).toBe('tool_calls');
    const { data: replay, response: r2 } = await client.chat.completions
      .create({ model: 'up/gpt-4o-mini', temperature: 0, messages: m2, tools: [...tools], stream: true })
      .withResponse();
    expect(r2.headers.get('x-sluice-cache')).toBe('hit');
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of replay) {
      expectValidAgainstSpec('CreateChatCompletionStreamResponse', chunk);
      chunks.push(chunk);
    }
    expect(assemble(chunks)).toEqual(fromCompletion(json));
    expect(upstreamCalls()).toBe(before + 2);
  });

  it('the key ignores JSON key order, user and metadata, and changes with temperature, seed and max_tokens', async () => {
    const base = {
      model: 'up/gpt-4o-mini',
      seed: 7,
      temperature: 0,
      max_tokens: 30,
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: fresh('key order') },
      ],
      response_format: { type: 'json_object' },
      user: 'alice',
      metadata: { team: 'a' },
    };
    const before = upstreamCalls();
    const first = await post(gw, JSON.stringify(base));
    expect(first).toMatchObject({ status: 200, cache: 'miss' });
    const reordered = JSON.stringify(reorder({ ...base, user: 'bob', metadata: { team: 'b', extra: 'x' } }));
    expect(reordered.indexOf('"seed"')).toBeGreaterThan(reordered.indexOf('"messages"'));
    const second = await post(gw, reordered);
    expect(second).toMatchObject({ status: 200, cache: 'hit' });
    expect(second.text).toBe(first.text);
    // max_completion_tokens is the same setting as max_tokens.
    const { max_tokens: _mt, ...rest } = base;
    expect(await post(gw, { ...rest, max_completion_tokens: 30 })).toMatchObject({ cache: 'hit' });
    expect(upstreamCalls()).toBe(before + 1);

    for (const change of [{ temperature: 0.2 }, { seed: 8 }, { max_tokens: 31 }, { stop: ['zzz'] }]) {
      const ans = await post(gw, { ...base, ...change });
      expect({ change, cache: ans.cache }).toEqual({ change, cache: 'miss' });
    }
    expect(upstreamCalls()).toBe(before + 5);
  });

  it('x-sluice-cache: default, no-cache (no read, writes), no-store (neither), refresh (replaces)', async () => {
    const body = (content: string) => ({ model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content }] });
    const before = upstreamCalls();
    const m1 = body(fresh('modes'));
    expect((await post(gw, m1, { 'x-sluice-cache': 'default' })).cache).toBe('miss');
    expect((await post(gw, m1, { 'x-sluice-cache': 'default' })).cache).toBe('hit');
    expect(upstreamCalls()).toBe(before + 1);

    // no-cache: skips the read even though there is an entry, and writes its answer.
    expect((await post(gw, m1, { 'x-sluice-cache': 'no-cache' })).cache).toBe('bypass');
    expect(upstreamCalls()).toBe(before + 2);
    const m2 = body(fresh('no-cache writes'));
    expect((await post(gw, m2, { 'x-sluice-cache': 'no-cache' })).cache).toBe('bypass');
    expect((await post(gw, m2)).cache).toBe('hit');
    expect(upstreamCalls()).toBe(before + 3);

    // no-store: no read, no write.
    expect((await post(gw, m1, { 'x-sluice-cache': 'NO-STORE' })).cache).toBe('bypass');
    expect(upstreamCalls()).toBe(before + 4);
    const m3 = body(fresh('no-store'));
    expect((await post(gw, m3, { 'x-sluice-cache': 'no-store' })).cache).toBe('bypass');
    expect((await post(gw, m3)).cache).toBe('miss');
    expect(upstreamCalls()).toBe(before + 6);

    // refresh: goes upstream and replaces the stored answer.
    fake.setReply(() => 'a newer answer');
    try {
      const refreshed = await post(gw, m1, { 'x-sluice-cache': 'refresh' });
      expect(refreshed.cache).toBe('bypass');
      expect(contentOf(refreshed)).toBe('a newer answer');
    } finally {
      fake.setReply(null);
    }
    const after = await post(gw, m1);
    expect(after.cache).toBe('hit');
    expect(contentOf(after)).toBe('a newer answer');
    expect(upstreamCalls()).toBe(before + 7);
  });

  it('x-sluice-cache-ttl: 1 expires after a second', async () => {
    const body = { model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: fresh('ttl') }] };
    const before = upstreamCalls();
    expect((await post(gw, body, { 'x-sluice-cache-ttl': '1' })).cache).toBe('miss');
    expect((await post(gw, body)).cache).toBe('hit');
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await post(gw, body)).cache).toBe('miss');
    expect(upstreamCalls()).toBe(before + 2);
  });

  it('bad cache header values are a 400 naming the header (even where the cache is off)', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'x-sluice-cache': 'sometimes' }, 'x-sluice-cache'],
      [{ 'x-sluice-cache': '' }, 'x-sluice-cache'],
      [{ 'x-sluice-cache-ttl': 'soon' }, 'x-sluice-cache-ttl'],
      [{ 'x-sluice-cache-ttl': '0' }, 'x-sluice-cache-ttl'],
      [{ 'x-sluice-cache-ttl': '-5' }, 'x-sluice-cache-ttl'],
      [{ 'x-sluice-cache-ttl': '1.5' }, 'x-sluice-cache-ttl'],
    ];
    const before = upstreamCalls();
    for (const [headers, param] of cases) {
      for (const model of ['up/gpt-4o-mini', 'c-off']) {
        const ans = await post(gw, { model, temperature: 0, messages: [{ role: 'user', content: 'x' }] }, headers);
        expect({ headers, model, status: ans.status }).toEqual({ headers, model, status: 400 });
        const err = (JSON.parse(ans.text) as { error: { param: string; message: string; type: string } }).error;
        expect(err).toMatchObject({ param, type: 'invalid_request_error' });
        expect(err.message).toContain(param);
      }
    }
    expect(upstreamCalls()).toBe(before);
  });

  it('route cache modes: on, off, write_only, read_only; a header cannot turn an off cache on', async () => {
    const body = (model: string, content: string) => ({ model, messages: [{ role: 'user', content }] });
    const before = upstreamCalls();
    // on: cached even without temperature 0 or a seed.
    const on = body('c-on', fresh('route on'));
    expect((await post(gw, on)).cache).toBe('miss');
    expect((await post(gw, on)).cache).toBe('hit');
    expect(upstreamCalls()).toBe(before + 1);
    // The same request with no route and no temperature: not cacheable by default.
    expect((await post(gw, { ...on, model: 'up/gpt-4o-mini' })).cache).toBe('bypass');
    expect(upstreamCalls()).toBe(before + 2);

    // off: never read nor written, whatever the client says.
    const off = { ...body('c-off', fresh('route off')), temperature: 0 };
    expect((await post(gw, off)).cache).toBe('bypass');
    expect((await post(gw, off, { 'x-sluice-cache': 'default' })).cache).toBe('bypass');
    expect(upstreamCalls()).toBe(before + 4);
    expect((await post(gw, { ...off, model: 'up/gpt-4o-mini' })).cache).toBe('miss'); // nothing was written

    // write_only writes without reading; read_only (same global scope) reads what it wrote.
    const shared = fresh('route wo/ro');
    expect((await post(gw, body('c-wo', shared))).cache).toBe('bypass');
    expect((await post(gw, body('c-wo', shared))).cache).toBe('bypass');
    expect(upstreamCalls()).toBe(before + 7);
    const ro = await post(gw, body('c-ro', shared));
    expect(ro.cache).toBe('hit');
    expect(contentOf(ro)).toBe(`Echo: ${shared}`);
    expect(upstreamCalls()).toBe(before + 7);
    // read_only never writes.
    const roOnly = body('c-ro', fresh('route ro'));
    expect((await post(gw, roOnly)).cache).toBe('miss');
    expect((await post(gw, roOnly)).cache).toBe('miss');
    expect(upstreamCalls()).toBe(before + 9);
  });

  it('upstream errors are never cached', async () => {
    for (const [status, clientStatus] of [
      [400, 400],
      [500, 502],
    ] as const) {
      const body = { model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: fresh(`error ${status}`) }] };
      const before = upstreamCalls();
      fake.enqueue({ status });
      const failed = await post(gw, body);
      expect(failed.status).toBe(clientStatus);
      const ok = await post(gw, body);
      expect(ok).toMatchObject({ status: 200, cache: 'miss' });
      expect((await post(gw, body)).cache).toBe('hit');
      expect(upstreamCalls()).toBe(before + 2);
    }
  });

  it('a truncated or failed stream is never cached', async () => {
    for (const fault of [{ cutAfterChunks: 3 }, { streamError: { message: 'overloaded mid-stream' } }]) {
      const body = { model: 'up/gpt-4o-mini', temperature: 0, stream: true, messages: [{ role: 'user', content: fresh('a long enough answer to cut') }] };
      const before = upstreamCalls();
      fake.enqueue(fault);
      const broken = await post(gw, body);
      expect(broken.status).toBe(200);
      const parsed = sseEvents(broken.text);
      expect(parsed.events.some((e) => 'error' in e)).toBe(true);
      expect(parsed.done).toBe(false);
      const again = await post(gw, body);
      expect(again.cache).toBe('miss');
      expect(sseEvents(again.text).done).toBe(true);
      const third = await post(gw, body);
      expect(third.cache).toBe('hit');
      expect(upstreamCalls()).toBe(before + 2);
      // The replay spells the whole answer.
      const text = sseEvents(third.text)
        .events.map((e) => ((e.choices as Array<{ delta: { content?: string } }>)[0]?.delta.content ?? ''))
        .join('');
      expect(text).toBe(`Echo: ${body.messages[0]!.content}`);
    }
  });

  it('single flight: 10 concurrent identical misses make one upstream call and get the same answer', async () => {
    const body = { model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: fresh('stampede') }] };
    const before = upstreamCalls();
    fake.enqueue({ delayMs: 300 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(gw, body)));
    expect(upstreamCalls()).toBe(before + 1);
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.text).toBe(answers[0]!.text);
    }
    expect(answers.map((a) => a.cache).sort()).toEqual([...Array(9).fill('hit'), 'miss']);
  });

  it('single flight across stream and JSON requests: one upstream call, every answer complete', async () => {
    const content = fresh('mixed stampede');
    const body = { model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content }] };
    const before = upstreamCalls();
    fake.enqueue({ delayMs: 300 });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => post(gw, { ...body, stream: i % 2 === 0 })));
    expect(upstreamCalls()).toBe(before + 1);
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      if (i % 2 === 0) {
        const { events, done } = sseEvents(a.text);
        expect(done).toBe(true);
        expect(events.map((e) => (e.choices as Array<{ delta: { content?: string } }>)[0]?.delta.content ?? '').join('')).toBe(`Echo: ${content}`);
      } else {
        expect(contentOf(a)).toBe(`Echo: ${content}`);
      }
    });
  });

  /** Rows of the shared tier whose stored answer contains `text`. */
  const rowsWith = async (text: string): Promise<number> => {
    const result = (await database.db.execute(sql`select count(*)::int as n from response_cache where value::text like ${`%${text}%`}`)) as unknown;
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ n: number }>;
    return Number(rows[0]!.n);
  };

  it('two instances share hits through Postgres (JSON, then stream → JSON)', async () => {
    const body = { model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: fresh('shared pg') }] };
    const before = upstreamCalls();
    const first = await post(gw, body);
    expect(first.cache).toBe('miss');
    await until(async () => (await rowsWith(body.messages[0]!.content)) === 1, 3_000);
    const second = await post(gw2, body);
    expect(second).toMatchObject({ status: 200, cache: 'hit' });
    // The same completion, but not the same bytes: the Postgres tier keeps it as jsonb, which
    // reorders keys and adds spaces (a memory or Redis hit is byte-identical).
    expect(JSON.parse(second.text)).toEqual(JSON.parse(first.text));
    expect(upstreamCalls()).toBe(before + 1);
    expect((await recordOf(gw2, second.callId)).cacheStatus).toBe('hit');

    const content = fresh('shared pg stream');
    const streamed = await post(gw2, { ...body, stream: true, messages: [{ role: 'user', content }] });
    expect(streamed.cache).toBe('miss');
    expect(sseEvents(streamed.text).done).toBe(true);
    await until(async () => (await rowsWith(content)) === 1, 3_000);
    const hit = await post(gw, { ...body, messages: [{ role: 'user', content }] });
    expect(hit.cache).toBe('hit');
    expect(contentOf(hit)).toBe(`Echo: ${content}`);
    expect(upstreamCalls()).toBe(before + 2);
  });

  it('Postgres tier: an answer jsonb cannot hold (U+0000) is not shared, and does not take the rest of its write batch with it', async () => {
    fake.setReply((req) => {
      const text = (req as { messages: Array<{ content: string }> }).messages[0]!.content;
      return text.startsWith('nul') ? 'zero \u0000 byte' : `Echo: ${text}`;
    });
    try {
      const nul = { model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: fresh('nul') }] };
      const fine = { model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: fresh('fine') }] };
      // Both answers land in the same batched upsert (flushed every 20 ms).
      const [x, y] = await Promise.all([post(gw, nul), post(gw, fine)]);
      expect([x.cache, y.cache]).toEqual(['miss', 'miss']);
      expect(contentOf(x)).toBe('zero \u0000 byte');
      expect((await post(gw, nul)).cache).toBe('hit'); // still cached in memory
      await until(async () => (await rowsWith(fine.messages[0]!.content)) === 1, 3_000);
      expect((await post(gw2, fine)).cache).toBe('hit');
      expect((await post(gw2, nul)).cache).toBe('miss');
    } finally {
      fake.setReply(null);
    }
  });

  describe('two instances share hits through Redis', () => {
    const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
    const PREFIX = 'sluice:cache:'; // the default prefix; startServices has no option to change it
    let redis: Redis;
    let a: TestGateway;
    let b: TestGateway;
    const ttl = { 'x-sluice-cache-ttl': '120' }; // leftovers of a crashed run expire on their own

    /** Keys of this run's entries whose stored answer contains `text`. */
    const keysWith = async (text: string): Promise<string[]> => {
      const out: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) {
          const values = await redis.mget(...keys);
          keys.forEach((k, i) => {
            if (values[i]?.includes(text)) out.push(k);
          });
        }
      } while (cursor !== '0');
      return out;
    };

    /** Sends fresh requests until one is stored in Redis: the instance's client is connected. */
    const waitConnected = async (gw: TestGateway): Promise<void> => {
      await until(async () => {
        const content = fresh('warm-up');
        await post(gw, { model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content }] }, ttl);
        await new Promise((r) => setTimeout(r, 30));
        return (await keysWith(content)).length > 0;
      }, 5_000, 50);
    };

    beforeAll(async () => {
      redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      const config = { providers: { up: { type: 'openai-compatible', base_url: fake.openaiBaseUrl, retry: noRetry } }, cache: { shared: 'redis' } };
      // The same database as the instances above, but `shared: redis`: Redis is the only cache tier these two share.
      a = await startTestGateway({ config, database, redisUrl });
      b = await startTestGateway({ config, database, redisUrl });
      await Promise.all([waitConnected(a), waitConnected(b)]);
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      if (redis) {
        const mine = await keysWith(RUN);
        if (mine.length > 0) await redis.del(...mine);
        redis.disconnect();
      }
    });

    it('an answer stored by one instance is a hit on the other (JSON, then stream → JSON)', async () => {
      const content = fresh('shared redis');
      const body = { model: 'up/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content }] };
      const before = fake.requests.length;
      const first = await post(a, body, ttl);
      expect(first.cache).toBe('miss');
      await until(async () => (await keysWith(content)).length === 1, 3_000);
      const [key] = await keysWith(content);
      const pttl = await redis.pttl(key!);
      expect(pttl).toBeGreaterThan(100_000);
      expect(pttl).toBeLessThanOrEqual(120_000);
      const second = await post(b, body, ttl);
      expect(second).toMatchObject({ status: 200, cache: 'hit' });
      expect(second.text).toBe(first.text);
      expect(fake.requests.length).toBe(before + 1);

      const content2 = fresh('shared redis stream');
      const streamed = await post(b, { ...body, stream: true, messages: [{ role: 'user', content: content2 }] }, ttl);
      expect(streamed.cache).toBe('miss');
      expect(sseEvents(streamed.text).done).toBe(true);
      await until(async () => (await keysWith(content2)).length === 1, 3_000);
      const hit = await post(a, { ...body, messages: [{ role: 'user', content: content2 }] }, ttl);
      expect(hit.cache).toBe('hit');
      expect(contentOf(hit)).toBe(`Echo: ${content2}`);
      expect(fake.requests.length).toBe(before + 2);
    });
  });
});
