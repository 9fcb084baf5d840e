import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionMessageParam,
  ChatCompletionToolMessageParam,
} from 'openai/resources/chat/completions';
import type {
  ContentBlockParam,
  MessageParam,
  TextBlockParam,
  ToolResultBlockParam,
  ToolUseBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import { GatewayError } from '../../errors/gateway-error.ts';
import { textBlock, textBlocks, userBlocks } from './to-anthropic-content.ts';

/**
 * OpenAI's flat message list → Anthropic's `system` + strictly alternating user/assistant
 * turns. System and developer messages may appear anywhere in OpenAI; Anthropic has one
 * system prompt, so they are hoisted in order. Tool results travel inside user turns.
 */
export interface AnthropicConversation {
  /** One block per system/developer text part, in request order. */
  system: TextBlockParam[];
  messages: MessageParam[];
}

interface Turn {
  role: 'user' | 'assistant';
  content: ContentBlockParam[];
}

export function toAnthropicMessages(messages: readonly ChatCompletionMessageParam[]): AnthropicConversation {
  const system: TextBlockParam[] = [];
  const turns: Turn[] = [];
  // Anthropic merges consecutive same-role turns itself, but only for some block mixes;
  // merging here makes the body we send (and log) the one Anthropic actually sees.
  const append = (role: Turn['role'], blocks: ContentBlockParam[]): void => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: [...blocks] });
  };

  messages.forEach((message, i) => {
    const path = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(message.content, `${path}.content`));
        return;
      case 'user':
        append('user', userBlocks(message.content, `${path}.content`));
        return;
      case 'assistant':
        append('assistant', assistantBlocks(message, path));
        return;
      case 'tool':
        append('user', [toolResultBlock(message, path)]);
        return;
      case 'function':
        throw new GatewayError(
          'invalid_request',
          `${path}.role: the deprecated 'function' role is not supported for Anthropic models; use 'tool' messages`,
          { param: `${path}.role` },
        );
      default: {
        const role: unknown = (message as { role?: unknown }).role;
        throw new GatewayError('invalid_request', `${path}.role: unknown role '${String(role)}'`, {
          param: `${path}.role`,
        });
      }
    }
  });

  if (turns.length === 0) {
    throw new GatewayError('invalid_request', 'messages must contain at least one non-empty user or assistant message', {
      param: 'messages',
    });
  }
  return { system, messages: turns.map(toolResultsFirst) };
}

function assistantBlocks(message: ChatCompletionAssistantMessageParam, path: string): ContentBlockParam[] {
  const blocks: ContentBlockParam[] = textBlocks(message.content, `${path}.content`);
  if (blocks.length === 0 && typeof message.refusal === 'string') blocks.push(...textBlock(message.refusal));
  (message.tool_calls ?? []).forEach((call, j) => {
    const callPath = `${path}.tool_calls[${j}]`;
    if (call.type !== 'function') {
      throw new GatewayError('invalid_request', `${callPath}.type: only function tool calls are supported for Anthropic models`, {
        param: `${callPath}.type`,
      });
    }
    const block: ToolUseBlockParam = {
      type: 'tool_use',
      id: toolUseId(call.id),
      name: call.function.name,
      input: parseArguments(call.function.arguments, `${callPath}.function.arguments`),
    };
    blocks.push(block);
  });
  return blocks;
}

/** Anthropic wants the tool input as an object; OpenAI carries it as JSON text. */
function parseArguments(args: string, param: string): Record<string, unknown> {
  // Some clients send "" for a call without arguments; it means the same as "{}".
  if (args.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch (err) {
    throw new GatewayError('invalid_request', `${param}: not valid JSON (${(err as Error).message})`, { param, cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('invalid_request', `${param}: must be a JSON object`, { param });
  }
  return parsed as Record<string, unknown>;
}

function toolResultBlock(message: ChatCompletionToolMessageParam, path: string): ToolResultBlockParam {
  const block: ToolResultBlockParam = { type: 'tool_result', tool_use_id: toolUseId(message.tool_call_id) };
  if (typeof message.content === 'string') {
    if (message.content !== '') block.content = message.content;
  } else {
    const blocks = textBlocks(message.content, `${path}.content`);
    if (blocks.length > 0) block.content = blocks;
  }
  return block;
}

/**
 * Anthropic tool ids must match ^[a-zA-Z0-9_-]+$; OpenAI's `call_…` ids do, but ids minted by
 * other providers (e.g. `functions.get_weather:0`) may not. The same mapping is applied to
 * tool calls and tool results, so pairs still match.
 */
export function toolUseId(id: string): string {
  return id.replace(/[^a-zA-Z0-9_-]/g, '_');
}

/**
 * Anthropic requires tool_result blocks to open a user turn, before any text. A client that
 * puts a user message between the assistant's call and the tool result would otherwise get
 * a 400; moving results first (stable order) keeps the conversation's meaning.
 */
function toolResultsFirst(turn: Turn): MessageParam {
  if (turn.role !== 'user') return turn;
  const results = turn.content.filter((b) => b.type === 'tool_result');
  if (results.length === 0) return turn;
  return { role: 'user', content: [...results, ...turn.content.filter((b) => b.type !== 'tool_result')] };
}
