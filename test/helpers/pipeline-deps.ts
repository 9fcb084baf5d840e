import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { collectFinished, usage } from './calls.ts';
import { PromptResolver, PromptStore } from '../../prompts/index.ts';
import { createCache } from '../../gateway/cache/index.ts';
import { CallEvents, type CallFinished } from '../../gateway/calls/call-events.ts';
import { CallTracker, type TrackerDeps } from '../../gateway/calls/tracker.ts';
import { parseConfig } from '../../gateway/config/load.ts';
import { openDatabase } from '../../gateway/db/client.ts';
import type { ProviderConfig, SluiceConfig } from '../../gateway/config/schema.ts';
import { createPricer, type PriceOverride } from '../../gateway/cost/pricing.ts';
import { GatewayError, toGatewayError } from '../../gateway/errors/gateway-error.ts';
import { silentLogger } from '../../gateway/logger.ts';
import type { CallInput } from '../../gateway/pipeline/call-input.ts';
import type { PipelineDeps } from '../../gateway/pipeline/deps.ts';
import { providerEmbedder } from '../../gateway/pipeline/embed.ts';
import { runChat, type ChatRun } from '../../gateway/pipeline/run-chat.ts';
import { shadowTraffic } from '../../gateway/pipeline/shadow-call.ts';
import { failureFromResponse } from '../../gateway/providers/upstream-failure.ts';
import type { CallContext, ChatStream, JsonResult, NativeBody, Provider, ProviderRequest, StreamChunk } from '../../gateway/providers/types.ts';
import type { NormalizedUsage } from '../../core/usage.ts';
import { createModelResolver } from '../../gateway/routing/resolve-model.ts';
import { Router } from '../../gateway/routing/router.ts';

/**
 * The chat pipeline without a server: PipelineDeps assembled from a config object as
 * gateway/app.ts and gateway/services.ts assemble them (model resolver, router, cache, pricer,
 * call events with shadow traffic subscribed), with provider OBJECTS whose answers a test
 * scripts per attempt, and a clock the test owns.
 */

export { usage };

/** A complete OpenAI `chat.completion` answer as a provider returns it. */
export function reply(text: string, u: NormalizedUsage | null = usage(1000, 500)): JsonResult {
  const body = {
    id: `chatcmpl-${text.replace(/\W/g, '')}`,
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
  };
  return { text: JSON.stringify(body), body, usage: u };
}

/** A stream of `pieces` as OpenAI chunks, the last one with finish_reason stop; `usage()` once done. */
export function streamOf(pieces: string[], u: NormalizedUsage | null = usage(1000, 500)): ChatStream {
  const chunks: StreamChunk[] = pieces.map((content, i) => {
    const chunk: ChatCompletionChunk = {
      id: 'chatcmpl-s',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: i === pieces.length - 1 ? 'stop' : null }],
    };
    return { chunk, data: JSON.stringify(chunk) };
  });
  let done = false;
  return {
    async *[Symbol.asyncIterator]() {
      yield* chunks;
      done = true;
    },
    usage: () => (done ? u : null),
    cancel() {},
  };
}

/** What an upstream answering HTTP `status` makes a real provider throw. */
export const upstreamFailure = (provider: string, status: number): GatewayError =>
  failureFromResponse(provider, status, {}, JSON.stringify({ error: { message: `status ${status}` } }), []);

/** One try: `attempt` counts this provider's tries from 0. Return an answer or throw. */
export type ChatScript = (attempt: number, req: ProviderRequest, model: string) => JsonResult | Promise<JsonResult>;
export type StreamScript = (attempt: number, req: ProviderRequest, model: string) => ChatStream | Promise<ChatStream>;

export interface Script {
  chat?: ChatScript;
  stream?: StreamScript;
}

export interface SentRequest {
  req: ProviderRequest;
  model: string;
}

export interface FakeProvider extends Provider {
  /** Every try, in order (chat and stream). */
  readonly sent: SentRequest[];
}

/**
 * A provider object for the configured `name`: anthropic-typed ones speak the client format
 * `anthropic` and have no native `n`, as the real adapter. Each try advances the clock by
 * `latencyMs`, so attempts carry a known latency.
 */
