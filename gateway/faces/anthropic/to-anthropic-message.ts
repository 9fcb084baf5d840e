import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { ContentBlock, Message, StopReason, Usage } from '@anthropic-ai/sdk/resources/messages';
import { usageFromOpenAI } from '../../providers/usage.ts';
import type { NormalizedUsage } from '../../../core/usage.ts';

/**
 * A chat.completion → an Anthropic Message (the inverse of
 * providers/anthropic/from-anthropic-response.ts), complete for the SDK's `Message` type.
 * Only choice 0 is translated: Anthropic has no `n`.
 *
 * Limits: which stop sequence matched is unknown (chat completions reports only "stop"), so
 * `stop_sequence` is null and the reason is `end_turn`; tool arguments that are not a JSON
 * object (a model cut off mid-call, a broken upstream) become `input: {}`, since Anthropic
 * clients expect an object; logprobs are dropped.
 */
export interface ToAnthropicOptions {
  /** The model name to report: what the client asked for. */
  model: string;
  /** Defaults to one derived from the completion id. */
  id?: string;
}

export type FinishReason = ChatCompletion.Choice['finish_reason'];

export function stopReasonFromFinish(reason: FinishReason | null | undefined): StopReason {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** `msg_…` from the completion id, so the client's id and the call log's stay traceable. */
export function anthropicMessageId(completionId: string): string {
  return completionId.startsWith('msg_') ? completionId : `msg_${completionId.replace(/^chatcmpl-/, '')}`;
}

export function toAnthropicMessage(completion: ChatCompletion, opts: ToAnthropicOptions): Message {
  const choice = completion.choices.find((c) => c.index === 0) ?? completion.choices[0];
  const content: ContentBlock[] = [];
  const text = choice ? (choice.message.content ?? '') + (choice.message.refusal ?? '') : '';
  if (text !== '') content.push({ type: 'text', text, citations: null });
  for (const call of choice?.message.tool_calls ?? []) {
    if (call.type !== 'function') continue;
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments), caller: { type: 'direct' } });
  }
  return {
    id: opts.id ?? anthropicMessageId(completion.id),
    type: 'message',
    role: 'assistant',
    model: opts.model,
    content,
    stop_reason: stopReasonFromFinish(choice?.finish_reason),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: anthropicUsage(usageFromOpenAI(completion.usage)),
  };
}

/** Tool arguments as the object Anthropic clients expect; anything else becomes {}. */
export function toolInput(args: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(args);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Anthropic counts `input_tokens` as the uncached remainder only: cache reads and cache writes
 * are their own counters (providers/usage.ts does the reverse). Unknown usage reports zeros.
 */
export function anthropicUsage(u: NormalizedUsage | null): Usage {
  const usage = u ?? { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
  return {
    input_tokens: Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens),
    output_tokens: usage.outputTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_creation: null,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: null,
  };
}
