import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Attempt } from '../calls/record.ts';
import { GatewayError, toGatewayError } from '../errors/gateway-error.ts';
import type { CallContext, ChatStream, JsonResult, Provider, StreamChunk } from '../providers/types.ts';
import type { ChatRequest } from '../../core/chat.ts';
import { openaiUsageFromNormalized } from '../providers/usage.ts';
import { addUsage, type NormalizedUsage } from '../../core/usage.ts';
import { withRetry, type AttemptContext, type RetryOptions } from './retry.ts';

/**
 * `n` for providers whose upstream answers one choice per request (`nativeN: false`, i.e.
 * Anthropic): n single-choice calls in parallel, each with its own retries, so a failed choice
 * is retried alone instead of re-running the answers already paid for. All calls share one
 * AbortController linked to the client's signal; when a choice fails for good the others are
 * cancelled. Every answer that arrived is added to the call's ledger, also when the call as a
 * whole fails, so the record is priced on what the upstream billed.
 */

/** Attempt error for a choice the gateway cancelled because another choice failed (not the client). */
export const CANCELLED = 'cancelled';

/** The usage of every upstream answer of one call, summed. One per call, never shared. */
export class UsageLedger {
  private sum: NormalizedUsage | null = null;

  add(usage: NormalizedUsage | null): void {
    if (usage) this.sum = addUsage(this.sum, usage);
  }

  total(): NormalizedUsage | null {
    return this.sum;
  }
}

/** True when the call needs the pipeline to fan `n` out for this provider. */
export function needsFanOut(req: ChatRequest, provider: Provider): boolean {
  return typeof req.n === 'number' && req.n > 1 && provider.nativeN === false;
}

/** The same request for one choice. A copy: the client's request is never changed. */
function singleChoice(req: ChatRequest): ChatRequest {
  return { ...req, n: 1 } as ChatRequest;
}

/**
 * A controller aborted with the client's signal, and by the fan-out itself when a choice
 * fails for good. `release` drops the listener on the client's signal.
 */
function linkedController(client: AbortSignal): { controller: AbortController; release(): void } {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(client.reason);
  if (client.aborted) controller.abort(client.reason);
  else client.addEventListener('abort', onAbort, { once: true });
  return { controller, release: () => client.removeEventListener('abort', onAbort) };
}

/**
 * Runs `start(i)` for every choice with its own retries. Resolves with every result, or
 * throws the first failure that is final once every choice has settled (so each answer that
 * arrived has been handed to `arrived`, and no call is left running).
 */
async function forEachChoice<T>(
  n: number,
  retry: RetryOptions,
  controller: AbortController,
  start: (ctx: CallContext) => Promise<T>,
  arrived: (value: T) => void,
): Promise<T[]> {
  const signal = controller.signal;
  const ctx: CallContext = { signal, attempts: retry.attempts };
  const from = retry.attempts.length;
  const results: T[] = [];
  let failure: GatewayError | undefined;
  // A try ended by the shared signal is recorded as aborted, whatever the provider made of it.
  const run = async (attempt: AttemptContext): Promise<T> => {
    try {
      return await start({ ...ctx, ...attempt });
    } catch (err) {
      if (signal.aborted) throw new GatewayError('client_aborted', 'the call was cancelled', { provider: retry.provider, cause: err });
      throw err;
    }
  };
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      try {
        const value = await withRetry(run, { ...retry, signal });
        arrived(value);
        results[i] = value;
      } catch (thrown) {
        // The first failure is the call's; the ones it causes by cancelling are not.
        failure ??= toGatewayError(thrown);
        controller.abort();
      }
    }),
  );
  if (retry.signal.aborted) throw new GatewayError('client_aborted', 'the client closed the connection', { provider: retry.provider });
  if (failure) {
    // Tries the gateway stopped itself are marked so; the client did not go away.
    for (const attempt of retry.attempts.slice(from) as Attempt[]) if (attempt.error === 'client_aborted') attempt.error = CANCELLED;
    throw failure;
  }
  return results;
}

