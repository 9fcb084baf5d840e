import { v7 as uuidv7 } from 'uuid';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type {
  FunctionTool,
  Response,
  ResponseCustomToolCall,
  ResponseFormatTextConfig,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import type { ReasoningEffort } from 'openai/resources/shared';
import { usageFromOpenAI } from '../../providers/usage.ts';
import type { NormalizedUsage } from '../../../core/usage.ts';
import type { ResponsesRequest } from './responses-schema.ts';
import { customInput, originOf, type ToolNames } from './tool-plan.ts';

/**
 * A chat.completion → an OpenAI Response object, valid against the official OpenAPI
 * `Response` schema. `output_text` is left out: it is a convenience the SDKs compute.
 * Only choice 0 is translated. Logprobs are not carried over (`logprobs: []`).
 */
export type ResponseObject = Omit<Response, 'output_text'> & {
  /** Returned by the API (and whether the gateway keeps it), though the SDK type omits it. */
  store?: boolean;
};

export interface ResponseContext {
  /** `resp_…` (see newResponseId). */
  id: string;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds; defaults to createdAt. */
  completedAt?: number;
  /** The Responses request as validated, for the echoed settings. */
  request: ResponsesRequest;
  previousResponseId: string | null;
  /** How the translated request's tool names map back (namespaced and custom tools). */
  tools?: ToolNames | undefined;
}

/** `resp_` + a UUIDv7 in hex: unique, time-ordered, and the shape OpenAI's ids have. */
export function newResponseId(): string {
  return `resp_${uuidv7().replaceAll('-', '')}`;
}

/**
 * Output item ids derive from the response id, so a streamed response and its stored copy
 * agree, and an item id says which response it came from.
 */
export function outputItemId(responseId: string, kind: 'msg' | 'fc' | 'ctc', n: number): string {
  const base = responseId.startsWith('resp_') ? responseId.slice('resp_'.length) : responseId;
  return n === 0 ? `${kind}_${base}` : `${kind}_${base}_${n}`;
}

export type FinishReason = ChatCompletion.Choice['finish_reason'];

export function toResponse(completion: ChatCompletion, ctx: ResponseContext): ResponseObject {
  const choice = completion.choices.find((c) => c.index === 0) ?? completion.choices[0];
  const finish = choice?.finish_reason ?? 'stop';
  const output: Array<ResponseOutputMessage | ResponseFunctionToolCall | ResponseCustomToolCall> = [];
  const content: ResponseOutputMessage['content'] = [];
  const text = choice?.message.content ?? '';
  if (text !== '') content.push(outputTextPart(text));
  if (choice?.message.refusal) content.push({ type: 'refusal', refusal: choice.message.refusal });
  if (content.length > 0) output.push({ id: outputItemId(ctx.id, 'msg', 0), type: 'message', status: 'completed', role: 'assistant', content });
  let calls = 0;
  for (const call of choice?.message.tool_calls ?? []) {
    if (call.type !== 'function') continue;
    output.push(toolCallItem(ctx, calls++, call.id, call.function.name, call.function.arguments, 'completed'));
  }
  // A length stop cuts off the last item only; the ones before it were finished.
  const last = output.at(-1);
  if (finish === 'length' && last && last.type !== 'custom_tool_call') last.status = 'incomplete';
  return responseEnvelope(ctx, { output, finish, usage: usageFromOpenAI(completion.usage), model: completion.model });
}

export function outputTextPart(text: string): ResponseOutputText {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function functionCallItem(
  id: string,
  callId: string,
  name: string,
  args: string,
  status: NonNullable<ResponseFunctionToolCall['status']>,
): ResponseFunctionToolCall {
  return { id, type: 'function_call', status, call_id: callId, name, arguments: args };
}

/**
 * A chat tool call as the client's tool: a function call (with its `namespace` when the tool
 * was in one), or a `custom_tool_call` whose `input` is the free-form text.
 */
export function toolCallItem(
  ctx: Pick<ResponseContext, 'id' | 'tools'>,
  n: number,
  callId: string,
  chatName: string,
  args: string,
  status: NonNullable<ResponseFunctionToolCall['status']>,
): ResponseFunctionToolCall | ResponseCustomToolCall {
  const origin = originOf(ctx.tools, chatName);
  const namespace = origin.namespace === undefined ? {} : { namespace: origin.namespace };
  if (origin.custom) {
    return { id: outputItemId(ctx.id, 'ctc', n), type: 'custom_tool_call', call_id: callId, name: origin.name, input: customInput(args), ...namespace };
  }
  return { ...functionCallItem(outputItemId(ctx.id, 'fc', n), callId, origin.name, args, status), ...namespace };
}

export interface EnvelopeParts {
  output: ResponseOutputItem[];
  /** null while in progress. */
  finish: FinishReason | null;
  usage: NormalizedUsage | null;
  /** The model that answered, when the request named none (a prompt chose it). */
  model: string;
  /** Overrides the status derived from `finish` (in_progress, failed). */
  status?: 'in_progress' | 'failed';
  error?: ResponseObject['error'];
}

/**
 * The Response around its output: status, usage and the echo of the request's settings the
 * API reports (instructions are this request's only; they are not inherited).
 */
export function responseEnvelope(ctx: ResponseContext, parts: EnvelopeParts): ResponseObject {
  const req = ctx.request;
  const incomplete = parts.status === undefined && parts.finish === 'length';
  const status: NonNullable<ResponseObject['status']> = parts.status ?? (incomplete ? 'incomplete' : 'completed');
  const res: ResponseObject = {
    id: ctx.id,
    object: 'response',
    created_at: ctx.createdAt,
    status,
    completed_at: status === 'completed' ? (ctx.completedAt ?? ctx.createdAt) : null,
    error: parts.error ?? null,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    model: req.model ?? parts.model,
    output: parts.output,
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: ctx.previousResponseId,
    reasoning: { effort: (req.reasoning?.effort ?? null) as ReasoningEffort | null, summary: null },
    store: req.store ?? true,
    temperature: req.temperature ?? null,
    text: { format: (req.text?.format ?? { type: 'text' }) as ResponseFormatTextConfig },
    tool_choice: (req.tool_choice ?? 'auto') as ResponseObject['tool_choice'],
    tools: (req.tools ?? []).map(echoTool),
    top_p: req.top_p ?? null,
    truncation: 'disabled',
    metadata: req.metadata ?? {},
  };
  if (req.text?.verbosity) res.text = { ...res.text, verbosity: req.text.verbosity };
  if (req.prompt?.id) res.prompt = echoPrompt(req.prompt);
  if (req.user !== undefined) res.user = req.user;
  if (req.safety_identifier) res.safety_identifier = req.safety_identifier;
  if (req.prompt_cache_key) res.prompt_cache_key = req.prompt_cache_key;
  if (parts.usage) res.usage = responseUsage(parts.usage);
  return res;
}

/** Function tools with the API's defaults filled in; other tools as the request gave them. */
function echoTool(tool: NonNullable<ResponsesRequest['tools']>[number]): NonNullable<ResponseObject['tools']>[number] {
  if (tool.type !== 'function') return tool as unknown as NonNullable<ResponseObject['tools']>[number];
  const out: FunctionTool = {
    type: 'function',
    name: tool.name,
    description: tool.description ?? null,
    parameters: tool.parameters ?? null,
    strict: tool.strict ?? null,
  };
  return out;
}

/** The spec's Prompt has a string version; the gateway also accepts a number and a label. */
function echoPrompt(prompt: NonNullable<ResponsesRequest['prompt']>): NonNullable<ResponseObject['prompt']> {
  const out: NonNullable<ResponseObject['prompt']> = { id: prompt.id ?? '' };
  out.version = prompt.version === undefined || prompt.version === null ? null : String(prompt.version);
  if (prompt.variables) out.variables = prompt.variables as NonNullable<NonNullable<ResponseObject['prompt']>['variables']>;
  return out;
}

export function responseUsage(u: NormalizedUsage): ResponseUsage {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cachedInputTokens, cache_write_tokens: u.cacheWriteTokens },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.inputTokens + u.outputTokens,
  };
}
