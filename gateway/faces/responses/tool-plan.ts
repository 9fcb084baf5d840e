import { createHash } from 'node:crypto';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { ResponsesRequest } from './responses-schema.ts';

/**
 * Responses tools → chat-completions function tools, and the way back for the calls the model
 * makes (Codex CLI sends all three kinds below):
 * - `namespace` tools are flattened: each inner tool becomes `<namespace>__<name>`; a call to it
 *   goes back out as `{name, namespace}`.
 * - `custom` (free-form) tools become a function with one string argument, `input`; a call goes
 *   back out as a `custom_tool_call` whose `input` is that string.
 * - Hosted tools (web_search, file_search, code_interpreter, …) run inside OpenAI: no other
 *   upstream can, so a translation drops them and says so (x-sluice-dropped-tools and a
 *   warning). The model then simply cannot search; its answer still means what it says. A
 *   `tool_choice` that forces a hosted tool could not be honoured at all: that is refused.
 */

/** How a chat tool call maps back to the client's tool. */
export interface ToolOrigin {
  name: string;
  namespace?: string | undefined;
  custom: boolean;
}

/** Chat tool name (as the upstream sees it) → the client's tool, for names that differ or are custom. */
export type ToolNames = ReadonlyMap<string, ToolOrigin>;

export interface ToolPlan {
  tools: ChatCompletionTool[];
  names: ToolNames;
  /** Hosted tool types left out. */
  dropped: string[];
}

type RequestTool = NonNullable<ResponsesRequest['tools']>[number];
type InnerTool = { type: string; name?: string; description?: string | null; parameters?: unknown; strict?: boolean | null; format?: unknown };

const CHAT_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The chat name of a tool inside a namespace: `<namespace>__<name>`, hashed short when it would not fit. */
export function flatName(name: string, namespace: string | undefined): string {
  if (namespace === undefined || namespace === '') return name;
  const joined = `${namespace}__${name}`;
  if (CHAT_NAME.test(joined)) return joined;
  const hash = createHash('sha256').update(joined).digest('hex').slice(0, 8);
  return `${joined.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 55)}_${hash}`;
}

export const CUSTOM_INPUT = 'input';

/** A free-form tool as a function taking its text in one string argument. */
function customFunction(t: InnerTool, name: string): ChatCompletionTool {
  const format = t.format as { type?: string; syntax?: string; definition?: string } | undefined;
  const grammar = format?.type === 'grammar' && format.definition ? `\nThe input must follow this ${format.syntax ?? ''} grammar:\n${format.definition}` : '';
  return {
    type: 'function',
    function: {
      name,
      description: `${t.description ?? ''}\n(Free-form tool: put the whole raw input text in the "${CUSTOM_INPUT}" string.)${grammar}`.trim(),
      parameters: {
        type: 'object',
        properties: { [CUSTOM_INPUT]: { type: 'string', description: 'The raw input for the tool.' } },
        required: [CUSTOM_INPUT],
        additionalProperties: false,
      },
    },
  };
}

function functionTool(t: InnerTool, name: string): ChatCompletionTool {
  return {
    type: 'function',
    function: {
      name,
      ...(t.description ? { description: t.description } : {}),
      ...(t.parameters ? { parameters: t.parameters as Record<string, unknown> } : {}),
      ...(typeof t.strict === 'boolean' ? { strict: t.strict } : {}),
    },
  };
}

export function planTools(req: Pick<ResponsesRequest, 'tools' | 'tool_choice'>): ToolPlan {
  const tools: ChatCompletionTool[] = [];
  const names = new Map<string, ToolOrigin>();
  const dropped: string[] = [];
  const add = (t: InnerTool, namespace: string | undefined, at: string): void => {
    const name = t.name ?? '';
    const flat = flatName(name, namespace);
    if (t.type === 'custom') {
      tools.push(customFunction(t, flat));
      names.set(flat, { name, namespace, custom: true });
      return;
    }
    if (t.type !== 'function') {
      throw new GatewayError('invalid_request', `${at}.type: tool type '${t.type}' is not supported inside a namespace`, { param: `${at}.type` });
    }
    tools.push(functionTool(t, flat));
    if (flat !== name) names.set(flat, { name, namespace, custom: false });
  };
  (req.tools ?? []).forEach((raw: RequestTool, i) => {
    const t = raw as InnerTool & { tools?: InnerTool[] };
    if (t.type === 'function' || t.type === 'custom') add(t, undefined, `tools[${i}]`);
    else if (t.type === 'namespace') (t.tools ?? []).forEach((inner, j) => add(inner, t.name, `tools[${i}].tools[${j}]`));
    else dropped.push(t.type);
  });
  const choice = req.tool_choice;
  if (typeof choice === 'object' && choice !== null && 'type' in choice && dropped.includes(String(choice.type))) {
    throw new GatewayError(
      'invalid_request',
      `tool_choice: '${String(choice.type)}' is a hosted tool, which only an OpenAI upstream can run; dropping it would change the answer, so the request is refused`,
      { param: 'tool_choice.type' },
    );
  }
  return { tools, names, dropped };
}

/** A chat tool call's name as the client knows it. */
export function originOf(names: ToolNames | undefined, chatName: string): ToolOrigin {
  return names?.get(chatName) ?? { name: chatName, custom: false };
}

/** The raw input of a custom tool call from its chat arguments (`{"input": "..."}`), or the arguments as they are. */
export function customInput(args: string): string {
  try {
    const parsed = JSON.parse(args) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as Record<string, unknown>)[CUSTOM_INPUT] === 'string') {
      return (parsed as Record<string, string>)[CUSTOM_INPUT]!;
    }
  } catch {
    // not JSON: the model wrote the input itself
  }
  return args;
}
