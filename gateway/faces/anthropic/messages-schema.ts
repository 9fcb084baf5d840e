import { z } from 'zod';
import { modelName } from '../../pipeline/model-name.ts';
import { validate } from '../../pipeline/validate.ts';
import { tagged } from '../tagged-union.ts';

/**
 * What `POST /v1/messages` accepts (https://docs.anthropic.com/en/api/messages). Objects are
 * loose so fields newer than this code still reach an Anthropic upstream untouched; only what
 * the translation reads, or what commonly goes wrong, is typed. Block types that cannot be
 * translated to chat completions are rejected here with the reason, naming the field. Beta
 * fields (the `?beta=true` query, the `anthropic-beta` header) are accepted: the header goes on
 * with a pass-through, a translation has no use for it.
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

/**
 * A server tool's call and result, as an Anthropic upstream wrote them into an earlier turn.
 * They pass through to Anthropic as they are; a translation carries them as text (the model
 * still sees what was searched or run), since no other API has blocks for them.
 */
const serverToolUseBlock = z.looseObject({ type: z.literal('server_tool_use'), id: z.string(), name: z.string(), input: z.unknown() });
export const SERVER_TOOL_RESULTS = [
  'web_search_tool_result',
  'web_fetch_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'tool_search_tool_result',
] as const;
const [firstResult, ...otherResults] = SERVER_TOOL_RESULTS.map((t) =>
  z.looseObject({ type: z.literal(t), tool_use_id: z.string().optional(), content: z.unknown() }),
);

const unsupportedBlocks: Record<string, string> = {
  container_upload: "content block type 'container_upload' is not supported: containers are not available through this gateway",
  search_result: "content block type 'search_result' is not supported through this gateway; send it as a text block",
};

const contentBlock = tagged(
  'content block',
  [
    textBlock,
    imageBlock,
    documentBlock,
    toolUseBlock,
    toolResultBlock,
    thinkingBlock,
    redactedThinkingBlock,
    serverToolUseBlock,
    firstResult!,
    ...otherResults,
  ],
  unsupportedBlocks,
);

/**
 * `system` items inside `messages` are what Claude Code sends (beta
 * `mid-conversation-system-2026-04-07`): instructions that apply from that point on.
 */
const message = z.looseObject({
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(contentBlock)]),
});

/**
 * A custom (client) tool, or one of Anthropic's server tools (a versioned `type` such as
 * `web_search_20250305`). Server tools pass through to Anthropic; translations drop them
 * (from-anthropic-request.ts says when that is refused instead).
 */
const tool = z
  .looseObject({
    type: z.string().nullable().optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    input_schema: z.looseObject({ type: z.literal('object') }).optional(),
    strict: z.boolean().optional(),
    cache_control: cacheControl,
  })
  .check((ctx) => {
    if (!isServerTool(ctx.value) && ctx.value.input_schema === undefined) {
      ctx.issues.push({ code: 'custom', path: ['input_schema'], input: undefined, message: 'a custom tool needs an input_schema' });
    }
  });

/** Whether a tool is one of Anthropic's server tools (web search, code execution, …) rather than the client's. */
export function isServerTool(t: { type?: string | null | undefined }): boolean {
  return typeof t.type === 'string' && t.type !== 'custom';
}

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
  output_config: z.looseObject({ format: outputFormat.nullable().optional(), effort: z.string().nullable().optional() }).optional(),
  // Server-side context editing (beta context-management-2025-06-27): Anthropic only.
  context_management: z.looseObject({}).nullable().optional(),
});

export type AnthropicMessagesRequest = z.output<typeof anthropicMessagesSchema>;
export type AnthropicMessageInput = AnthropicMessagesRequest['messages'][number];
export type AnthropicContentBlock = z.output<typeof contentBlock>;
export type AnthropicTextBlock = z.output<typeof textBlock>;
export type AnthropicImageBlock = z.output<typeof imageBlock>;
export type AnthropicDocumentBlock = z.output<typeof documentBlock>;
export type AnthropicTool = z.output<typeof tool>;

/** Validates a `/v1/messages` body; a 400 GatewayError names the first bad field. */
export function parseAnthropicRequest(body: unknown): AnthropicMessagesRequest {
  return validate(anthropicMessagesSchema, body);
}
