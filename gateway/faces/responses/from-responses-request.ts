import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionContentPart,
  ChatCompletionContentPartText,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { ChatRequest } from '../../../core/chat.ts';
import { simplestContent } from '../simplest-content.ts';
import type { ResponsesInputItem, ResponsesMessageItem, ResponsesRequest } from './responses-schema.ts';
import type { StoredResponse } from './store.ts';
import { CUSTOM_INPUT, flatName, planTools, type ToolNames } from './tool-plan.ts';

/**
 * An OpenAI Responses request (plus the stored conversation before it) → the gateway's
 * canonical chat-completions request. Pure; throws GatewayError('invalid_request') naming
 * the field.
 *
 * Order of messages: this request's `instructions` (as a system message; per OpenAI, earlier
 * responses' instructions are not carried over), then each earlier turn's input and output
 * items, oldest first, then this `input`.
 *
 * Tools: see tool-plan.ts (namespaces flattened, custom tools as one-string functions, hosted
 * tools dropped). Tool results carrying images: the tool message keeps the text with
 * "[image]" where each image was, and the images follow in a user message after the turn's
 * tool results (chat tool messages take text only).
 *
 * Not translated: `store` (the gateway's own storage, read by the route), `include` (asks for
 * reasoning.encrypted_content, which only OpenAI produces), `client_metadata`, `truncation`,
 * `service_tier`, `top_logprobs`, reasoning `summary`, image `detail: original` (no chat
 * equivalent; the default applies), reasoning and web_search_call items in the input (their
 * content only means something to OpenAI).
 */
export function fromResponsesRequest(req: ResponsesRequest, previous: ReadonlyArray<Pick<StoredResponse, 'inputItems' | 'outputItems'>>): ChatRequest {
  return translateResponsesRequest(req, previous).chat;
}

/** The chat request, the hosted tools it leaves out, and how its tool names map back. */
export function translateResponsesRequest(
  req: ResponsesRequest,
  previous: ReadonlyArray<Pick<StoredResponse, 'inputItems' | 'outputItems'>>,
): { chat: ChatRequest; dropped: string[]; names: ToolNames } {
  const messages: ChatCompletionMessageParam[] = [];
  if (req.instructions) messages.push({ role: 'system', content: req.instructions });
  for (const turn of previous) {
    appendItems(messages, turn.inputItems, 'previous_response_id');
    appendItems(messages, turn.outputItems as unknown as ResponsesInputItem[], 'previous_response_id');
  }
  appendItems(messages, normalizeInput(req.input), 'input', typeof req.input === 'string');

  // `model` may be absent when a registry prompt names it; the pipeline fills it in.
  const out = { messages } as unknown as ChatRequest;
  if (req.model !== undefined) out.model = req.model;
  const { tools, names, dropped } = planTools(req);
  // OpenAI rejects tool_choice and parallel_tool_calls without tools.
  if (tools.length > 0) {
    out.tools = tools;
    if (req.tool_choice !== undefined) out.tool_choice = toolChoice(req.tool_choice);
    if (typeof req.parallel_tool_calls === 'boolean') out.parallel_tool_calls = req.parallel_tool_calls;
  }
  const format = req.text?.format;
  if (format?.type === 'json_object') out.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') {
    out.response_format = {
      type: 'json_schema',
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.description === undefined ? {} : { description: format.description }),
        ...(typeof format.strict === 'boolean' ? { strict: format.strict } : {}),
      },
    };
  }
  if (req.text?.verbosity) out.verbosity = req.text.verbosity;
  if (req.reasoning?.effort) out.reasoning_effort = req.reasoning.effort as NonNullable<ChatRequest['reasoning_effort']>;
  if (typeof req.max_output_tokens === 'number') out.max_tokens = req.max_output_tokens;
  if (typeof req.temperature === 'number') out.temperature = req.temperature;
  if (typeof req.top_p === 'number') out.top_p = req.top_p;
  if (req.user !== undefined) out.user = req.user;
  if (req.safety_identifier) out.safety_identifier = req.safety_identifier;
  if (req.prompt_cache_key) out.prompt_cache_key = req.prompt_cache_key;
  if (req.metadata) out.metadata = req.metadata;
  if (req.prompt) out.prompt = withoutNulls(req.prompt);
  if (req.stream === true) {
    out.stream = true;
    // The final response.completed event carries usage, so the upstream must report it.
    out.stream_options = { include_usage: true };
  }
  return { chat: out, dropped, names };
}

/**
 * This turn's input as items, the form stored for continuation: a string is one user message
 * with one input_text part; an "easy" message without `type` gets `type: 'message'`.
 */
export function normalizeInput(input: ResponsesRequest['input']): ResponsesInputItem[] {
  if (input === undefined) return [];
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  return input;
}

function toolChoice(choice: NonNullable<ResponsesRequest['tool_choice']>): ChatCompletionToolChoiceOption {
  if (typeof choice === 'string') return choice;
  if (choice.type === 'function' || choice.type === 'custom') return { type: 'function', function: { name: flatName(choice.name, choice.namespace ?? undefined) } };
  if (choice.type !== 'allowed_tools') return 'auto'; // a hosted tool: refused by planTools before this
  return {
    type: 'allowed_tools',
    allowed_tools: { mode: choice.mode, tools: choice.tools.map((t) => ({ type: 'function', function: { name: t.name } })) },
  };
}

