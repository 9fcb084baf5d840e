import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { usage } from '../../test/helpers/calls.ts';
import { describe, expect, it } from 'vitest';
import type { Attempt } from '../calls/record.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { CallContext, ChatStream, JsonResult, Provider, ProviderRequest, StreamChunk } from '../providers/types.ts';
import type { ChatRequest } from '../../core/chat.ts';
import type { NormalizedUsage } from '../../core/usage.ts';
import { CANCELLED, fanOutChat, fanOutStream, needsFanOut, UsageLedger } from './fan-out.ts';
import type { RetryOptions } from './retry.ts';

/**
 * The fan-out against a scripted provider: each call's behaviour is chosen by the order calls
 * arrive in, and every ordering is forced with promises the test resolves, never with time.
 */

function answer(text: string, u: NormalizedUsage): JsonResult {
  const body = {
    id: `chatcmpl-${text}`,
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
  };
  return { text: JSON.stringify(body), body, usage: u };
}

/** A promise that rejects as the provider's would when its signal is aborted. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = (): void => reject(new GatewayError('upstream_unreachable', 'aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

type Script = (call: number, req: ChatRequest, ctx: CallContext) => Promise<JsonResult>;
type StreamScript = (call: number, req: ChatRequest, ctx: CallContext) => Promise<ChatStream>;

function fakeProvider(chat: Script, chatStream?: StreamScript): Provider & { calls: number; requests: ChatRequest[] } {
  const p = {
    name: 'fake',
    type: 'anthropic' as const,
    config: { type: 'anthropic' as const },
    nativeN: false,
    calls: 0,
    requests: [] as ChatRequest[],
    chat: ({ chat: req }: ProviderRequest, _model: string, ctx: CallContext) => {
      p.requests.push(req);
      return chat(p.calls++, req, ctx);
    },
    chatStream: ({ chat: req }: ProviderRequest, _model: string, ctx: CallContext) => {
      p.requests.push(req);
      return chatStream ? chatStream(p.calls++, req, ctx) : Promise.reject(new Error('no streams'));
    },
    embeddings: () => Promise.reject(new Error('unused')),
    listModels: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
  return p;
}

function retryOptions(signal = new AbortController().signal): RetryOptions & { attempts: Attempt[] } {
  return {
    policy: { max_attempts: 3, base_delay_ms: 0, max_delay_ms: 0 },
    provider: 'fake',
    model: 'm',
    attempts: [],
    signal,
    now: () => 0,
    random: () => 0,
  };
}

const req = (n: number, extra: Record<string, unknown> = {}): ChatRequest =>
  ({ model: 'fake/m', messages: [{ role: 'user', content: 'hi' }], n, ...extra }) as ChatRequest;

describe('needsFanOut', () => {
  it('fans out n > 1 only for a provider without a native n', () => {
    const anthropic = fakeProvider(() => Promise.reject(new Error('unused')));
    const { nativeN: _native, ...openai } = anthropic;
    expect(needsFanOut(req(2), anthropic)).toBe(true);
    expect(needsFanOut(req(1), anthropic)).toBe(false);
    expect(needsFanOut(req(2), openai)).toBe(false);
  });
});

describe('fanOutChat', () => {
  it('asks for one choice per call and merges the answers as choices 0..n-1 with summed usage', async () => {
    const provider = fakeProvider(async (i) => answer(`a${i}`, usage(10, i + 1)));
    const ledger = new UsageLedger();
    const result = await fanOutChat(provider, req(3), 'm', retryOptions(), ledger);
    expect(provider.requests.map((r) => r.n)).toEqual([1, 1, 1]);
    const body = result.body as { choices: Array<{ index: number; message: { content: string } }>; usage: unknown };
    expect(body.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(body.choices.map((c) => c.message.content).sort()).toEqual(['a0', 'a1', 'a2']);
    expect(result.usage).toEqual(usage(30, 6));
    expect(body.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 6, total_tokens: 36 });
    expect(JSON.parse(result.text)).toEqual(body);
    expect(ledger.total()).toEqual(usage(30, 6));
  });

  it('retries a failed choice alone: n + 1 calls, not 2n', async () => {
    const provider = fakeProvider(async (i) => {
      if (i === 1) throw new GatewayError('upstream_error', 'overloaded', { status: 529 });
      return answer(`a${i}`, usage(10, 1));
    });
    const retry = retryOptions();
    const ledger = new UsageLedger();
    const result = await fanOutChat(provider, req(4), 'm', retry, ledger);
    expect(provider.calls).toBe(5);
    expect((result.body as { choices: unknown[] }).choices).toHaveLength(4);
    expect(retry.attempts.map((a) => a.error).sort()).toEqual([null, null, null, null, 'upstream_error']);
    expect(ledger.total()).toEqual(usage(40, 4));
  });

  it('cancels the other choices through their signal when one fails for good, and keeps what was paid', async () => {
    const signals: AbortSignal[] = [];
    let firstAnswered!: () => void;
    const answered = new Promise<void>((resolve) => (firstAnswered = resolve));
    // The failure waits until the first answer is on the ledger: the order is forced, not timed.
    const ledger = new (class extends UsageLedger {
      override add(u: NormalizedUsage | null): void {
        super.add(u);
        firstAnswered();
      }
    })();
    const provider = fakeProvider(async (i, _req, ctx) => {
      signals[i] = ctx.signal;
      if (i === 0) return answer('paid', usage(7, 3));
      if (i === 1) {
        await answered;
        throw new GatewayError('upstream_bad_request', 'bad schema', { status: 400 });
      }
      return untilAborted(ctx.signal); // still running when choice 1 fails
    });
    const retry = retryOptions();
    const failed = fanOutChat(provider, req(4), 'm', retry, ledger);
    await expect(failed).rejects.toMatchObject({ code: 'upstream_bad_request' });
    // Not retried (a 400 is final), and the two still running were told to stop.
    expect(provider.calls).toBe(4);
    expect(signals[2]!.aborted).toBe(true);
    expect(signals[3]!.aborted).toBe(true);
    // The answer that arrived before the failure is on the ledger; the cancelled ones are marked.
    expect(ledger.total()).toEqual(usage(7, 3));
    expect(retry.attempts.map((a) => a.error).sort()).toEqual([CANCELLED, CANCELLED, null, 'upstream_bad_request']);
  });

  it("stops every choice when the client goes away, and reports the client's abort", async () => {
    const client = new AbortController();
    const signals: AbortSignal[] = [];
    const provider = fakeProvider(async (i, _req, ctx) => {
      signals[i] = ctx.signal;
      if (i === 2) queueMicrotask(() => client.abort());
      return untilAborted(ctx.signal);
    });
    const retry = retryOptions(client.signal);
    await expect(fanOutChat(provider, req(3), 'm', retry, new UsageLedger())).rejects.toMatchObject({ code: 'client_aborted' });
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(provider.calls).toBe(3);
    expect(retry.attempts.every((a) => a.error === 'client_aborted')).toBe(true);
  });
});

/** A scripted upstream stream: yields its chunks, then optionally fails. */
function scriptedStream(chunks: ChatCompletionChunk[], u: NormalizedUsage | null, opts: { failAfter?: number; hang?: AbortSignal } = {}) {
  let cancelled = false;
  async function* gen(): AsyncGenerator<StreamChunk> {
    for (const [i, chunk] of chunks.entries()) {
      if (opts.failAfter === i) throw new GatewayError('upstream_error', 'stream broke');
      yield { data: JSON.stringify(chunk), chunk };
    }
    if (opts.hang) await untilAborted(opts.hang);
  }
  const it = gen();
  const stream: ChatStream & { cancelled(): boolean } = {
    [Symbol.asyncIterator]: () => it,
    usage: () => u,
    cancel: () => {
      cancelled = true;
    },
    cancelled: () => cancelled,
  };
  return stream;
}

