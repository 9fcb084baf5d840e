import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { GatewayError } from '../../errors/gateway-error.ts';
import { openaiUsageFromNormalized, usageFromAnthropic } from '../usage.ts';
import type { AnthropicUsageLike } from '../usage.ts';
import type { NormalizedUsage } from '../../../core/usage.ts';
import { finishReasonFromAnthropic, jsonContent } from './from-anthropic-response.ts';
import type { FinishReason } from './from-anthropic-response.ts';
import type { JsonToolAnswer } from './response-format.ts';

/**
 * Anthropic Messages SSE events → OpenAI chat.completion.chunk objects, one event at a time.
 * Event grammar (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
 * message_start, then per content block start / delta* / stop, then message_delta (stop
 * reason, cumulative usage) and message_stop; `ping` and future event types may appear
 * anywhere and are skipped, `error` may arrive mid-stream instead of the rest.
 *
 * JSON through the reserved tool (response-format.ts): that tool_use block's input_json_delta
 * fragments become content deltas as they come (buffered to the block's end only when the
 * schema was wrapped, to take `value` out), text blocks are dropped as in the non-stream
 * translation, and a turn that ended by answering through it finishes with `stop`.
 */
export interface StreamTranslatorOptions {
  id: string;
  created: number;
  model: string;
  json?: JsonToolAnswer | undefined;
}

/** One parsed SSE event; `event` is undefined when the upstream sent no `event:` line. */
export interface AnthropicSseEvent {
  event?: string | undefined;
  data: string;
}

export interface AnthropicStreamTranslator {
  /** Translates one event; may return no chunks. Throws GatewayError on error or garbage. */
  push(ev: AnthropicSseEvent): ChatCompletionChunk[];
  /** Usage so far (input from message_start, output from message_delta); null before message_start. */
  usage(): NormalizedUsage | null;
  /** True once message_stop arrived; later events are ignored. */
  finished(): boolean;
}

type Delta = ChatCompletionChunk.Choice.Delta;
type Json = Record<string, unknown>;

interface ToolBlock {
  /** OpenAI's tool_calls[].index: counts tool blocks from 0, unlike Anthropic's block index. */
  index: number;
  sentArguments: boolean;
}

