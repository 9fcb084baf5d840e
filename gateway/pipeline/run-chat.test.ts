import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  pipelineHarness,
  reply,
  startPrompts,
  streamOf,
  upstreamFailure,
  usage,
  type PipelineHarness,
  type Script,
  type TestPrompts,
} from '../../test/helpers/pipeline-deps.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { ChunkAssembler } from '../streaming/chunk-assembler.ts';
import type { ChatRun, JsonRun, StreamRun } from './run-chat.ts';

/**
 * runChat as input → outcome: a CallInput and a CallTracker go in; a ChatRun (or a thrown
 * GatewayError) and one CallFinished record come out. No server: providers are objects that
 * answer per attempt, PipelineDeps are built from a config as the app builds them.
 */

const retry = { max_attempts: 2, base_delay_ms: 0, max_delay_ms: 0 };
const CONFIG = {
  providers: { openai: { type: 'openai', retry }, claude: { type: 'anthropic', retry } },
  // $1/$2 and $3/$4 per 1M tokens: 1000 in + 500 out is 2000 µ$ on openai, 5000 µ$ on claude.
  pricing: { overrides: { 'openai/gpt-4o-mini': { input: 1, output: 2 }, 'claude/claude-haiku-4-5': { input: 3, output: 4 } } },
  routes: {
    support: { variants: [{ name: 'a', target: 'openai/gpt-4o-mini' }], fallbacks: ['claude/claude-haiku-4-5'] },
    shadowed: { variants: [{ name: 'a', target: 'openai/gpt-4o-mini' }], shadow: { target: 'claude/claude-haiku-4-5', sample: 1 } },
  },
};

const messages = [{ role: 'user', content: 'hi' }];
const direct = (extra: Record<string, unknown> = {}) => ({ model: 'openai/gpt-4o-mini', messages, ...extra });

let prompts: TestPrompts;
beforeAll(async () => {
  prompts = await startPrompts();
});
afterAll(async () => {
  await prompts?.close();
});

const harness = (scripts: Record<string, Script>): PipelineHarness => pipelineHarness(CONFIG, scripts, prompts.resolver);

function asJson(run: ChatRun): JsonRun {
  if (run.kind !== 'json') throw new Error(`expected a JSON run, got ${run.kind}`);
  return run;
}

function asStream(run: ChatRun): StreamRun {
  if (run.kind !== 'stream') throw new Error(`expected a stream run, got ${run.kind}`);
  return run;
}

