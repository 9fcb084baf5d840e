import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  pipelineHarness,
  reply,
  startPrompts,
  upstreamFailure,
  usage,
  type PipelineHarness,
  type Script,
  type TestPrompts,
} from '../../test/helpers/pipeline-deps.ts';
import type { CallTracker } from '../calls/tracker.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { NativeBody } from '../providers/types.ts';
import { executeChat, planChat } from './chat-call.ts';
import type { ChatPlan } from './chat-plan.ts';

/**
 * The two halves of the chat pipeline on their own: planChat (route, prompt, validation →
 * ChatPlan) and executeChat (provider tries, retries, fallbacks, breakers → outcome), against
 * provider objects and PipelineDeps built from a config. Nothing here finishes the call: the
 * record is read as the pipeline left it.
 */

const retry = { max_attempts: 2, base_delay_ms: 0, max_delay_ms: 0 };
const CONFIG = {
  providers: { openai: { type: 'openai', retry }, claude: { type: 'anthropic', retry } },
  pricing: { overrides: { 'openai/gpt-4o-mini': { input: 1, output: 2 }, 'claude/claude-haiku-4-5': { input: 3, output: 4 } } },
  server: { max_n: 4 },
  routes: {
    plain: { variants: [{ name: 'a', target: 'claude/claude-haiku-4-5' }] },
    tuned: { variants: [{ name: 'a', target: 'claude/claude-haiku-4-5', params: { temperature: 0.2 } }] },
    wide: { variants: [{ name: 'a', target: 'openai/gpt-4o-mini', params: { n: 8 } }] },
    // Its own primary: a target shared with other routes gets the strictest breaker of them all.
    // A fan-out primary (claude has no native n) with a fallback priced differently.
    spread: { variants: [{ name: 'a', target: 'claude/claude-haiku-4-5' }], fallbacks: ['openai/gpt-4o-mini'] },
    guarded: {
      variants: [{ name: 'a', target: 'openai/gpt-4.1-mini' }],
      fallbacks: ['claude/claude-haiku-4-5'],
      circuit_breaker: { failures: 1, cooldown_ms: 1000 },
    },
  },
};

const messages = [{ role: 'user', content: 'hi' }];

let prompts: TestPrompts;
beforeAll(async () => {
  prompts = await startPrompts();
  await prompts.store.createPrompt('greeter', null, 'test');
  await prompts.store.createVersion('greeter', { messages: [{ role: 'system', content: 'Be brief.' }], model: null, params: {}, variables: null }, 'test');
});
afterAll(async () => {
  await prompts?.close();
});

const harness = (scripts: Record<string, Script> = {}): PipelineHarness => pipelineHarness(CONFIG, scripts, prompts.resolver);

interface Planned {
  plan: ChatPlan;
  call: CallTracker;
}

async function plan(h: PipelineHarness, body: Record<string, unknown>, opts: { headers?: Record<string, string>; native?: NativeBody } = {}): Promise<Planned> {
  const call = h.newCall();
  return { plan: await planChat(h.input(body, opts), call, h.deps), call };
}

