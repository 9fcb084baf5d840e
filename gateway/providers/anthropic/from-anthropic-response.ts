import type {
  ChatCompletion,
  ChatCompletionMessage,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions';
import type { Message, StopReason } from '@anthropic-ai/sdk/resources/messages';
import { openaiUsageFromNormalized, usageFromAnthropic } from '../usage.ts';
import type { JsonToolAnswer } from './response-format.ts';

/**
 * Anthropic Message → OpenAI chat.completion, valid against the official OpenAI OpenAPI
 * schema (every choice has `logprobs`, every message `refusal`). Pure.
 */
export interface FromAnthropicOptions {
  /** The completion id; defaults to the Anthropic message id. */
  id?: string;
  /** Unix seconds. */
  created: number;
  /** The model name to report (usually what the client asked for). */
  model: string;
  /** The request asked for JSON through the reserved tool (response-format.ts). */
  json?: JsonToolAnswer | undefined;
}

export type FinishReason = ChatCompletion.Choice['finish_reason'];

/**
 * pause_turn means a server tool loop paused; we never send server tools, and the text so far
 * is a complete answer from the client's point of view, so it reports as `stop`.
 * model_context_window_exceeded is a length limit like max_tokens. Unknown future values → stop.
 */
export function finishReasonFromAnthropic(reason: StopReason | string | null | undefined): FinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

export function fromAnthropicResponse(msg: Message, opts: FromAnthropicOptions): ChatCompletion {
  let text = '';
  let sawText = false;
  let json: string | undefined;
  const toolCalls: ChatCompletionMessageFunctionToolCall[] = [];
  for (const block of msg.content) {
    // Thinking, redacted thinking and server-tool blocks have no place in an OpenAI message.
    if (block.type === 'text') {
      text += block.text;
      sawText = true;
    } else if (block.type === 'tool_use' && block.name === opts.json?.tool) {
      json ??= jsonContent(block.input, opts.json.unwrap);
    } else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }

  // An answer through the reserved tool is the content, alone: any text would break the JSON.
  const content = json ?? (!sawText && toolCalls.length > 0 ? null : text);
  const message: ChatCompletionMessage = {
    role: 'assistant',
    // OpenAI sends null content for a pure tool-call turn, and a string otherwise.
    content,
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const answered = json !== undefined && toolCalls.length === 0 && msg.stop_reason === 'tool_use';

  return {
    id: opts.id ?? msg.id,
    object: 'chat.completion',
    created: opts.created,
    model: opts.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: answered ? 'stop' : finishReasonFromAnthropic(msg.stop_reason) }],
    usage: openaiUsageFromNormalized(usageFromAnthropic(msg.usage)),
  };
}

/** The reserved tool's input as message content (`input.value` when the schema was wrapped). */
export function jsonContent(input: unknown, unwrap: boolean): string {
  const value = unwrap && typeof input === 'object' && input !== null ? (input as Record<string, unknown>)['value'] : input;
  return JSON.stringify(value ?? (unwrap ? null : {}));
}
