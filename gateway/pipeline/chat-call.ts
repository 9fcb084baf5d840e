import type { CallTracker } from '../calls/tracker.ts';
import { estimatePromptTokens, estimateTextTokens } from '../cost/estimate-tokens.ts';
import { toGatewayError, type GatewayError } from '../errors/gateway-error.ts';
import type { CallContext, ChatRequest, ChatStream, JsonResult } from '../providers/types.ts';
import type { NormalizedUsage } from '../providers/usage.ts';
import type { Target } from '../routing/resolve-model.ts';
import { applyPrompt } from './apply-prompt.ts';
import type { CallInput } from './call-input.ts';
import { chatRequestSchema } from './chat-schema.ts';
import { retryOptions, type PipelineDeps } from './deps.ts';
import { isRetryable, withRetry } from './retry.ts';
import { validate } from './validate.ts';

/** A chat call, ready to send: the request as the upstream will see it and where it goes. */
export interface ChatPlan {
  req: ChatRequest;
  /** The primary target, then fallbacks in order. */
  targets: Target[];
  /** Response headers the pipeline adds (prompt version, route, variant, …). */
  headers: Record<string, string>;
}

export type ChatOutcome = { kind: 'json'; result: JsonResult } | { kind: 'stream'; stream: ChatStream };

/**
 * Front half of the pipeline, shared by every face: prompt → validation → target. Everything
 * a face needs to know about the call is on the plan and the call record.
 */
export async function planChat(input: CallInput, call: CallTracker, deps: PipelineDeps): Promise<ChatPlan> {
  call.record.requestBody = input.body;
  const headers: Record<string, string> = {};
  const { body, applied } = await applyPrompt(input.body, input.header('x-sluice-prompt'), deps.prompts);
  if (applied) {
    call.record.promptName = applied.name;
    call.record.promptVersion = applied.version;
    call.record.requestBody = body;
    headers['x-sluice-prompt-version'] = `${applied.name}@${applied.version}`;
  }
  const req = validate(chatRequestSchema, body) as unknown as ChatRequest;
  call.record.stream = req.stream === true;
  if (typeof req.user === 'string') call.record.user = req.user;
  if (req.metadata) call.record.metadata = req.metadata as Record<string, string>;
  const target = deps.resolveModel(req.model);
  call.setTarget(target.provider, target.model);
  return { req, targets: [target], headers };
}

/**
 * Back half: the provider call, retried per target and then handed to the next fallback
 * target while the failure is one another target might not have.
 */
export async function executeChat(plan: ChatPlan, call: CallTracker, signal: AbortSignal, deps: PipelineDeps): Promise<ChatOutcome> {
  const ctx: CallContext = { signal, attempts: call.attempts };
  let lastError: GatewayError | undefined;
  for (const target of plan.targets) {
    call.setTarget(target.provider, target.model);
    const retry = retryOptions(target, call, signal, deps);
    try {
      if (plan.req.stream === true) {
        return { kind: 'stream', stream: await withRetry(() => target.provider.chatStream(plan.req, target.model, ctx), retry) };
      }
      return { kind: 'json', result: await withRetry(() => target.provider.chat(plan.req, target.model, ctx), retry) };
    } catch (thrown) {
      lastError = toGatewayError(thrown);
      if (!isRetryable(lastError) || signal.aborted) throw lastError;
    }
  }
  throw lastError ?? new Error('no target to call');
}

/** Usage as reported, or a tiktoken estimate when the upstream reported none; priced on the record. */
export function priceChat(call: CallTracker, req: ChatRequest, usage: NormalizedUsage | null, output: () => string): number | null {
  if (usage) return call.price(usage, false, 'chat');
  const model = call.record.model ?? req.model;
  const estimate: NormalizedUsage = {
    inputTokens: estimatePromptTokens(req.messages as unknown[], model),
    outputTokens: estimateTextTokens(output(), model),
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
  return call.price(estimate, true, 'chat');
}

/** The text of every choice of a chat.completion body (for token estimates). */
export function completionText(body: Record<string, unknown>): string {
  const choices = body.choices as Array<{ message?: { content?: unknown } }> | undefined;
  return (choices ?? []).map((c) => (typeof c.message?.content === 'string' ? c.message.content : '')).join('');
}