export function fakeProvider(name: string, config: ProviderConfig, script: Script, clock: TestClock, latencyMs = 10): FakeProvider {
  const sent: SentRequest[] = [];
  const anthropic = config.type === 'anthropic';
  const tried = async <T>(run: ((i: number, req: ProviderRequest, model: string) => T | Promise<T>) | undefined, req: ProviderRequest, model: string) => {
    const i = sent.length;
    sent.push({ req, model });
    clock.advance(latencyMs);
    if (!run) throw new Error(`fake provider ${name} has no script for this call`);
    return run(i, req, model);
  };
  return {
    name,
    type: config.type,
    config,
    ...(anthropic ? { nativeN: false, nativeFormat: 'anthropic' as const } : {}),
    sent,
    chat: (req: ProviderRequest, model: string, _ctx: CallContext) => tried(script.chat, req, model),
    chatStream: (req: ProviderRequest, model: string, _ctx: CallContext) => tried(script.stream, req, model),
    embeddings: () => Promise.reject(new Error('unused')),
    listModels: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
}

export interface TestClock {
  /** Monotonic ms. */
  now(): number;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Epoch ms the wall clock reads (and every call starts at). */
export const WALL_CLOCK = Date.parse('2026-03-01T12:00:00Z');

export interface PipelineHarness {
  config: SluiceConfig;
  deps: PipelineDeps;
  providers: ReadonlyMap<string, FakeProvider>;
  clock: TestClock;
  /** Every CallFinished, in order (primary calls and shadow calls). */
  finished: CallFinished[];
  /** What CallFinished listeners threw (should stay empty). */
  listenerErrors: unknown[];
  /** Resolves with the next CallFinished to arrive. */
  nextFinished(): Promise<CallFinished>;
  /** A tracker for a new chat call, already authenticated. */
  newCall(id?: string): CallTracker;
  /** A CallInput with these headers (lower-case names). */
  input(body: Record<string, unknown>, opts?: { headers?: Record<string, string>; native?: NativeBody }): CallInput;
  /**
   * runChat as a face and the error handler use it: a failure finishes the call with the error
   * (gateway/http/error-handler.ts) and is rethrown.
   */
  run(body: Record<string, unknown>, opts?: { headers?: Record<string, string>; native?: NativeBody; call?: CallTracker }): Promise<ChatRun>;
}

function pricingOverrides(config: SluiceConfig): Record<string, PriceOverride> {
  const out: Record<string, PriceOverride> = {};
  for (const [model, p] of Object.entries(config.pricing.overrides)) {
    out[model] = { input: p.input, ...(p.output === undefined ? {} : { output: p.output }) };
  }
  return out;
}

/**
 * PipelineDeps from a raw config (as sluice.config.yaml parses) and a script per configured
 * provider. `prompts` is a started PromptResolver (PGlite in the tests that use one).
 */
export function pipelineHarness(rawConfig: unknown, scripts: Record<string, Script>, prompts: PromptResolver): PipelineHarness {
  const config = parseConfig(rawConfig, {});
  const clock = testClock();
  const providers = new Map<string, FakeProvider>();
  for (const [name, pc] of Object.entries(config.providers)) providers.set(name, fakeProvider(name, pc, scripts[name] ?? {}, clock));

  const listenerErrors: unknown[] = [];
  const events = new CallEvents((err) => listenerErrors.push(err));
  const tracker: TrackerDeps = { events, pricer: createPricer({ overrides: pricingOverrides(config) }), now: clock.now, clock: () => WALL_CLOCK };
  const resolveModel = createModelResolver(config, providers);
  const deps: PipelineDeps = {
    resolveModel,
    prompts,
    maxN: config.server.max_n,
    cache: createCache({ config: config.cache, logger: silentLogger, now: () => WALL_CLOCK }),
    cacheDefaults: config.cache,
    routeCache: (route) => config.routes[route]?.cache,
    embed: providerEmbedder(resolveModel),
    router: new Router({ config, providers, now: clock.now }),
    tracker,
    now: clock.now,
    clock: () => WALL_CLOCK,
    // 0 samples every shadow and picks the first of weighted targets.
    random: () => 0,
    logger: silentLogger,
  };

  // As createApp: the record is taken first, then shadow traffic reacts to it.
  const { finished, nextFinished } = collectFinished(events, { first: true });
  events.onFinished(shadowTraffic(deps));

  let calls = 0;
  const newCall = (id = `call-${++calls}`): CallTracker =>
    new CallTracker({ id, requestId: `req-${id}`, endpoint: 'chat.completions', startedAt: new Date(WALL_CLOCK), t0: clock.now() }, tracker);
  const input: PipelineHarness['input'] = (body, opts = {}) => ({
    body,
    header: (name) => opts.headers?.[name],
    signal: new AbortController().signal,
    native: opts.native,
  });

  return {
    config,
    deps,
    providers,
    clock,
    finished,
    listenerErrors,
    nextFinished,
    newCall,
    input,
    async run(body, opts = {}) {
      const call = opts.call ?? newCall();
      try {
        return await runChat(input(body, opts), call, deps);
      } catch (err) {
        call.finishError(toGatewayError(err));
        throw err;
      }
    },
  };
}

export interface TestPrompts {
  store: PromptStore;
  resolver: PromptResolver;
  close(): Promise<void>;
}

/** The prompt registry on an embedded, migrated PGlite, its resolver started (as services.ts). */
export async function startPrompts(): Promise<TestPrompts> {
  const database = await openDatabase({});
  await database.migrate();
  const store = new PromptStore(database);
  const resolver = new PromptResolver({ store });
  await resolver.start();
  return {
    store,
    resolver,
    async close() {
      resolver.stop();
      await database.close();
    },
  };
}