/** Non-stream: n answers merged into one chat.completion with choices 0..n-1. */
export async function fanOutChat(
  provider: Provider,
  req: ChatRequest,
  model: string,
  retry: RetryOptions,
  ledger: UsageLedger,
): Promise<JsonResult> {
  const n = req.n ?? 1;
  const single = singleChoice(req);
  const { controller, release } = linkedController(retry.signal);
  let answers: JsonResult[];
  try {
    answers = await forEachChoice(n, retry, controller, (ctx) => provider.chat({ chat: single }, model, ctx), (a) => ledger.add(a.usage));
  } finally {
    release();
  }
  const bodies = answers.map((a) => a.body as unknown as ChatCompletion);
  let usage: NormalizedUsage | null = null;
  for (const a of answers) usage = addUsage(usage, a.usage);
  const body: ChatCompletion = {
    ...bodies[0]!,
    choices: bodies.map((b, index) => ({ ...b.choices[0]!, index })),
  };
  if (usage) body.usage = openaiUsageFromNormalized(usage);
  return { text: JSON.stringify(body), body: body as unknown as Record<string, unknown>, usage };
}

/**
 * Stream: n upstream streams started in parallel (each start retried alone), then merged
 * into one stream as chunks arrive, each choice re-indexed and under one completion id. A
 * stream that fails mid-way cancels the others and ends the merged stream with its error;
 * nothing is retried once chunks flow (as for a single stream).
 */
export async function fanOutStream(provider: Provider, req: ChatRequest, model: string, retry: RetryOptions): Promise<ChatStream> {
  const n = req.n ?? 1;
  const single = singleChoice(req);
  const { controller, release } = linkedController(retry.signal);
  const started: ChatStream[] = [];
  let streams: ChatStream[];
  try {
    streams = await forEachChoice(n, retry, controller, (ctx) => provider.chatStream({ chat: single }, model, ctx), (s) => started.push(s));
  } catch (err) {
    // Streams that did start are released unread: their usage is unknown (see README).
    for (const s of started) s.cancel();
    release();
    throw err;
  }
  return mergeStreams(streams, controller, release);
}

type Next = { i: number; result: IteratorResult<StreamChunk> } | { i: number; error: unknown };

function mergeStreams(streams: ChatStream[], controller: AbortController, release: () => void): ChatStream {
  const iterators = streams.map((s) => s[Symbol.asyncIterator]());
  let id: string | undefined;
  let ended = false;
  /** `cancel`: the merged stream did not run to its end, so every upstream still open is stopped. */
  const end = (cancel: boolean): void => {
    if (ended) return;
    ended = true;
    if (cancel) {
      controller.abort();
      for (const s of streams) s.cancel();
      for (const it of iterators) void it.return?.(undefined).catch(() => {});
    }
    release();
  };

  async function* merged(): AsyncGenerator<StreamChunk> {
    // One pending read per live stream; they never reject, so none is left unhandled.
    const pending = new Map<number, Promise<Next>>();
    const read = (i: number): void => {
      pending.set(
        i,
        iterators[i]!.next().then(
          (result) => ({ i, result }),
          (error: unknown) => ({ i, error }),
        ),
      );
    };
    iterators.forEach((_, i) => read(i));
    let complete = false;
    try {
      while (pending.size > 0) {
        const next = await Promise.race(pending.values());
        pending.delete(next.i);
        if ('error' in next) throw next.error;
        if (next.result.done) continue;
        read(next.i);
        const chunk = next.result.value.chunk;
        // Usage-only chunks are per stream; the merged usage is reported once by the face.
        if (chunk.choices.length === 0) continue;
        id ??= chunk.id;
        const out: ChatCompletionChunk = { ...chunk, id, choices: chunk.choices.map((c) => ({ ...c, index: next.i })) };
        yield { data: JSON.stringify(out), chunk: out };
      }
      complete = true;
    } finally {
      end(!complete);
    }
  }

  const iterator = merged();
  return {
    [Symbol.asyncIterator]: () => iterator,
    usage: () => streams.map((s) => s.usage()).reduce<NormalizedUsage | null>(addUsage, null),
    cancel: () => end(true),
  };
}
