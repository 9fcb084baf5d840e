import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { startToolCall } from '../tool-call-start.ts';
import type {
  ResponseCustomToolCall,
  ResponseError,
  ResponseFunctionToolCall,
  ResponseOutputMessage,
  ResponseOutputRefusal,
  ResponseOutputText,
  Response,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';
import { GatewayError, type ErrorCode } from '../../errors/gateway-error.ts';
import { usageFromOpenAI } from '../../providers/usage.ts';
import type { NormalizedUsage } from '../../../core/usage.ts';
import { sseFrame } from '../sse-frame.ts';
import { customInput } from './tool-plan.ts';
import {
  outputTextPart,
  outputItemId,
  responseEnvelope,
  toolCallItem,
  type FinishReason,
  type ResponseContext,
  type ResponseObject,
} from './to-response.ts';

/**
 * chat.completion.chunk stream → OpenAI Responses stream events, each with its
 * `sequence_number` (https://platform.openai.com/docs/api-reference/responses-streaming):
 * response.created, response.in_progress; per message item output_item.added,
 * content_part.added, output_text.delta…, output_text.done, content_part.done,
 * output_item.done; per function call output_item.added, function_call_arguments.delta…,
 * function_call_arguments.done, output_item.done; then response.completed (or
 * response.incomplete) carrying the whole Response. One item is open at a time; the final
 * Response equals `toResponse` of the assembled completion. Only choice 0 is translated.
 *
 * A failure mid-stream is `response.failed` (the Response so far, with its error) followed by
 * an `error` event, which makes the SDK's `stream.finalResponse()` reject.
 *
 * Limit: chat tool calls must stream one after another (as OpenAI, vLLM and Ollama send them);
 * arguments for a call whose item was already closed cannot be expressed and fail the stream.
 */
export interface ResponseEventWriter {
  /** response.created + response.in_progress; sent by the first push/end if not called. */
  start(): string[];
  push(chunk: ChatCompletionChunk): string[];
  /** Closes the open item and sends response.completed / response.incomplete. `usage` from the pipeline wins over chunk usage. */
  end(usage?: NormalizedUsage | null, completedAt?: number): string[];
  /** response.failed + error; the stream ends after them. */
  error(err: GatewayError): string[];
  /** The Response as it stands: the final one after end() or error(), for storing. */
  response(): ResponseObject;
}

type PartKind = 'output_text' | 'refusal';
interface MessageState {
  kind: 'message';
  item: ResponseOutputMessage;
  index: number;
  part: { kind: PartKind; index: number; text: string } | null;
}
interface CallState {
  kind: 'call';
  item: ResponseFunctionToolCall;
  index: number;
  chatIndex: number;
}
/** A free-form tool's call: its chat arguments (`{"input": …}`) are gathered and sent as one input delta at the end. */
interface CustomState {
  kind: 'custom';
  item: ResponseCustomToolCall;
  index: number;
  chatIndex: number;
  args: string;
}

export function createResponseEventWriter(ctx: ResponseContext): ResponseEventWriter {
  let seq = 0;
  let started = false;
  let ended = false;
  let finish: FinishReason | null = null;
  let chunkUsage: NormalizedUsage | null = null;
  let model = ctx.request.model ?? '';
  let messages = 0;
  let calls = 0;
  const output: Array<ResponseOutputMessage | ResponseFunctionToolCall | ResponseCustomToolCall> = [];
  const seenCalls = new Set<number>();
  let open: MessageState | CallState | CustomState | null = null;
  let current: ResponseObject = responseEnvelope(ctx, { output: [], finish: null, usage: null, model, status: 'in_progress' });

  // Serialised at once, so items mutated later (status, arguments) never change a frame already written.
  type Emit = ResponseStreamEvent extends infer E ? (E extends { sequence_number: number } ? Omit<E, 'sequence_number'> : never) : never;
  const emit = (out: string[], event: Emit): void => {
    out.push(sseFrame(event.type, { ...event, sequence_number: seq++ }));
  };

  function start(out: string[]): void {
    if (started) return;
    started = true;
    emit(out, { type: 'response.created', response: sdkResponse(current) });
    emit(out, { type: 'response.in_progress', response: sdkResponse(current) });
  }

  function closePart(out: string[], state: MessageState): void {
    const part = state.part;
    if (!part) return;
    const base = { item_id: state.item.id, output_index: state.index, content_index: part.index };
    const done: ResponseOutputText | ResponseOutputRefusal =
      part.kind === 'output_text' ? outputTextPart(part.text) : { type: 'refusal', refusal: part.text };
    if (part.kind === 'output_text') emit(out, { type: 'response.output_text.done', ...base, text: part.text, logprobs: [] });
    else emit(out, { type: 'response.refusal.done', ...base, refusal: part.text });
    emit(out, { type: 'response.content_part.done', ...base, part: done });
    state.item.content.push(done);
    state.part = null;
  }

  function close(out: string[], status: 'completed' | 'incomplete' = 'completed'): void {
    if (open === null) return;
    if (open.kind === 'message') {
      closePart(out, open);
    } else if (open.kind === 'custom') {
      const input = customInput(open.args);
      const base = { item_id: open.item.id!, output_index: open.index };
      open.item.input = input;
      if (input !== '') emit(out, { type: 'response.custom_tool_call_input.delta', ...base, delta: input });
      emit(out, { type: 'response.custom_tool_call_input.done', ...base, input });
      // A custom tool call has no status field.
      emit(out, { type: 'response.output_item.done', output_index: open.index, item: open.item });
      open = null;
      return;
    } else {
      emit(out, {
        type: 'response.function_call_arguments.done',
        item_id: open.item.id!,
        output_index: open.index,
        name: open.item.name,
        arguments: open.item.arguments,
      });
    }
    open.item.status = status;
    emit(out, { type: 'response.output_item.done', output_index: open.index, item: open.item });
    open = null;
  }

  function said(out: string[], kind: PartKind, delta: string): void {
    if (open?.kind !== 'message') {
      close(out);
      const item: ResponseOutputMessage = { id: outputItemId(ctx.id, 'msg', messages++), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
      open = { kind: 'message', item, index: output.length, part: null };
      output.push(item);
      emit(out, { type: 'response.output_item.added', output_index: open.index, item });
    }
    const state: MessageState = open;
    if (state.part?.kind !== kind) {
      closePart(out, state);
      state.part = { kind, index: state.item.content.length, text: '' };
      const empty = kind === 'output_text' ? outputTextPart('') : { type: 'refusal' as const, refusal: '' };
      emit(out, { type: 'response.content_part.added', item_id: state.item.id, output_index: state.index, content_index: state.part.index, part: empty });
    }
    const base = { item_id: state.item.id, output_index: state.index, content_index: state.part.index, delta };
    state.part.text += delta;
    if (kind === 'output_text') emit(out, { type: 'response.output_text.delta', ...base, logprobs: [] });
    else emit(out, { type: 'response.refusal.delta', ...base });
  }

  function call(out: string[], tc: ChatCompletionChunk.Choice.Delta.ToolCall): void {
    if ((open?.kind !== 'call' && open?.kind !== 'custom') || open.chatIndex !== tc.index) {
      const { id, name } = startToolCall(tc, seenCalls, 'Responses');
      close(out);
      const item = toolCallItem(ctx, calls++, id, name, '', 'in_progress');
      open =
        item.type === 'custom_tool_call'
          ? { kind: 'custom', item, index: output.length, chatIndex: tc.index, args: '' }
          : { kind: 'call', item, index: output.length, chatIndex: tc.index };
      output.push(item);
      emit(out, { type: 'response.output_item.added', output_index: open.index, item });
    }
    const args = tc.function?.arguments;
    if (!args) return;
    if (open.kind === 'custom') {
      open.args += args;
      return;
    }
    open.item.arguments += args;
    emit(out, { type: 'response.function_call_arguments.delta', item_id: open.item.id!, output_index: open.index, delta: args });
  }

  return {
    start() {
      const out: string[] = [];
      start(out);
      return out;
    },
    push(chunk) {
      if (ended) return [];
      const out: string[] = [];
      start(out);
      if (ctx.request.model === undefined && chunk.model) model = chunk.model;
      if (chunk.usage) chunkUsage = usageFromOpenAI(chunk.usage);
      const choice = chunk.choices.find((c) => c.index === 0);
      if (!choice) return out;
      const { delta } = choice;
      if (delta.content) said(out, 'output_text', delta.content);
      if (delta.refusal) said(out, 'refusal', delta.refusal);
      for (const tc of delta.tool_calls ?? []) call(out, tc);
      if (choice.finish_reason) {
        finish = choice.finish_reason;
        // A length stop cuts off the item being written; the ones before it were finished.
        close(out, finish === 'length' ? 'incomplete' : 'completed');
      }
      return out;
    },
    end(usage, completedAt) {
      if (ended) return [];
      ended = true;
      const out: string[] = [];
      start(out);
      close(out);
      const final = { ...ctx, ...(completedAt === undefined ? {} : { completedAt }) };
      current = responseEnvelope(final, { output, finish: finish ?? 'stop', usage: usage ?? chunkUsage, model });
      emit(out, { type: current.status === 'incomplete' ? 'response.incomplete' : 'response.completed', response: sdkResponse(current) });
      return out;
    },
    error(err) {
      if (ended) return [];
      ended = true;
      const out: string[] = [];
      start(out);
      // The open item is reported as it stands in the failed Response, without closing events.
      if (open) {
        if (open.kind === 'custom') open.item.input = customInput(open.args);
        else open.item.status = 'incomplete';
        const part = open.kind === 'message' ? open.part : null;
        if (open.kind === 'message' && part) {
          open.item.content.push(part.kind === 'output_text' ? outputTextPart(part.text) : { type: 'refusal', refusal: part.text });
        }
        open = null;
      }
      current = responseEnvelope(ctx, {
        output,
        finish: null,
        usage: chunkUsage,
        model,
        status: 'failed',
        error: { code: responseErrorCode(err.code), message: err.publicMessage },
      });
      emit(out, { type: 'response.failed', response: sdkResponse(current) });
      emit(out, { type: 'error', code: err.code, message: err.publicMessage, param: err.param });
      return out;
    },
    response: () => current,
  };
}

/** The SDK's event types want `output_text`, which the SDK computes itself and the API does not send. */
const sdkResponse = (r: ResponseObject): Response => r as Response;

/** The Response's `error.code` is a closed set; the `error` event carries the gateway's own code. */
function responseErrorCode(code: ErrorCode): ResponseError['code'] {
  switch (code) {
    case 'rate_limited':
    case 'upstream_rate_limited':
      return 'rate_limit_exceeded';
    case 'invalid_request':
    case 'upstream_bad_request':
      return 'invalid_prompt';
    default:
      return 'server_error';
  }
}
