import { z } from 'zod';
import { modelName } from '../../pipeline/model-name.ts';
import { validate } from '../../pipeline/validate.ts';
import { tagged } from '../tagged-union.ts';

/**
 * What `POST /v1/responses` accepts (https://platform.openai.com/docs/api-reference/responses/create),
 * for translation to chat completions, and for pass-through to an OpenAI upstream. Loose
 * objects, so new fields pass validation; item and content types with no chat-completions form
 * are rejected with the reason. `include`, `client_metadata`, `prompt_cache_key`, `store` and
 * `reasoning.summary` are accepted (see from-responses-request.ts for what each becomes).
 */

const breakpoint = z.looseObject({ mode: z.literal('explicit') }).optional();

const inputText = z.looseObject({ type: z.literal('input_text'), text: z.string(), prompt_cache_breakpoint: breakpoint });
const inputImage = z
  .looseObject({
    type: z.literal('input_image'),
    image_url: z.string().min(1).nullable().optional(),
    file_id: z.string().nullable().optional(),
    detail: z.enum(['low', 'high', 'auto', 'original']).optional(),
    prompt_cache_breakpoint: breakpoint,
  })
  .check((ctx) => {
    if (typeof ctx.value.image_url === 'string') return;
    const byFile = typeof ctx.value.file_id === 'string';
    ctx.issues.push({
      code: 'custom',
      path: [byFile ? 'file_id' : 'image_url'],
      input: ctx.value,
      message: byFile
        ? 'images by file_id are not supported: the Files API is not available through this gateway; send image_url (a URL or a data: URL)'
        : 'an input_image needs image_url',
    });
  });
const outputText = z.looseObject({ type: z.literal('output_text'), text: z.string() });
const refusal = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });

const NO_FILES = 'is not supported: the Files API is not available through this gateway';
const unsupportedContent = {
  input_file: `content type 'input_file' ${NO_FILES}`,
  input_audio: "content type 'input_audio' is not supported through this gateway",
};

const messageContent = tagged('content', [inputText, inputImage, outputText, refusal], unsupportedContent);

const messageItem = z.looseObject({
  type: z.literal('message'),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(messageContent)]),
});

const functionCallItem = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  /** Set when the tool sits in a `namespace` tool. */
  namespace: z.string().min(1).nullable().optional(),
});

/** Tool results: text, or text and images (a screenshot, an image the tool read). */
const toolOutput = z.union([
  z.string(),
  z.array(tagged('tool output content', [inputText, inputImage], unsupportedContent)),
]);

const functionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: toolOutput,
});

/** A call to a free-form (`custom`) tool, and its result. */
const customToolCallItem = z.looseObject({
  type: z.literal('custom_tool_call'),
  call_id: z.string().min(1),
  name: z.string().min(1),
  input: z.string(),
  namespace: z.string().min(1).nullable().optional(),
});
const customToolCallOutputItem = z.looseObject({ type: z.literal('custom_tool_call_output'), call_id: z.string().min(1), output: toolOutput });

/** A hosted web search OpenAI ran in an earlier turn: accepted in the history, carries nothing to translate. */
const webSearchCallItem = z.looseObject({ type: z.literal('web_search_call') });

/** Reasoning items from an earlier turn; accepted so clients can replay outputs, never translated. */
const reasoningItem = z.looseObject({ type: z.literal('reasoning') });

const HOSTED = 'hosted tools are not available through this gateway';
const unsupportedItems: Record<string, string> = {
  item_reference:
    "input item type 'item_reference' is not supported: send the item itself, or continue with previous_response_id",
};
for (const t of [
  'file_search_call', 'computer_call', 'computer_call_output', 'image_generation_call', 'code_interpreter_call',
  'local_shell_call', 'local_shell_call_output', 'shell_call', 'shell_call_output', 'apply_patch_call', 'apply_patch_call_output',
  'mcp_list_tools', 'mcp_approval_request', 'mcp_approval_response', 'mcp_call', 'tool_search_call', 'tool_search_output',
]) {
  unsupportedItems[t] = `input item type '${t}' is not supported: ${HOSTED}`;
}

/** `{role, content}` without a type is an "easy" message item (EasyInputMessage). */
const inputItem = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !('type' in v) && 'role' in v ? { ...v, type: 'message' } : v),
  tagged(
    'input item',
    [messageItem, functionCallItem, functionCallOutputItem, customToolCallItem, customToolCallOutputItem, reasoningItem, webSearchCallItem],
    unsupportedItems,
  ),
);

