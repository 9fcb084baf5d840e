import { z } from 'zod';
import { modelName } from '../../pipeline/model-name.ts';
import { validate } from '../../pipeline/validate.ts';
import { tagged } from '../tagged-union.ts';

/**
 * What `POST /v1/responses` accepts (https://platform.openai.com/docs/api-reference/responses/create),
 * for translation to chat completions. Loose objects, so new fields pass validation; item,
 * content and tool types with no chat-completions form are rejected with the reason.
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
});

const functionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(tagged('function_call_output content', [inputText], {
    ...unsupportedContent,
    input_image: "content type 'input_image' in a function_call_output is not supported through this gateway; return text, or send the image in a user message",
  }))]),
});

/** Reasoning items from an earlier turn; accepted so clients can replay outputs, never translated. */
const reasoningItem = z.looseObject({ type: z.literal('reasoning') });

const HOSTED = 'hosted tools are not available through this gateway';
const unsupportedItems: Record<string, string> = {
  item_reference:
    "input item type 'item_reference' is not supported: send the item itself, or continue with previous_response_id",
};
for (const t of [
  'file_search_call', 'web_search_call', 'computer_call', 'computer_call_output', 'image_generation_call', 'code_interpreter_call',
  'local_shell_call', 'local_shell_call_output', 'shell_call', 'shell_call_output', 'apply_patch_call', 'apply_patch_call_output',
  'mcp_list_tools', 'mcp_approval_request', 'mcp_approval_response', 'mcp_call', 'custom_tool_call', 'custom_tool_call_output',
  'tool_search_call', 'tool_search_output',
]) {
  unsupportedItems[t] = `input item type '${t}' is not supported: ${HOSTED}`;
}

/** `{role, content}` without a type is an "easy" message item (EasyInputMessage). */
const inputItem = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !('type' in v) && 'role' in v ? { ...v, type: 'message' } : v),
  tagged('input item', [messageItem, functionCallItem, functionCallOutputItem, reasoningItem], unsupportedItems),
);

const functionTool = z.looseObject({
  type: z.literal('function'),
  name: z.string().min(1),
  description: z.string().nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});
const unsupportedTools: Record<string, string> = {
  custom: "tool type 'custom' (free-form input) is not supported; use a function tool with JSON parameters",
};
for (const t of [
  'web_search', 'web_search_preview', 'web_search_2025_08_26', 'web_search_preview_2025_03_11', 'file_search', 'computer_use_preview',
  'computer', 'code_interpreter', 'image_generation', 'mcp', 'local_shell', 'shell', 'apply_patch', 'tool_search',
]) {
  unsupportedTools[t] = `tool type '${t}' is not supported: ${HOSTED}; only function tools are`;
}
const tool = tagged('tool', [functionTool], unsupportedTools);

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  tagged('tool_choice', [
    z.looseObject({ type: z.literal('function'), name: z.string().min(1) }),
    z.looseObject({
      type: z.literal('allowed_tools'),
      mode: z.enum(['auto', 'required']),
      tools: z.array(z.looseObject({ type: z.literal('function'), name: z.string().min(1) })),
    }),
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
export type ResponsesTool = z.output<typeof functionTool>;

/** Validates a `/v1/responses` body; a 400 GatewayError names the first bad field. */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  return validate(responsesRequestSchema, body);
}
