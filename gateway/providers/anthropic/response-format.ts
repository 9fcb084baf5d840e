import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import type { OutputConfig, Tool, ToolChoice } from '@anthropic-ai/sdk/resources/messages';
import { GatewayError } from '../../errors/gateway-error.ts';

/**
 * OpenAI `response_format` → how an Anthropic upstream is asked for JSON (DESIGN §4.1), and how
 * its answer becomes message content again.
 *
 * - `json_schema` on a provider with `structured_outputs: true`: Anthropic structured outputs,
 *   `output_config: {format: {type: 'json_schema', schema}}`. The model answers with a text
 *   block that is the JSON, so the answer needs no change on the way back. Opt-in, because
 *   only some models accept it and it takes a subset of JSON Schema (the upstream's 400 for an
 *   unsupported schema reaches the client as is).
 * - `json_schema` otherwise, and `json_object` always: a forced tool, {@link JSON_TOOL}, whose
 *   `input_schema` is the schema (`json_object`: any object). Tool input is JSON on every
 *   model; the tool_use block comes back as the message's `content` (its input serialised),
 *   finish_reason `stop`, and never as a tool call. A schema whose root is not an object (tool
 *   input must be one) is wrapped as `{value: <schema>}` and unwrapped on the way back.
 *
 * With the client's own tools: OpenAI lets the model either call one of them or answer in the
 * format, and agent loops rely on that (tools, then a structured final answer). So:
 * - tool_choice `auto` (or absent, or `allowed_tools` in auto mode): the reserved tool is added
 *   beside the client's and tool_choice becomes `any`: the model must call a tool, and calling
 *   the reserved one is how it answers. Calls of the client's tools come back as tool_calls.
 * - `none`: the client's tools stay listed (same prompt) but only the reserved tool is forced.
 * - `required`, a named function, `allowed_tools` in required mode: the client demands a tool
 *   call, so the answer is never text and the format does not apply: nothing is added.
 * A client tool may not be called {@link JSON_TOOL} while a JSON format is asked for (400).
 */

type ResponseFormat = ChatCompletionCreateParams['response_format'];
type Schema = Record<string, unknown>;

/** Reserved tool name for the forced-tool JSON mode. */
export const JSON_TOOL = 'json_response';

/** How to read an answer produced through the reserved tool. */
export interface JsonToolAnswer {
  tool: string;
  /** The schema was wrapped as `{value: schema}`: the content is `input.value`. */
  unwrap: boolean;
}

export type JsonPlan =
  | { kind: 'structured'; outputConfig: OutputConfig }
  | { kind: 'tool'; tool: Tool; force: 'tool' | 'any'; answer: JsonToolAnswer };

export interface JsonPlanOptions {
  /** The provider's `structured_outputs` setting. */
  structuredOutputs: boolean;
}

/** null: the request asks for no JSON mode, or the client's tool_choice makes it moot. */
export function planJsonOutput(req: ChatCompletionCreateParams, opts: JsonPlanOptions): JsonPlan | null {
  const format = jsonFormat(req.response_format);
  if (format === null) return null;
  if (format.type === 'json_schema' && opts.structuredOutputs && format.schema !== undefined) {
    return { kind: 'structured', outputConfig: { format: { type: 'json_schema', schema: format.schema } } };
  }
  const force = forceMode(req);
  if (force === null) return null;
  for (const [k, tool] of (req.tools ?? []).entries()) {
    if (tool.type === 'function' && tool.function.name === JSON_TOOL) {
      throw new GatewayError('invalid_request', `tools[${k}].function.name: '${JSON_TOOL}' is reserved for response_format on Anthropic models`, {
        param: `tools[${k}].function.name`,
      });
    }
  }
  const { schema, unwrap } = toolSchema(format.schema);
  const tool: Tool = { name: JSON_TOOL, description: format.describe, input_schema: schema as Tool.InputSchema };
  return { kind: 'tool', tool, force, answer: { tool: JSON_TOOL, unwrap } };
}

/** The forced tool's part of the Messages body: tools and tool_choice replacing the client's. */
export function jsonToolChoice(plan: Extract<JsonPlan, { kind: 'tool' }>, parallel: boolean | undefined): ToolChoice {
  if (plan.force === 'tool') return { type: 'tool', name: plan.tool.name, disable_parallel_tool_use: true };
  return parallel === false ? { type: 'any', disable_parallel_tool_use: true } : { type: 'any' };
}

interface JsonFormat {
  type: 'json_object' | 'json_schema';
  schema: Schema | undefined;
  /** The reserved tool's description: what the model is asked to answer. */
  describe: string;
}

const ANSWER = 'Give your whole answer to the user by calling this tool: its input is the answer';

function jsonFormat(format: ResponseFormat): JsonFormat | null {
  if (format === undefined || format === null) return null;
  switch (format.type) {
    case 'text':
      return null;
    case 'json_object':
      return { type: 'json_object', schema: undefined, describe: `${ANSWER}, as a JSON object.` };
    case 'json_schema': {
      const { name, description, schema } = format.json_schema;
      // Client strings in the prompt are bounded like any other: the name is an identifier.
      const about = [name.slice(0, 64), description?.slice(0, 1024)].filter((s) => s).join(': ');
      return { type: 'json_schema', schema, describe: `${ANSWER} (${about}).` };
    }
    default: {
      const type: unknown = (format as { type?: unknown }).type;
      throw new GatewayError('invalid_request', `response_format.type: '${String(type)}' is not supported for Anthropic models`, {
        param: 'response_format.type',
      });
    }
  }
}

/** 'tool': force the reserved tool by name; 'any': beside the client's tools; null: moot. */
function forceMode(req: ChatCompletionCreateParams): 'tool' | 'any' | null {
  if (req.tools === undefined || req.tools.length === 0) return 'tool';
  const choice = req.tool_choice;
  if (choice === undefined || choice === 'auto') return 'any';
  if (choice === 'none') return 'tool';
  if (choice === 'required') return null;
  if (choice.type === 'allowed_tools') return choice.allowed_tools.mode === 'required' ? null : 'any';
  return null; // a named function (or custom tool): the client asked for that call
}

/** Tool input must be an object: other roots are wrapped (their $defs moved along to the root). */
function toolSchema(schema: Schema | undefined): { schema: Schema; unwrap: boolean } {
  if (schema === undefined || Object.keys(schema).length === 0) return { schema: { type: 'object', additionalProperties: true }, unwrap: false };
  const isObject = schema['type'] === 'object' || (schema['type'] === undefined && typeof schema['properties'] === 'object');
  if (isObject) return { schema: { ...schema, type: 'object' }, unwrap: false };
  const { $defs, definitions, ...inner } = schema;
  const root: Schema = { type: 'object', properties: { value: inner }, required: ['value'], additionalProperties: false };
  if ($defs !== undefined) root['$defs'] = $defs;
  if (definitions !== undefined) root['definitions'] = definitions;
  return { schema: root, unwrap: true };
}
