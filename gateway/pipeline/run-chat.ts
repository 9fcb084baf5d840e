import type { ChatCompletion } from 'openai/resources/chat/completions';
import { completionOf, completionToChunks, entryFromJson, entryFromStream, replayJson, type EntryMeta } from '../cache/index.ts';
import type { CallTracker } from '../calls/tracker.ts';
import { callHeaders } from './call-headers.ts';
import { createTokenEstimator, promptTokenBound } from '../cost/estimate-tokens.ts';
import type { Demand } from '../policy/governor.ts';
import type { ChatStream } from '../providers/types.ts';
import { openaiUsageFromNormalized } from '../providers/usage.ts';
import type { CallInput } from './call-input.ts';
import { prepareChatCache } from './chat-cache.ts';
import { completionText, executeChat, planChat, priceChat } from './chat-call.ts';
import type { ChatPlan } from './chat-plan.ts';
import type { PipelineDeps } from './deps.ts';
import { replayStream, type StreamLifecycle } from './stream-response.ts';

/**
 * What the pipeline returns to a face: a value (nothing in it changes after it is returned).
 * The call's facts — target, attempts, usage, cost, cache status — are on the call's record,
 * which the tracker finishes once (calls/tracker.ts).
 */

/** A finished answer: the OpenAI body text as the upstream sent it (or as cached) and its parse. */
export interface JsonRun {
  readonly kind: 'json';
  readonly plan: Readonly<ChatPlan>;
  readonly text: string;
  /** The upstream's own body when the call passed through in the client's format. */
  readonly native?: string | undefined;
  completion(): ChatCompletion;
  /** Response headers (call-headers.ts): route, variant, prompt version, cache, cost, overhead. */
  readonly headers: Readonly<Record<string, string>>;
}

/** A started stream; the face frames it and calls the lifecycle when it ends. */
export interface StreamRun {
  readonly kind: 'stream';
  readonly plan: Readonly<ChatPlan>;
  readonly stream: ChatStream;
  readonly lifecycle: StreamLifecycle;
  readonly headers: Readonly<Record<string, string>>;
}

export type ChatRun = JsonRun | StreamRun;

/**
 * The whole chat pipeline shared by every face (chat completions, messages, responses):
 * plan (route, prompt, validation) → cache → provider with retries and fallbacks → pricing,
 * cache write, shadow. JSON answers are finished here; streams are finished by the face's
 * framing through the returned lifecycle.
 */
export async function runChat(input: CallInput, call: CallTracker, deps: PipelineDeps): Promise<ChatRun> {
  const plan = await planChat(input, call, deps);
  // Rate limits count every request, cache hits too; budgets only what may cost money.
  const gate = deps.governor?.governs(call.key) ? deps.governor.start(call, plan.targets, demandOf(plan)) : undefined;
  // Hashed while the store answers (start has sent its request): the key costs no wait.
  const lookup = prepareChatCache(plan, call, input, deps);
  if (gate) {
    const limited = await gate.admitted;
    if (limited) {
      await gate.reserved;
      throw limited;
    }
  }
  const cached = await lookup();

  if (cached.status === 'hit') {
    await gate?.reserved; // a hit costs nothing: served whatever the budget says
    const { entry } = cached;
    call.hitCache(entry.usage, entry.costMicros);
    const completion = completionOf(entry);
    if (plan.req.stream === true) {
      // As OpenAI streams it: with include_usage every chunk has usage null and a usage chunk ends it.
      const includeUsage = plan.req.stream_options?.include_usage === true;
      const usage = entry.usage ? openaiUsageFromNormalized(entry.usage) : undefined;
      const chunks = completionToChunks(completion, { includeUsage, usage });
      const noop = { complete() {}, abandon() {} };
      return { kind: 'stream', plan, stream: replayStream(chunks, entry.usage), lifecycle: noop, headers: callHeaders(call.record, undefined, call.limitHeaders) };
    }
    const headers = callHeaders(call.record, call.overheadMs(), call.limitHeaders);
    call.finishOk(completion);
    return { kind: 'json', plan, text: replayJson(entry), completion: () => completion, headers };
  }

  let outcome;
  try {
    const overBudget = gate ? await gate.reserved : null;
    if (overBudget) throw overBudget;
    call.prepareLog();
    outcome = await executeChat(plan, call, input.signal, deps);
  } catch (err) {
    cached.abandon();
    throw err;
  }
  const meta = (): EntryMeta => ({ usage: call.record.usage, costMicros: call.record.costMicros, createdAt: deps.clock(), expectedChoices: plan.req.n ?? 1 });

  if (outcome.kind === 'stream') {
    let after: Promise<void> | undefined;
    const lifecycle: StreamLifecycle = {
      complete(assembler, usage) {
        priceChat(call, plan.req, usage, () => assembler.text());
        cached.complete(entryFromStream(assembler, meta()));
        const rag = plan.rag;
        if (rag) {
          // A streamed answer already reached the client: after hooks can only annotate it.
          after = rag.pipeline.runAfter(rag.run, { text: assembler.text(), body: null, streamed: true }, input.signal).then((r) => {
            call.annotateRetrieval({ ...rag.run.record, annotations: r.annotations });
          });
        }
      },
      settled: () => after ?? Promise.resolve(),
      abandon(assembler, usage) {
        priceChat(call, plan.req, usage, () => assembler.text());
        cached.abandon();
      },
    };
    return { kind: 'stream', plan, stream: outcome.stream, lifecycle, headers: callHeaders(call.record, undefined, call.limitHeaders) };
  }

  const { result } = outcome;
  priceChat(call, plan.req, result.usage, () => completionText(result.body));
  if (plan.rag) {
    // After hooks see the answer; one may refuse it (the upstream call is still priced and logged).
    const after = await plan.rag.pipeline.runAfter(plan.rag.run, { text: completionText(result.body), body: result.body, streamed: false }, input.signal);
    call.annotateRetrieval({ ...plan.rag.run.record, annotations: after.annotations });
    if (after.blocked) {
      cached.abandon();
      throw after.blocked;
    }
  }
  cached.complete(entryFromJson(result.text, result.body, meta()));
  const headers = callHeaders(call.record, call.overheadMs(), call.limitHeaders);
  call.finishOk(result.body);
  return { kind: 'json', plan, text: result.text, native: result.native, completion: () => result.body as unknown as ChatCompletion, headers };
}

/** What a call may use at most: prompt tokens (estimated), the output cap, the choices. */
function demandOf(plan: ChatPlan): Demand {
  const req = plan.req as ChatPlan['req'] & { max_completion_tokens?: number | null };
  const cap = req.max_completion_tokens ?? req.max_tokens ?? null;
  return {
    promptTokens: promptTokenBound(req.messages as unknown[]),
    exactPromptTokens: () => createTokenEstimator(plan.targets[0]?.model ?? req.model).prompt(req.messages as unknown[]),
    maxOutputTokens: typeof cap === 'number' && cap > 0 ? cap : null,
    choices: typeof req.n === 'number' && req.n > 1 ? req.n : 1,
  };
}