export function createAnthropicStreamTranslator(opts: StreamTranslatorOptions): AnthropicStreamTranslator {
  let started = false;
  let done = false;
  let finishSent = false;
  let usage: AnthropicUsageLike = {};
  const tools = new Map<number, ToolBlock>();
  /** The reserved tool's block, when the model answered through it. */
  let jsonBlock: { index: number; sent: boolean; buffer: string } | undefined;

  const chunk = (delta: Delta, finish: FinishReason | null = null): ChatCompletionChunk => ({
    id: opts.id,
    object: 'chat.completion.chunk',
    created: opts.created,
    model: opts.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const toolDelta = (index: number, args: string): ChatCompletionChunk =>
    chunk({ tool_calls: [{ index, function: { arguments: args } }] });

  /** The rest of the reserved tool's answer once its block ends. */
  function jsonBlockEnd(block: { sent: boolean; buffer: string }): ChatCompletionChunk[] {
    if (opts.json?.unwrap) {
      block.sent = true;
      let content: string;
      try {
        content = jsonContent(block.buffer === '' ? {} : JSON.parse(block.buffer), true);
      } catch {
        content = block.buffer; // cut short (max_tokens): the partial JSON, as OpenAI would send it
      }
      return [chunk({ content })];
    }
    if (block.sent) return [];
    // No streamed input at all: the empty object, as the non-stream translation gives.
    block.sent = true;
    return [chunk({ content: '{}' })];
  }

  function handle(type: string, data: Json): ChatCompletionChunk[] {
    if (type === 'error') throw upstreamError(data);
    if (type !== 'message_start' && !started && isKnown(type)) bad(`'${type}' before message_start`);
    switch (type) {
      case 'message_start': {
        const message = record(data['message'], 'message_start.message');
        usage = { ...record(message['usage'] ?? {}, 'message_start.message.usage') };
        started = true;
        return [chunk({ role: 'assistant', content: '' })];
      }
      case 'content_block_start': {
        const index = blockIndex(data);
        const block = record(data['content_block'], 'content_block_start.content_block');
        if (block['type'] === 'text') {
          const text = block['text'];
          return typeof text === 'string' && text !== '' && !opts.json ? [chunk({ content: text })] : [];
        }
        if (block['type'] !== 'tool_use') return []; // thinking, server tools: not for OpenAI clients
        const id = block['id'];
        const name = block['name'];
        if (typeof id !== 'string' || typeof name !== 'string') bad('tool_use block without id or name');
        if (name === opts.json?.tool && jsonBlock === undefined) {
          jsonBlock = { index, sent: false, buffer: '' };
          return [];
        }
        const tool: ToolBlock = { index: tools.size, sentArguments: false };
        tools.set(index, tool);
        return [chunk({ tool_calls: [{ index: tool.index, id, type: 'function', function: { name, arguments: '' } }] })];
      }
      case 'content_block_delta': {
        const index = blockIndex(data);
        const delta = record(data['delta'], 'content_block_delta.delta');
        if (delta['type'] === 'text_delta') {
          const text = delta['text'];
          if (typeof text !== 'string') bad('text_delta without text');
          return text === '' || opts.json ? [] : [chunk({ content: text })];
        }
        if (delta['type'] !== 'input_json_delta') return []; // thinking, signature, citations
        const partial = delta['partial_json'];
        if (jsonBlock?.index === index) {
          if (typeof partial !== 'string') bad('input_json_delta without partial_json');
          if (opts.json?.unwrap) jsonBlock.buffer += partial;
          if (partial === '' || opts.json?.unwrap) return [];
          jsonBlock.sent = true;
          return [chunk({ content: partial })];
        }
        const tool = tools.get(index);
        if (typeof partial !== 'string' || tool === undefined) bad('input_json_delta outside a tool_use block');
        if (partial === '') return [];
        tool.sentArguments = true;
        return [toolDelta(tool.index, partial)];
      }
      case 'content_block_stop': {
        const index = blockIndex(data);
        if (jsonBlock?.index === index) return jsonBlockEnd(jsonBlock);
        const tool = tools.get(index);
        // A call with no arguments may stream no JSON at all; OpenAI clients expect "{}".
        if (tool === undefined || tool.sentArguments) return [];
        tool.sentArguments = true;
        return [toolDelta(tool.index, '{}')];
      }
      case 'message_delta': {
        const delta = record(data['delta'] ?? {}, 'message_delta.delta');
        // message_delta usage is cumulative: later counts replace earlier ones.
        const update = Object.entries(record(data['usage'] ?? {}, 'message_delta.usage')).filter(([, v]) => v !== null);
        usage = { ...usage, ...Object.fromEntries(update) };
        finishSent = true;
        const reason = typeof delta['stop_reason'] === 'string' ? delta['stop_reason'] : null;
        // Answered through the reserved tool and called no other: a plain answer, as OpenAI's.
        const answered = jsonBlock !== undefined && tools.size === 0 && reason === 'tool_use';
        return [chunk({}, answered ? 'stop' : finishReasonFromAnthropic(reason))];
      }
      case 'message_stop':
        done = true;
        // Never leave an OpenAI client without a finish_reason, even if message_delta was lost.
        return finishSent ? [] : [chunk({}, 'stop')];
      default:
        return []; // ping and event types newer than this code
    }
  }

  return {
    push(ev) {
      if (done || ev.event === 'ping') return [];
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch (err) {
        throw new GatewayError('upstream_bad_response', `Anthropic stream: unparseable event data (${(err as Error).message})`, {
          cause: err,
        });
      }
      const json = record(data, `'${ev.event ?? 'unnamed'}' event data`);
      const type = typeof json['type'] === 'string' ? json['type'] : ev.event;
      return type === undefined ? [] : handle(type, json);
    },
    usage: () => (started ? usageFromAnthropic(usage) : null),
    finished: () => done,
  };
}

/** The final `stream_options.include_usage` chunk: no choices, OpenAI-shaped usage. */
export function usageChunk(opts: StreamTranslatorOptions, usage: NormalizedUsage): ChatCompletionChunk {
  return {
    id: opts.id,
    object: 'chat.completion.chunk',
    created: opts.created,
    model: opts.model,
    choices: [],
    usage: openaiUsageFromNormalized(usage),
  };
}

const KNOWN = new Set(['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
const isKnown = (type: string): boolean => KNOWN.has(type);

function upstreamError(data: Json): GatewayError {
  const error = data['error'];
  const message =
    typeof error === 'object' && error !== null && typeof (error as Json)['message'] === 'string'
      ? ((error as Json)['message'] as string)
      : 'Anthropic stream reported an error';
  return new GatewayError('upstream_error', message);
}

function record(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${what} is not an object`);
  return v as Json;
}

function blockIndex(data: Json): number {
  const index = data['index'];
  if (typeof index !== 'number' || !Number.isInteger(index)) bad(`${String(data['type'])} without an integer index`);
  return index;
}

function bad(what: string): never {
  throw new GatewayError('upstream_bad_response', `Anthropic stream: ${what}`);
}
