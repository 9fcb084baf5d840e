import type { ChatCompletionTool, ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import type { Tool, ToolChoice } from '@anthropic-ai/sdk/resources/messages';
import { GatewayError } from '../../errors/gateway-error.ts';

/** OpenAI `tools` / `tool_choice` / `parallel_tool_calls` → Anthropic `tools` / `tool_choice`. */

export function toAnthropicTools(
  tools: readonly ChatCompletionTool[] | undefined,
  choice: ChatCompletionToolChoiceOption | undefined,
): Tool[] {
  if (tools === undefined) return [];
  const translated = tools.map((tool, k): Tool => {
    if (tool.type !== 'function') {
      throw new GatewayError('invalid_request', `tools[${k}].type: only function tools are supported for Anthropic models`, {
        param: `tools[${k}].type`,
      });
    }
    const fn = tool.function;
    const params = fn.parameters;
    // Anthropic requires an object schema; OpenAI lets `parameters` be omitted or untyped.
    const inputSchema: Tool.InputSchema =
      params === undefined ? { type: 'object', properties: {} } : ({ type: 'object', ...params } as Tool.InputSchema);
    const out: Tool = { name: fn.name, input_schema: inputSchema };
    if (fn.description !== undefined) out.description = fn.description;
    return out;
  });
  // `allowed_tools` narrows the callable set without changing the tool list upstream; Anthropic
  // has no such switch, so the narrowing is done by sending only the allowed tools.
  if (typeof choice === 'object' && choice.type === 'allowed_tools') {
    const names = choice.allowed_tools.tools.map((t, k) => allowedToolName(t, k));
    const missing = names.find((n) => !translated.some((t) => t.name === n));
    if (missing !== undefined) {
      throw new GatewayError('invalid_request', `tool_choice.allowed_tools: '${missing}' is not in tools`, {
        param: 'tool_choice.allowed_tools.tools',
      });
    }
    return translated.filter((t) => names.includes(t.name));
  }
  return translated;
}

function allowedToolName(entry: Record<string, unknown>, k: number): string {
  const fn = entry['function'];
  const name = typeof fn === 'object' && fn !== null ? (fn as Record<string, unknown>)['name'] : undefined;
  if (entry['type'] !== 'function' || typeof name !== 'string') {
    throw new GatewayError('invalid_request', `tool_choice.allowed_tools.tools[${k}]: expected {type: 'function', function: {name}}`, {
      param: `tool_choice.allowed_tools.tools[${k}]`,
    });
  }
  return name;
}

/** Only called when tools are present: Anthropic rejects a tool_choice without tools. */
export function toAnthropicToolChoice(
  choice: ChatCompletionToolChoiceOption | undefined,
  parallel: boolean | undefined,
): ToolChoice | undefined {
  const base = baseToolChoice(choice);
  if (parallel !== false) return base;
  // parallel_tool_calls: false ⇒ at most one tool call per turn; 'none' makes none at all.
  const withLimit = base ?? { type: 'auto' };
  return withLimit.type === 'none' ? withLimit : { ...withLimit, disable_parallel_tool_use: true };
}

function baseToolChoice(choice: ChatCompletionToolChoiceOption | undefined): ToolChoice | undefined {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  switch (choice.type) {
    case 'function':
      return { type: 'tool', name: choice.function.name };
    case 'allowed_tools':
      return { type: choice.allowed_tools.mode === 'required' ? 'any' : 'auto' };
    case 'custom':
      throw new GatewayError('invalid_request', 'tool_choice: custom tools are not supported for Anthropic models', {
        param: 'tool_choice',
      });
    default:
      throw new GatewayError('invalid_request', 'tool_choice: unknown tool_choice', { param: 'tool_choice' });
  }
}
