import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CallTracker } from '../calls/tracker.ts';
import { GatewayError, toGatewayError } from '../errors/gateway-error.ts';
import { openaiErrorBody } from '../errors/render.ts';
import type { ChatStream } from '../providers/types.ts';
import { openaiUsageFromNormalized, type NormalizedUsage } from '../providers/usage.ts';
import { ChunkAssembler } from '../streaming/chunk-assembler.ts';
import { priceChat, type ChatPlan } from './chat-call.ts';
import type { PipelineDeps } from './deps.ts';

const encoder = new TextEncoder();
const DONE = encoder.encode('data: [DONE]\n\n');
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' };

/**
 * Streams chunks to the client as they arrive, tapping them into an assembled completion for
 * the call record. The usage chunk the gateway asked for is passed on only if the client asked
 * for it too. A failure mid-stream becomes an SSE error event (never a silent truncation); a
 * client that goes away cancels the upstream and is recorded as client_aborted.
 */
/** Told how the stream ended: complete (cacheable) or not. */
export interface StreamOutcomeHooks {
  complete(assembler: ChunkAssembler): void;
  abandon(): void;
}

export function openaiSseResponse(
  stream: ChatStream,
  plan: ChatPlan,
  call: CallTracker,
  deps: PipelineDeps,
  hooks?: StreamOutcomeHooks,
): Response {
  const { req } = plan;
  const clientWantsUsage = req.stream_options?.include_usage === true;
  const assembler = new ChunkAssembler();
  const iterator = stream[Symbol.asyncIterator]();
  let sawUsageChunk = false;
  let last: ChatCompletionChunk | undefined;
  call.record.overheadMs = call.overheadMs();
  const finishUsage = (): number | null => priceChat(call, req, stream.usage(), () => assembler.text());

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done) {
            finishUsage();
            if (clientWantsUsage && !sawUsageChunk && call.record.usage && last) {
              controller.enqueue(encoder.encode(`data: ${JSON.stringify(usageChunkFor(last, call.record.usage))}\n\n`));
            }
            controller.enqueue(DONE);
            controller.close();
            hooks?.complete(assembler);
            call.finishOk(assembler.toCompletion());
            return;
          }
          const { chunk, data } = next.value;
          last = chunk;
          assembler.add(chunk);
          const usageOnly = chunk.choices.length === 0 && chunk.usage != null;
          if (usageOnly) {
            if (!clientWantsUsage) continue;
            sawUsageChunk = true;
          } else if (call.record.ttftMs === null && chunk.choices.some((c) => c.delta.content || c.delta.tool_calls)) {
            call.markFirstToken();
          }
          controller.enqueue(encoder.encode(`data: ${data}\n\n`));
          return;
        }
      } catch (thrown) {
        const err = toGatewayError(thrown);
        if (err.code === 'internal_error') deps.logger.error('stream failed', { callId: call.record.id, err: String(thrown) });
        finishUsage();
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(openaiErrorBody(err))}\n\n`));
        controller.close();
        hooks?.abandon();
        call.finishError(err, assembler.toCompletion());
      }
    },
    cancel() {
      stream.cancel();
      void iterator.return?.(undefined).catch(() => {});
      finishUsage();
      hooks?.abandon();
      call.finishError(new GatewayError('client_aborted', 'the client closed the connection'), assembler.toCompletion());
    },
  });
  return new Response(body, {
    status: 200,
    headers: { ...plan.headers, ...SSE_HEADERS, 'x-sluice-overhead-ms': (call.record.overheadMs ?? 0).toFixed(3) },
  });
}

function usageChunkFor(last: ChatCompletionChunk, usage: NormalizedUsage): ChatCompletionChunk {
  return { id: last.id, object: 'chat.completion.chunk', created: last.created, model: last.model, choices: [], usage: openaiUsageFromNormalized(usage) };
}