const functionTool = z.looseObject({
  type: z.literal('function'),
  name: z.string().min(1),
  description: z.string().nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});
/** A free-form tool: its input is raw text (optionally following a grammar). */
const customTool = z.looseObject({
  type: z.literal('custom'),
  name: z.string().min(1),
  description: z.string().nullable().optional(),
  format: z.looseObject({ type: z.string() }).nullable().optional(),
});
/** Function and custom tools grouped under a name (Codex's `multi_agent_v1`, MCP servers). */
const namespaceTool = z.looseObject({
  type: z.literal('namespace'),
  name: z.string().min(1),
  description: z.string().nullable().optional(),
  tools: z.array(tagged('namespace tool', [functionTool, customTool])).min(1),
});
/**
 * Tools OpenAI runs itself. Accepted: they pass through to an OpenAI upstream as written, and a
 * translation drops them (tool-plan.ts).
 */
export const HOSTED_TOOLS = [
  'web_search', 'web_search_preview', 'web_search_2025_08_26', 'web_search_preview_2025_03_11', 'file_search', 'computer_use_preview',
  'computer', 'code_interpreter', 'image_generation', 'mcp', 'local_shell', 'shell', 'apply_patch', 'tool_search',
] as const;
const [firstHosted, ...otherHosted] = HOSTED_TOOLS.map((t) => z.looseObject({ type: z.literal(t) }));
const tool = tagged('tool', [functionTool, customTool, namespaceTool, firstHosted!, ...otherHosted]);

const hostedChoice = HOSTED_TOOLS.map((t) => z.looseObject({ type: z.literal(t) }));
const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  tagged('tool_choice', [
    z.looseObject({ type: z.literal('function'), name: z.string().min(1), namespace: z.string().nullable().optional() }),
    z.looseObject({ type: z.literal('custom'), name: z.string().min(1), namespace: z.string().nullable().optional() }),
    z.looseObject({
      type: z.literal('allowed_tools'),
      mode: z.enum(['auto', 'required']),
      tools: z.array(z.looseObject({ type: z.literal('function'), name: z.string().min(1) })),
    }),
    ...hostedChoice,
  ], {}),
]);

const textFormat = tagged('text.format', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().optional(),
    strict: z.boolean().nullable().optional(),
  }),
]);

const promptRef = z.looseObject({
  id: z.string().min(1).optional(),
  version: z.union([z.string(), z.number().int().positive()]).nullable().optional(),
  label: z.string().optional(),
  variables: z.record(z.string(), z.unknown()).nullable().optional(),
});

const unsupportedFlag = (what: string) =>
  z
    .unknown()
    .check((ctx) => {
      if (ctx.value === null || ctx.value === false) return;
      ctx.issues.push({ code: 'custom', input: ctx.value, message: `${what} is not supported through this gateway` });
    })
    .optional();

export const responsesRequestSchema = z
  .looseObject({
    model: modelName.optional(),
    input: z.union([z.string(), z.array(inputItem)]).optional(),
    instructions: z.string().nullable().optional(),
    tools: z.array(tool).optional(),
    tool_choice: toolChoice.optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    previous_response_id: z.string().min(1).nullable().optional(),
    prompt: promptRef.nullable().optional(),
    text: z.looseObject({ format: textFormat.optional(), verbosity: z.enum(['low', 'medium', 'high']).nullable().optional() }).optional(),
    reasoning: z.looseObject({ effort: z.string().nullable().optional() }).nullable().optional(),
    max_output_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    user: z.string().optional(),
    safety_identifier: z.string().nullable().optional(),
    prompt_cache_key: z.string().nullable().optional(),
    metadata: z.record(z.string(), z.string()).nullable().optional(),
    store: z.boolean().nullable().optional(),
    stream: z.boolean().nullable().optional(),
    background: unsupportedFlag('background mode'),
    conversation: unsupportedFlag('conversation (use previous_response_id)'),
  })
  .check((ctx) => {
    if (ctx.value.model === undefined && !ctx.value.prompt) {
      ctx.issues.push({ code: 'custom', path: ['model'], input: undefined, message: 'model is required (or a prompt that names one)' });
    }
  });

export type ResponsesRequest = z.output<typeof responsesRequestSchema>;
export type ResponsesInputItem = Exclude<ResponsesRequest['input'], string | undefined>[number];
export type ResponsesMessageItem = z.output<typeof messageItem>;
export type ResponsesTool = z.output<typeof tool>;

/** Validates a `/v1/responses` body; a 400 GatewayError names the first bad field. */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  return validate(responsesRequestSchema, body);
}
