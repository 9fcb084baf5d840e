import type { ChatCompletionContentPartText } from 'openai/resources/chat/completions';
import type { ChatRequest } from '../../../core/chat.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { isServerTool, type AnthropicContentBlock, type AnthropicMessagesRequest, type AnthropicTool } from './messages-schema.ts';

/**
 * The fields coding agents (Claude Code) send that chat completions has no direct place for:
 * thinking and effort, server tools, and server tool blocks in the history.
 */

type Effort = NonNullable<ChatRequest['reasoning_effort']>;

/**
 * OpenAI reasoning model families, which take `reasoning_effort`; other models reject it
 * (gpt-4o answers 400), so for them thinking and effort are dropped. Matched on the model the
 * client named, after any `provider/` prefix.
 */
const REASONING_MODEL = /(^|\/)(o\d|gpt-5|gpt-oss)/i;

/**
 * `output_config.effort` (low | medium | high | max), else a `thinking` budget, as
 * `reasoning_effort`; undefined when the model takes none or nothing asks for it. Adaptive
 * thinking without an effort leaves the model's default.
 */
export function reasoningEffortOf(req: AnthropicMessagesRequest): Effort | undefined {
  if (!REASONING_MODEL.test(req.model)) return undefined;
  const effort = req.output_config?.effort;
  if (effort === 'low' || effort === 'medium' || effort === 'high') return effort;
  if (effort === 'max') return 'high';
  const thinking = req.thinking as { type: string; budget_tokens?: unknown } | undefined;
  if (thinking?.type !== 'enabled' || typeof thinking.budget_tokens !== 'number') return undefined;
  if (thinking.budget_tokens <= 4_096) return 'low';
  return thinking.budget_tokens <= 16_384 ? 'medium' : 'high';
}

/**
 * The client's tools a translation can offer, and the names of the server tools it drops.
 * Dropping leaves a request the model can still answer truthfully (it just cannot search or
 * run code); a `tool_choice` that forces a server tool cannot be, so it is refused.
 */
export function splitServerTools(req: AnthropicMessagesRequest): { custom: AnthropicTool[]; dropped: string[] } {
  const custom: AnthropicTool[] = [];
  const dropped: string[] = [];
  for (const t of req.tools ?? []) {
    if (isServerTool(t)) dropped.push(t.name);
    else custom.push(t);
  }
  const choice = req.tool_choice;
  if (choice?.type === 'tool' && dropped.includes(choice.name)) {
    throw new GatewayError(
      'invalid_request',
      `tool_choice: '${choice.name}' is an Anthropic server tool, which only an Anthropic upstream can run; dropping it would change the answer, so the request is refused`,
      { param: 'tool_choice.name' },
    );
  }
  return { custom, dropped };
}

type ServerBlock = Extract<AnthropicContentBlock, { type: 'server_tool_use' } | { content: unknown; tool_use_id?: unknown }>;

/** A server tool block from an earlier Anthropic turn, as text the model can read. */
export function serverBlockText(block: AnthropicContentBlock): ChatCompletionContentPartText | null {
  if (block.type === 'server_tool_use') return { type: 'text', text: `[server tool call ${block.name}: ${JSON.stringify(block.input)}]` };
  if (!block.type.endsWith('_tool_result') || block.type === 'tool_result') return null;
  return { type: 'text', text: `[${block.type}: ${JSON.stringify((block as ServerBlock & { content: unknown }).content)}]` };
}
