import { z } from 'zod';
import { modelName } from '../../pipeline/model-name.ts';
import { validate } from '../../pipeline/validate.ts';
import { tagged } from '../tagged-union.ts';

/**
 * What `POST /v1/messages` accepts (https://docs.anthropic.com/en/api/messages). Objects are
 * loose so fields newer than this code still reach an Anthropic upstream untouched; only what
 * the translation reads, or what commonly goes wrong, is typed. Block types and tools that
 * cannot be translated to chat completions are rejected here with the reason, naming the field.
 */

const cacheControl = z.looseObject({ type: z.literal('ephemeral') }).nullable().optional();

const textBlock = z.looseObject({ type: z.literal('text'), text: z.string(), cache_control: cacheControl });

const imageSource = tagged('image source', [
  z.looseObject({
    type: z.literal('base64'),
    media_type: z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp']),
    data: z.string().min(1),
  }),
  z.looseObject({ type: z.literal('url'), url: z.string().regex(/^https?:\/\//i, 'must be an http(s) URL') }),
], {
  file: "image source type 'file' is not supported: the Files API is not available through this gateway; send the image as base64 or url",
});
const imageBlock = z.looseObject({ type: z.literal('image'), source: imageSource, cache_control: cacheControl });

const documentSource = tagged('document source', [
  z.looseObject({ type: z.literal('base64'), media_type: z.literal('application/pdf'), data: z.string().min(1) }),
  z.looseObject({ type: z.literal('text'), media_type: z.literal('text/plain'), data: z.string() }),
  z.looseObject({ type: z.literal('content'), content: z.union([z.string(), z.array(z.union([textBlock, imageBlock]))]) }),
], {
  url: "document source type 'url' is not supported through this gateway; send the PDF as base64",
  file: "document source type 'file' is not supported: the Files API is not available through this gateway",
});
const documentBlock = z.looseObject({
  type: z.literal('document'),
  source: documentSource,
  title: z.string().nullable().optional(),
  context: z.string().nullable().optional(),
  cache_control: cacheControl,
});

const toolUseBlock = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
  cache_control: cacheControl,
});

const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(tagged('tool_result content block', [textBlock, imageBlock]))]).optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});

// Accepted so conversations recorded from extended-thinking models replay; never translated.
const thinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string() });
const redactedThinkingBlock = z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() });

const SERVER_TOOLS = 'server tools (web search, code execution, …) are not available through this gateway';
const unsupportedBlocks: Record<string, string> = {
  server_tool_use: `content block type 'server_tool_use' is not supported: ${SERVER_TOOLS}`,
  web_search_tool_result: `content block type 'web_search_tool_result' is not supported: ${SERVER_TOOLS}`,
  web_fetch_tool_result: `content block type 'web_fetch_tool_result' is not supported: ${SERVER_TOOLS}`,
  code_execution_tool_result: `content block type 'code_execution_tool_result' is not supported: ${SERVER_TOOLS}`,
  bash_code_execution_tool_result: `content block type 'bash_code_execution_tool_result' is not supported: ${SERVER_TOOLS}`,
  text_editor_code_execution_tool_result: `content block type 'text_editor_code_execution_tool_result' is not supported: ${SERVER_TOOLS}`,
  tool_search_tool_result: `content block type 'tool_search_tool_result' is not supported: ${SERVER_TOOLS}`,
  container_upload: "content block type 'container_upload' is not supported: containers are not available through this gateway",
  search_result: "content block type 'search_result' is not supported through this gateway; send it as a text block",
};

const contentBlock = tagged(
  'content block',
  [textBlock, imageBlock, documentBlock, toolUseBlock, toolResultBlock, thinkingBlock, redactedThinkingBlock],
  unsupportedBlocks,
);

const message = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(contentBlock)]),
});

/** A custom (client) tool. Anthropic's server tools carry a versioned `type` and are rejected. */
const tool = z
  .looseObject({ type: z.string().nullable().optional() })
  .check((ctx) => {
    const type = ctx.value.type;
    if (type === undefined || type === null || type === 'custom') return;
    ctx.issues.push({
      code: 'custom',
      path: ['type'],
      input: type,
      message: `tool type '${type}' is a server tool and is not supported: ${SERVER_TOOLS}; define a custom tool with input_schema`,
    });
  })
  .pipe(
    z.looseObject({
      type: z.literal('custom').nullable().optional(),
      name: z.string().min(1),
      description: z.string().optional(),
      input_schema: z.looseObject({ type: z.literal('object') }),
      strict: z.boolean().optional(),
      cache_control: cacheControl,
    }),
  );

const toolChoice = tagged('tool_choice', [
  z.looseObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('tool'), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('none') }),
]);

const outputFormat = tagged('output_config.format', [
  z.looseObject({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }),
]);

export const anthropicMessagesSchema = z.looseObject({
  model: modelName,
  max_tokens: z.number().int().positive(),
  messages: z.array(message).min(1),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().nonnegative().optional(),
  metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
  stream: z.boolean().optional(),
  thinking: z.looseObject({ type: z.string() }).optional(),
  output_config: z.looseObject({ format: outputFormat.nullable().optional() }).optional(),
});

export type AnthropicMessagesRequest = z.output<typeof anthropicMessagesSchema>;
export type AnthropicMessageInput = AnthropicMessagesRequest['messages'][number];
export type AnthropicContentBlock = z.output<typeof contentBlock>;
export type AnthropicTextBlock = z.output<typeof textBlock>;
export type AnthropicImageBlock = z.output<typeof imageBlock>;
export type AnthropicDocumentBlock = z.output<typeof documentBlock>;

/** Validates a `/v1/messages` body; a 400 GatewayError names the first bad field. */
export function parseAnthropicRequest(body: unknown): AnthropicMessagesRequest {
  return validate(anthropicMessagesSchema, body);
}