async function execute(h: PipelineHarness, { plan: p, call }: Planned) {
  return executeChat(p, call, new AbortController().signal, h.deps);
}

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(err)}`);
  return err;
}

describe('planChat: n and server.max_n', () => {
  it('refuses n above server.max_n with a 400 naming n, before any upstream call', async () => {
    const h = harness();
    const err = await rejection(plan(h, { model: 'openai/gpt-4o-mini', messages, n: 5 }));
    expect(err).toMatchObject({ code: 'invalid_request', status: 400, param: 'n' });
    expect(err.message).toContain('server.max_n');
    expect(err.message).toContain('got 5');
    expect(h.providers.get('openai')!.sent).toHaveLength(0);
  });

  it("also when the n comes from a variant's params; n at the limit is planned", async () => {
    const h = harness();
    expect(await rejection(plan(h, { model: 'wide', messages }))).toMatchObject({ status: 400, param: 'n' });
    const { plan: p } = await plan(h, { model: 'openai/gpt-4o-mini', messages, n: 4 });
    expect(p.req.n).toBe(4);
  });
});

describe('planChat: native pass-through', () => {
  const chat = { model: 'claude/claude-haiku-4-5', max_tokens: 100, messages };
  const native = (model: string): NativeBody => ({ format: 'anthropic', body: { model, max_tokens: 100, top_k: 3, messages } });

  it("sends the client's own body to a provider of that format when nothing changed it", async () => {
    const h = harness({ claude: { chat: () => reply('native') } });
    const body = native('claude/claude-haiku-4-5');
    const planned = await plan(h, chat, { native: body });
    expect(planned.plan.upstream.native).toBe(body);

    const outcome = await execute(h, planned);
    expect(outcome.kind).toBe('json');
    const sent = h.providers.get('claude')!.sent;
    expect(sent).toHaveLength(1);
    expect(sent[0]!.req.native).toBe(body);
    expect(sent[0]!.req.chat).toMatchObject(chat);
  });

  it('keeps it through a route that changes nothing', async () => {
    const h = harness();
    const body = native('plain');
    const { plan: p } = await plan(h, { ...chat, model: 'plain' }, { native: body });
    expect(p.upstream.native).toBe(body);
  });

  it("drops it when a variant's params changed the request: the provider gets the chat request", async () => {
    const h = harness({ claude: { chat: () => reply('translated') } });
    const planned = await plan(h, { ...chat, model: 'tuned' }, { native: native('tuned') });
    expect(planned.plan.upstream.native).toBeUndefined();
    expect(planned.plan.req.temperature).toBe(0.2);

    await execute(h, planned);
    const sent = h.providers.get('claude')!.sent;
    expect(sent[0]!.req.native).toBeUndefined();
    expect(sent[0]!.req.chat).toMatchObject({ model: 'tuned', temperature: 0.2 });
  });

  it('drops it when a prompt was rendered into the request', async () => {
    const h = harness();
    const { plan: p, call } = await plan(h, chat, { native: native('claude/claude-haiku-4-5'), headers: { 'x-sluice-prompt': 'greeter' } });
    expect(p.upstream.native).toBeUndefined();
    expect(p.req.messages).toEqual([{ role: 'system', content: 'Be brief.' }, ...messages]);
    expect(call.record).toMatchObject({ promptName: 'greeter', promptVersion: 1 });
  });
});

describe('executeChat: targets, breakers and what a failed call paid', () => {
  it("a target whose breaker opened is skipped (a fallback without a try) until the clock passes its cool-down", async () => {
    const h = harness({
      // Fails its first call (both tries), answers from then on.
      openai: {
        chat: (attempt) => {
          if (attempt < 2) throw upstreamFailure('openai', 503);
          return reply('primary is back');
        },
      },
      claude: { chat: () => reply('fallback') },
    });
    const openai = h.providers.get('openai')!;
    const body = { model: 'guarded', messages };

    const first = await plan(h, body);
    await execute(h, first);
    expect(first.call.record).toMatchObject({ provider: 'claude', fallbackUsed: true });
    expect(first.call.record.attempts.map((a) => a.provider)).toEqual(['openai', 'openai', 'claude']);

    // One failed call opens the breaker (failures: 1): the next plan lists only the fallback.
    const second = await plan(h, body);
    expect(second.plan.targets.map((t) => `${t.provider.name}/${t.model}`)).toEqual(['claude/claude-haiku-4-5']);
    await execute(h, second);
    expect(second.call.record).toMatchObject({ provider: 'claude', fallbackUsed: true });
    expect(second.call.record.attempts.map((a) => a.provider)).toEqual(['claude']);
    expect(openai.sent).toHaveLength(2);

    // After cooldown_ms on the injected clock the primary gets its trial, and serves the call.
    h.clock.advance(1000);
    const third = await plan(h, body);
    const outcome = await execute(h, third);
    expect(outcome.kind === 'json' && outcome.result.text).toBe(reply('primary is back').text);
    expect(third.call.record).toMatchObject({ provider: 'openai', fallbackUsed: false });
    expect(third.call.record.attempts.map((a) => [a.provider, a.status])).toEqual([['openai', 200]]);
  });

  it('a fan-out (n on a provider without native n) that fails part-way is still priced on the answer it paid for', async () => {
    const h = harness({
      claude: {
        chat: (attempt) => {
          if (attempt === 1) throw upstreamFailure('claude', 400);
          return reply('one choice', usage(1000, 500));
        },
      },
    });
    const planned = await plan(h, { model: 'claude/claude-haiku-4-5', messages, n: 2 });
    const err = await rejection(execute(h, planned));

    expect(err).toMatchObject({ code: 'upstream_bad_request', status: 400 });
    expect(h.providers.get('claude')!.sent.map((s) => s.req.chat.n)).toEqual([1, 1]);
    expect(planned.call.record).toMatchObject({ usage: usage(1000, 500), costMicros: 5000, costStatus: 'exact' });
  });

  it('answers an earlier target billed before the fallback served are priced at that target\'s rates, not the fallback\'s', async () => {
    const h = harness({
      claude: {
        chat: (attempt) => {
          // One of the two choices fails for good, retries too (retryable, so the route falls back).
          if (attempt >= 1) throw upstreamFailure('claude', 503);
          return reply('one choice', usage(1000, 500));
        },
      },
      openai: { chat: () => reply('fallback answer', usage(1000, 500)) },
    });
    const planned = await plan(h, { model: 'spread', messages, n: 2 });
    await execute(h, planned);
    // The fallback was priced when the pipeline finished (run-chat); do what it does here.
    planned.call.price(usage(1000, 500), false, 'chat');
    // claude: 1000 × $3 + 500 × $4 per M = 5000 µ$; openai: 1000 × $1 + 500 × $2 per M = 2000 µ$.
    expect(planned.call.record).toMatchObject({ provider: 'openai', usage: usage(2000, 1000), costMicros: 7000, costStatus: 'exact', fallbackUsed: true });
  });

  it("a fan-out's parallel tries count once toward upstream time: the gateway's overhead is what remains", async () => {
    const h = harness({ claude: { chat: async () => reply('one choice', usage(10, 5)) } });
    const planned = await plan(h, { model: 'claude/claude-haiku-4-5', messages, n: 3 });
    h.clock.advance(5); // the gateway's own time before the upstream
    const started = h.clock.now();
    await execute(h, planned);
    const wall = h.clock.now() - started;
    const summed = planned.call.record.attempts.reduce((s, a) => s + a.latencyMs, 0);
    // Three tries side by side: their latencies add up to more than the time they took.
    expect(summed).toBeGreaterThan(wall);
    expect(planned.call.overheadMs()).toBe(5);
  });
});
