import type { ChatCompletion, ChatCompletionChunk, ChatCompletionMessageFunctionToolCall } from 'openai/resources/chat/completions';
import type { NormalizedUsage } from '../../../core/usage.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { openaiUsageFromNormalized, usageFromResponses, type ResponsesUsage } from '../usage.ts';

/**
 * An OpenAI Responses answer, passed through to a `/v1/responses` client as the upstream sent
 * it, read on the side as a chat completion (and its stream events as chunks): the call
 * record, pricing, token counts, the cache entry and time to first token all work on chat
 * completions. Only what those need is read: text, tool calls (a namespaced tool as
 * `<namespace>__<name>`, a custom tool's input as `{"input": …}`), finish and usage.
 */

type Item = {
  type?: string;
  id?: string;
  call_id?: string;
  name?: string;
  namespace?: string | null;
  arguments?: string;
  input?: string;
  content?: Array<{ type?: string; text?: string; refusal?: string }>;
};

interface ResponseLike {
  id?: string;
  model?: string;
  created_at?: number;
  status?: string;
  incomplete_details?: { reason?: string } | null;
  output?: Item[];
  usage?: ResponsesUsage | null;
  error?: { message?: string } | null;
}

function callName(item: Item): string {
  const name = item.name ?? '';
  return item.namespace ? `${item.namespace}__${name}` : name;
}

function callArguments(item: Item): string {
  return item.type === 'custom_tool_call' ? JSON.stringify({ input: item.input ?? '' }) : (item.arguments ?? '');
}

const isCall = (item: Item): boolean => item.type === 'function_call' || item.type === 'custom_tool_call';

function finishOf(res: ResponseLike, calls: number): ChatCompletion.Choice['finish_reason'] {
  if (res.status === 'incomplete') return res.incomplete_details?.reason === 'content_filter' ? 'content_filter' : 'length';
  return calls > 0 ? 'tool_calls' : 'stop';
}

/** A complete Response as a chat completion. */
export function chatFromResponse(res: ResponseLike, fallback: { id: string; created: number; model: string }): ChatCompletion {
  let text = '';
  let refusal = '';
  const calls: ChatCompletionMessageFunctionToolCall[] = [];
  for (const item of res.output ?? []) {
    if (item.type === 'message') {
      for (const part of item.content ?? []) {
        if (part.type === 'output_text') text += part.text ?? '';
        if (part.type === 'refusal') refusal += part.refusal ?? '';
      }
    } else if (isCall(item)) {
      calls.push({ id: item.call_id ?? '', type: 'function', function: { name: callName(item), arguments: callArguments(item) } });
    }
  }
  const usage = usageFromResponses(res.usage);
  const completion: ChatCompletion = {
    id: res.id ?? fallback.id,
    object: 'chat.completion',
    created: res.created_at ?? fallback.created,
    model: res.model ?? fallback.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text === '' && calls.length > 0 ? null : text,
          refusal: refusal === '' ? null : refusal,
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
        logprobs: null,
        finish_reason: finishOf(res, calls.length),
      },
    ],
  };
  if (usage) completion.usage = openaiUsageFromNormalized(usage);
  return completion;
}

export interface ResponsesStreamTranslator {
  /** One upstream event (its `type` is in the data) → chat chunks, maybe none. Throws on a failed response or an error event. */
  push(data: string): ChatCompletionChunk[];
  usage(): NormalizedUsage | null;
  /** True once response.completed / response.incomplete arrived. */
  finished(): boolean;
  /** The final Response the upstream sent, once finished. */
  response(): Record<string, unknown> | null;
}

export function createResponsesStreamTranslator(opts: { id: string; created: number; model: string; provider: string; scrub(s: string): string }): ResponsesStreamTranslator {
  let usage: NormalizedUsage | null = null;
  let done = false;
  let final: Record<string, unknown> | null = null;
  let calls = 0;
  const callIndex = new Map<string, number>();
  const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk => ({
    id: opts.id,
    object: 'chat.completion.chunk',
    created: opts.created,
    model: opts.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const fail = (said: unknown): never => {
    const text = opts.scrub(String(said ?? 'unknown error')).slice(0, 1000);
    throw new GatewayError('upstream_error', `provider ${opts.provider} failed mid-stream: ${text}`, { provider: opts.provider });
  };

  return {
    push(data) {
      if (done) return [];
      let event: Record<string, unknown> & { type?: string };
      try {
        event = JSON.parse(data) as typeof event;
      } catch {
        throw new GatewayError('upstream_bad_response', `provider ${opts.provider} sent a stream event that is not valid JSON`, { provider: opts.provider });
      }
      switch (event.type) {
        case 'response.output_text.delta':
          return [chunk({ content: String(event.delta ?? '') })];
        case 'response.refusal.delta':
          return [chunk({ refusal: String(event.delta ?? '') })];
        case 'response.output_item.added': {
          const item = (event.item ?? {}) as Item;
          if (!isCall(item)) return [];
          const index = calls++;
          callIndex.set(item.id ?? String(event.output_index), index);
          return [chunk({ tool_calls: [{ index, id: item.call_id ?? '', type: 'function', function: { name: callName(item), arguments: '' } }] })];
        }
        case 'response.function_call_arguments.delta': {
          const index = callIndex.get(String(event.item_id)) ?? callIndex.get(String(event.output_index));
          return index === undefined ? [] : [chunk({ tool_calls: [{ index, function: { arguments: String(event.delta ?? '') } }] })];
        }
        case 'response.custom_tool_call_input.done': {
          const index = callIndex.get(String(event.item_id)) ?? callIndex.get(String(event.output_index));
          return index === undefined ? [] : [chunk({ tool_calls: [{ index, function: { arguments: JSON.stringify({ input: String(event.input ?? '') }) } }] })];
        }
        case 'response.completed':
        case 'response.incomplete': {
          done = true;
          const res = (event.response ?? {}) as ResponseLike & Record<string, unknown>;
          final = res;
          usage = usageFromResponses(res.usage);
          const last = chunk({}, finishOf(res, calls));
          const out: ChatCompletionChunk[] = [last];
          if (usage) out.push({ ...chunk({}), choices: [], usage: openaiUsageFromNormalized(usage) });
          return out;
        }
        case 'response.failed':
          return fail(((event.response ?? {}) as ResponseLike).error?.message);
        case 'error':
          return fail(event.message);
        default:
          return [];
      }
    },
    usage: () => usage,
    finished: () => done,
    response: () => final,
  };
}