const chunk = (id: string, delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk =>
  ({ id, object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }) as ChatCompletionChunk;

const textStream = (id: string, text: string): ChatCompletionChunk[] => [
  chunk(id, { role: 'assistant', content: '' }),
  chunk(id, { content: text }),
  chunk(id, {}, 'stop'),
  { id, object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } },
];

describe('fanOutStream', () => {
  it('merges n streams under one id, each re-indexed, usage-only chunks dropped and usage summed', async () => {
    const provider = fakeProvider(
      () => Promise.reject(new Error('unused')),
      async (i) => scriptedStream(textStream(`up-${i}`, `t${i}`), usage(5, i + 1)),
    );
    const merged = await fanOutStream(provider, req(3, { stream: true }), 'm', retryOptions());
    const out: ChatCompletionChunk[] = [];
    for await (const c of merged) {
      expect(JSON.parse(c.data)).toEqual(c.chunk);
      out.push(c.chunk);
    }
    expect(provider.requests.map((r) => r.n)).toEqual([1, 1, 1]);
    expect(new Set(out.map((c) => c.id))).toEqual(new Set([out[0]!.id]));
    expect(out.every((c) => c.choices.length === 1)).toBe(true);
    const text = (i: number): string =>
      out
        .flatMap((c) => c.choices)
        .filter((c) => c.index === i)
        .map((c) => c.delta.content ?? '')
        .join('');
    expect([text(0), text(1), text(2)]).toEqual(['t0', 't1', 't2']);
    expect(out.flatMap((c) => c.choices).filter((c) => c.finish_reason === 'stop')).toHaveLength(3);
    expect(merged.usage()).toEqual(usage(15, 6));
  });

  it('retries a stream that failed to start alone', async () => {
    const provider = fakeProvider(
      () => Promise.reject(new Error('unused')),
      async (i) => {
        if (i === 0) throw new GatewayError('upstream_rate_limited', 'slow down', { status: 429 });
        return scriptedStream(textStream(`up-${i}`, 'x'), usage(1, 1));
      },
    );
    const merged = await fanOutStream(provider, req(2, { stream: true }), 'm', retryOptions());
    let chunks = 0;
    for await (const _ of merged) chunks++;
    expect(provider.calls).toBe(3);
    expect(chunks).toBe(6);
  });

  it('ends with the error of a stream that breaks mid-way and cancels the others', async () => {
    const stop = new AbortController();
    const streams: Array<ReturnType<typeof scriptedStream>> = [];
    const provider = fakeProvider(
      () => Promise.reject(new Error('unused')),
      async (i, _req, ctx) => {
        const s =
          i === 0
            ? scriptedStream(textStream('up-0', 'x'), usage(4, 1), { failAfter: 2 })
            : scriptedStream(textStream(`up-${i}`, 'y').slice(0, 2), usage(4, 2), { hang: ctx.signal });
        streams.push(s);
        return s;
      },
    );
    const merged = await fanOutStream(provider, req(3, { stream: true }), 'm', retryOptions(stop.signal));
    const read = async (): Promise<number> => {
      let n = 0;
      for await (const _ of merged) n++;
      return n;
    };
    await expect(read()).rejects.toMatchObject({ code: 'upstream_error' });
    expect(streams.every((s) => s.cancelled())).toBe(true);
    // What each upstream reported so far is still the call's usage.
    expect(merged.usage()).toEqual(usage(12, 5));
    expect(stop.signal.aborted).toBe(false); // the client's own signal is left alone
  });
});