/** The registry's prompt field takes no nulls (`version: null` means "not given" in the Responses API). */
function withoutNulls(prompt: NonNullable<ResponsesRequest['prompt']>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(prompt).filter(([, v]) => v !== null));
}

/**
 * Items → chat messages, appended. Consecutive function_call items (and a preceding
 * assistant message) become one assistant message with tool_calls, as chat completions
 * wants a turn's calls together; each function_call_output becomes a tool message.
 */
function appendItems(messages: ChatCompletionMessageParam[], items: readonly ResponsesInputItem[], path: string, fromString = false): void {
  // Images from tool results wait until the turn's tool messages are all in.
  let images: ChatCompletionContentPart[] = [];
  const flushImages = (): void => {
    if (images.length === 0) return;
    messages.push({ role: 'user', content: images });
    images = [];
  };
  const toolCall = (id: string, name: string, args: string): void => {
    const call = { id, type: 'function' as const, function: { name, arguments: args } };
    const last = messages.at(-1);
    if (last?.role === 'assistant') (last.tool_calls ??= []).push(call);
    else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
  };
  const toolResult = (callId: string, output: ToolOutput): void => {
    const { text, moved } = toolOutputText(output);
    images.push(...moved);
    messages.push({ role: 'tool', tool_call_id: callId, content: text });
  };
  items.forEach((item, i) => {
    const at = path === 'input' && !fromString ? `input[${i}]` : path;
    if (item.type !== 'function_call_output' && item.type !== 'custom_tool_call_output') flushImages();
    switch (item.type) {
      case 'message':
        messages.push(messageOf(item, at));
        return;
      case 'function_call':
        toolCall(item.call_id, flatName(item.name, item.namespace ?? undefined), item.arguments);
        return;
      case 'custom_tool_call':
        toolCall(item.call_id, flatName(item.name, item.namespace ?? undefined), JSON.stringify({ [CUSTOM_INPUT]: item.input }));
        return;
      case 'function_call_output':
      case 'custom_tool_call_output':
        toolResult(item.call_id, item.output);
        return;
      case 'reasoning':
      case 'web_search_call':
        return;
    }
  });
  flushImages();
}

type ToolOutput = Extract<ResponsesInputItem, { type: 'function_call_output' }>['output'];

/** A tool result's text, with "[image]" where each image was; the images move to a user message. */
function toolOutputText(output: ToolOutput): { text: string; moved: ChatCompletionContentPart[] } {
  if (typeof output === 'string') return { text: output, moved: [] };
  const moved: ChatCompletionContentPart[] = [];
  const text = output
    .map((p) => {
      if (p.type === 'input_text') return p.text;
      moved.push(userPart(p));
      return '[image]';
    })
    .join('');
  return { text, moved };
}

function messageOf(item: ResponsesMessageItem, at: string): ChatCompletionMessageParam {
  const { role, content } = item;
  if (role === 'user') return { role, content: typeof content === 'string' ? content : simplestContent(content.map(userPart)) };
  if (role === 'assistant') {
    const message: ChatCompletionAssistantMessageParam = { role, content: typeof content === 'string' ? content : textOnly(content, at).map((p) => p.text).join('') };
    return message;
  }
  // system / developer
  if (typeof content === 'string') return { role, content };
  const parts = textOnly(content, at);
  return { role, content: parts.some((p) => p.prompt_cache_breakpoint) ? parts : parts.map((p) => p.text).join('') };
}

type Part = Exclude<ResponsesMessageItem['content'], string>[number];

function userPart(part: Part): ChatCompletionContentPart {
  switch (part.type) {
    case 'input_text':
      return withBreakpoint({ type: 'text', text: part.text }, part);
    case 'output_text':
      return { type: 'text', text: part.text };
    case 'refusal':
      return { type: 'text', text: part.refusal };
    case 'input_image': {
      // The schema guarantees image_url; file_id is rejected there.
      const url = part.image_url ?? '';
      const detail = part.detail === 'original' ? undefined : part.detail;
      return withBreakpoint({ type: 'image_url', image_url: detail ? { url, detail } : { url } }, part);
    }
  }
}

/** Assistant, system and developer messages carry text only in chat completions. */
function textOnly(content: Part[], at: string): ChatCompletionContentPartText[] {
  return content.map((part, j) => {
    switch (part.type) {
      case 'input_text':
      case 'output_text':
      case 'refusal':
        return userPart(part) as ChatCompletionContentPartText;
      case 'input_image':
        throw new GatewayError('invalid_request', `${at}.content[${j}].type: images are only supported in user messages`, {
          param: `${at}.content[${j}].type`,
        });
    }
  });
}

function withBreakpoint<T extends ChatCompletionContentPart>(part: T, from: { prompt_cache_breakpoint?: { mode: 'explicit' } | undefined }): T {
  return from.prompt_cache_breakpoint ? { ...part, prompt_cache_breakpoint: { mode: 'explicit' } } : part;
}