/** What a failing run threw. */
async function failureOf(run: Promise<unknown>): Promise<GatewayError> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(err)}`);
  return err;
}

describe('runChat: a JSON answer', () => {
  it('returns the upstream text with cost headers and finishes one complete, priced record', async () => {
    const h = harness({ openai: { chat: () => reply('Hello there') } });
    const body = direct();
    const run = asJson(await h.run(body));

    expect(run.text).toBe(reply('Hello there').text);
    expect(run.completion().choices[0]?.message.content).toBe('Hello there');
    expect(run.native).toBeUndefined();
    expect(run.headers).toEqual({ 'x-sluice-cache': 'bypass', 'x-sluice-overhead-ms': '0.000', 'x-sluice-cost-usd': '0.002' });

    const openai = h.providers.get('openai')!;
    expect(openai.sent).toHaveLength(1);
    expect(openai.sent[0]!.model).toBe('gpt-4o-mini');
    expect(openai.sent[0]!.req.chat).toMatchObject(body);
    expect(openai.sent[0]!.req.native).toBeUndefined();

    expect(h.finished).toHaveLength(1);
    expect(h.finished[0]!.shadow).toBeNull();
    expect(h.finished[0]!.record).toMatchObject({
      id: 'call-1',
      provider: 'openai',
      model: 'gpt-4o-mini',
      route: null,
      fallbackUsed: false,
      stream: false,
      status: 'ok',
      httpStatus: 200,
      errorCode: null,
      usage: usage(1000, 500),
      costMicros: 2000,
      costStatus: 'exact',
      cacheStatus: 'bypass',
      requestBody: body,
      responseBody: reply('Hello there').body,
      attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 200, error: null, latencyMs: 10 }],
      latencyMs: 10,
      overheadMs: 0,
    });
    expect(h.listenerErrors).toEqual([]);
  });

  it('retries a 503 on the same target: two attempts on the record, one answer', async () => {
    const h = harness({
      openai: {
        chat: (attempt) => {
          if (attempt === 0) throw upstreamFailure('openai', 503);
          return reply('second try');
        },
      },
    });
    const run = asJson(await h.run(direct()));

    expect(run.text).toBe(reply('second try').text);
    expect(h.providers.get('openai')!.sent).toHaveLength(2);
    const { record } = h.finished[0]!;
    expect(record.attempts.map((a) => [a.provider, a.status, a.error])).toEqual([
      ['openai', 503, 'upstream_error'],
      ['openai', 200, null],
    ]);
    expect(record).toMatchObject({ status: 'ok', fallbackUsed: false, costMicros: 2000, usage: usage(1000, 500) });
  });
});

describe('runChat: failures', () => {
  it("falls back to the route's next target once the primary's retries are spent", async () => {
    const h = harness({
      openai: {
        chat: () => {
          throw upstreamFailure('openai', 503);
        },
      },
      claude: { chat: () => reply('from the fallback') },
    });
    const run = asJson(await h.run({ model: 'support', messages }));

    expect(run.text).toBe(reply('from the fallback').text);
    expect(run.headers).toMatchObject({ 'x-sluice-route': 'support', 'x-sluice-variant': 'a', 'x-sluice-cost-usd': '0.005' });
    expect(h.providers.get('openai')!.sent).toHaveLength(2);
    const claude = h.providers.get('claude')!;
    expect(claude.sent.map((s) => [s.model, s.req.chat.model])).toEqual([['claude-haiku-4-5', 'support']]);

    const { record } = h.finished[0]!;
    expect(record).toMatchObject({ route: 'support', variant: 'a', provider: 'claude', model: 'claude-haiku-4-5', fallbackUsed: true, status: 'ok', costMicros: 5000 });
    expect(record.attempts.map((a) => [a.provider, a.status, a.error])).toEqual([
      ['openai', 503, 'upstream_error'],
      ['openai', 503, 'upstream_error'],
      ['claude', 200, null],
    ]);
  });

  it("throws a provider's 400 as it is: no retry, no fallback, an error record", async () => {
    const rejected = upstreamFailure('openai', 400);
    const h = harness({
      openai: {
        chat: () => {
          throw rejected;
        },
      },
      claude: { chat: () => reply('never') },
    });
    const err = await failureOf(h.run({ model: 'support', messages }));

    expect(err).toBe(rejected);
    expect(err).toMatchObject({ code: 'upstream_bad_request', status: 400 });
    expect(h.providers.get('openai')!.sent).toHaveLength(1);
    expect(h.providers.get('claude')!.sent).toHaveLength(0);
    const { record } = h.finished[0]!;
    expect(record).toMatchObject({ provider: 'openai', fallbackUsed: false, status: 'upstream_error', httpStatus: 400, errorCode: 'upstream_bad_request', usage: null });
    expect(record.attempts.map((a) => [a.provider, a.status, a.error])).toEqual([['openai', 400, 'upstream_bad_request']]);
  });
});

describe('runChat: the response cache', () => {
  it('answers the same temperature-0 request again from cache: one upstream call, a free hit', async () => {
    const h = harness({ openai: { chat: () => reply('cached answer') } });
    const first = asJson(await h.run(direct({ temperature: 0 })));
    const second = asJson(await h.run(direct({ temperature: 0 })));

    expect(first.headers['x-sluice-cache']).toBe('miss');
    expect(second.headers).toMatchObject({ 'x-sluice-cache': 'hit', 'x-sluice-cost-usd': '0' });
    expect(second.text).toBe(first.text);
    expect(h.providers.get('openai')!.sent).toHaveLength(1);

    expect(h.finished.map((e) => e.record.cacheStatus)).toEqual(['miss', 'hit']);
    expect(h.finished[1]!.record).toMatchObject({
      status: 'ok',
      provider: 'openai',
      model: 'gpt-4o-mini',
      attempts: [],
      usage: usage(1000, 500),
      costMicros: 0,
      costSavedMicros: 2000,
    });
  });
});

describe('runChat: a stream', () => {
  /** What streamResponse does with a stream run: read it to the end, complete, finish. */
  async function drain(h: PipelineHarness, run: StreamRun, call: ReturnType<PipelineHarness['newCall']>): Promise<ChunkAssembler> {
    const assembler = new ChunkAssembler();
    for await (const { chunk } of run.stream) assembler.add(chunk);
    run.lifecycle.complete(assembler, run.stream.usage());
    await run.lifecycle.settled?.();
    call.finishOk(assembler.toCompletion());
    expect(h.listenerErrors).toEqual([]);
    return assembler;
  }

  it("is priced from the stream's usage when it completes, and stored for the next identical call", async () => {
    const h = harness({ openai: { stream: () => streamOf(['Hel', 'lo'], usage(1000, 500)) } });
    const call = h.newCall();
    const run = asStream(await h.run(direct({ stream: true, temperature: 0 }), { call }));

    expect(run.headers).toEqual({ 'x-sluice-cache': 'miss' });
    expect(call.finished).toBe(false);
    const assembler = await drain(h, run, call);
    expect(assembler.text()).toBe('Hello');

    const { record } = h.finished[0]!;
    expect(record).toMatchObject({ stream: true, status: 'ok', usage: usage(1000, 500), costMicros: 2000, costStatus: 'exact' });
    expect(record.attempts.map((a) => [a.provider, a.status])).toEqual([['openai', 200]]);

    // The same request without `stream` is served from what the stream stored.
    const again = asJson(await h.run(direct({ temperature: 0 })));
    expect(again.headers['x-sluice-cache']).toBe('hit');
    expect(again.completion().choices[0]?.message.content).toBe('Hello');
    expect(h.providers.get('openai')!.sent).toHaveLength(1);
  });

  it('is priced on a token estimate when the upstream reports no usage', async () => {
    const h = harness({ openai: { stream: () => streamOf(['one two three'], null) } });
    const call = h.newCall();
    await drain(h, asStream(await h.run(direct({ stream: true }), { call })), call);

    const { record } = h.finished[0]!;
    expect(record.costStatus).toBe('estimated');
    expect(record.usage?.inputTokens).toBeGreaterThan(0);
    expect(record.usage?.outputTokens).toBeGreaterThan(0);
    expect(record.costMicros).toBe(record.usage!.inputTokens * 1 + record.usage!.outputTokens * 2);
  });
});

describe('runChat: shadow traffic', () => {
  it('a sampled route finishes with a shadow follow-up, which is then sent to the shadow target', async () => {
    const h = harness({ openai: { chat: () => reply('primary') }, claude: { chat: () => reply('shadow') } });
    const call = h.newCall('primary');
    const shadowFinished = h.nextFinished().then(() => h.nextFinished());
    const run = asJson(await h.run({ model: 'shadowed', messages }, { call }));

    expect(run.text).toBe(reply('primary').text);
    const primary = h.finished[0]!;
    expect(primary.record).toMatchObject({ id: 'primary', route: 'shadowed', provider: 'openai', shadow: false, status: 'ok' });
    expect(primary.shadow).not.toBeNull();
    expect(primary.shadow!.prompt).toBeUndefined();
    expect(primary.shadow!.body).toMatchObject({ model: 'claude/claude-haiku-4-5', messages, stream: false });

    // shadowTraffic (subscribed as in createApp) sends it once the primary has finished ok.
    const shadow = await shadowFinished;
    expect(shadow.record).toMatchObject({
      shadow: true,
      parentCallId: 'primary',
      route: 'shadowed',
      variant: 'a',
      provider: 'claude',
      model: 'claude-haiku-4-5',
      status: 'ok',
      costMicros: 5000,
    });
    expect(shadow.shadow).toBeNull();
    expect(h.providers.get('claude')!.sent.map((s) => s.req.chat.stream)).toEqual([false]);
  });
});
