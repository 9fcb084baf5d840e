import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { startToolCall } from '../tool-call-start.ts';
import type {
  MessageDeltaUsage,
  RawMessageStreamEvent,
  StopReason,
} from '@anthropic-ai/sdk/resources/messages';
import { GatewayError } from '../../errors/gateway-error.ts';
import { anthropicErrorBody } from '../../errors/render.ts';
import { usageFromOpenAI } from '../../providers/usage.ts';
import type { NormalizedUsage } from '../../../core/usage.ts';
import { sseFrame } from '../sse-frame.ts';
import { anthropicUsage, stopReasonFromFinish } from './to-anthropic-message.ts';

/**
 * chat.completion.chunk stream → Anthropic Messages SSE, in the exact order Anthropic sends
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming): message_start, then per
 * content block start / delta… / stop, then message_delta (stop reason and usage) and
 * message_stop. Only one block is open at a time; a block opens on its first content and
 * closes when another starts or the choice finishes. Only choice 0 is translated.
 *
 * Usage arrives last in a chat stream (the usage chunk after finish_reason), so message_start
 * carries the `inputTokens` estimate it was given (or 0) and message_delta the real counts,
 * which the SDK takes over (it overwrites each counter message_delta carries).
 *
 * Limit: chat tool calls must stream one after another (as OpenAI, vLLM and Ollama send them);
 * arguments for a call whose block was already closed cannot be expressed and fail the stream.
 */
export interface AnthropicEventWriterOptions {
  /** `msg_…` */
  id: string;
  /** The model name to report: what the client asked for. */
  model: string;
  /** A prompt-token estimate for message_start; the final count goes in message_delta. */
  inputTokens?: number;
}

export interface AnthropicEventWriter {
  /** Frames for one chunk (message_start first, on the first call); may be empty. */
  push(chunk: ChatCompletionChunk): string[];
  /** Closes the open block and sends message_delta + message_stop. `usage` from the pipeline wins over chunk usage. */
  end(usage?: NormalizedUsage | null): string[];
  /** Anthropic's mid-stream error event; the stream ends after it. */
  error(err: GatewayError): string;
}

type Open = { kind: 'text'; index: number } | { kind: 'tool'; index: number; chatIndex: number };

export function createAnthropicEventWriter(opts: AnthropicEventWriterOptions): AnthropicEventWriter {
  let started = false;
  let ended = false;
  let nextIndex = 0;
  let open: Open | null = null;
  let stopReason: StopReason | null = null;
  let chunkUsage: NormalizedUsage | null = null;
  const seenTools = new Set<number>();

  const frame = (event: RawMessageStreamEvent): string => sseFrame(event.type, event);

  function start(out: string[]): void {
    if (started) return;
    started = true;
    const usage = anthropicUsage(null);
    usage.input_tokens = opts.inputTokens ?? 0;
    out.push(
      frame({
        type: 'message_start',
        message: {
          id: opts.id,
          type: 'message',
          role: 'assistant',
          model: opts.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          stop_details: null,
          container: null,
          diagnostics: null,
          usage,
        },
      }),
    );
  }

  function close(out: string[]): void {
    if (open === null) return;
    out.push(frame({ type: 'content_block_stop', index: open.index }));
    open = null;
  }

  function text(out: string[], delta: string): void {
    if (open?.kind !== 'text') {
      close(out);
      open = { kind: 'text', index: nextIndex++ };
      out.push(frame({ type: 'content_block_start', index: open.index, content_block: { type: 'text', text: '', citations: null } }));
    }
    out.push(frame({ type: 'content_block_delta', index: open.index, delta: { type: 'text_delta', text: delta } }));
  }

  function tool(out: string[], call: ChatCompletionChunk.Choice.Delta.ToolCall): void {
    if (open?.kind !== 'tool' || open.chatIndex !== call.index) {
      const { id, name } = startToolCall(call, seenTools, 'Anthropic');
      close(out);
      open = { kind: 'tool', index: nextIndex++, chatIndex: call.index };
      out.push(
        frame({
          type: 'content_block_start',
          index: open.index,
          content_block: { type: 'tool_use', id, name, input: {}, caller: { type: 'direct' } },
        }),
      );
    }
    const args = call.function?.arguments;
    if (args) out.push(frame({ type: 'content_block_delta', index: open.index, delta: { type: 'input_json_delta', partial_json: args } }));
  }

  return {
    push(chunk) {
      if (ended) return [];
      const out: string[] = [];
      start(out);
      if (chunk.usage) chunkUsage = usageFromOpenAI(chunk.usage);
      const choice = chunk.choices.find((c) => c.index === 0);
      if (!choice) return out;
      const { delta } = choice;
      const said = (delta.content ?? '') + (delta.refusal ?? '');
      if (said !== '') text(out, said);
      for (const call of delta.tool_calls ?? []) tool(out, call);
      if (choice.finish_reason) {
        close(out);
        stopReason = stopReasonFromFinish(choice.finish_reason);
      }
      return out;
    },
    end(usage) {
      if (ended) return [];
      ended = true;
      const out: string[] = [];
      start(out);
      close(out);
      const u = anthropicUsage(usage ?? chunkUsage);
      const deltaUsage: MessageDeltaUsage = {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cache_read_input_tokens: u.cache_read_input_tokens,
        cache_creation_input_tokens: u.cache_creation_input_tokens,
        output_tokens_details: null,
        server_tool_use: null,
      };
      out.push(
        frame({
          type: 'message_delta',
          delta: { stop_reason: stopReason ?? 'end_turn', stop_sequence: null, stop_details: null, container: null },
          usage: deltaUsage,
        }),
        frame({ type: 'message_stop' }),
      );
      return out;
    },
    error(err) {
      ended = true;
      return sseFrame('error', anthropicErrorBody(err));
    },
  };
}
