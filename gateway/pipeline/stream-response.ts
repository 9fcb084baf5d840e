import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CallTracker } from '../calls/tracker.ts';
import { GatewayError, toGatewayError } from '../errors/gateway-error.ts';
import type { ChatStream } from '../providers/types.ts';
import type { NormalizedUsage } from '../../core/usage.ts';
import { ChunkAssembler } from '../streaming/chunk-assembler.ts';
import type { PipelineDeps } from './deps.ts';

const encoder = new TextEncoder();
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' };

/** How a face writes a chat stream in its own wire format. Each method returns SSE text ('' for nothing). */
export interface StreamFramer {
  /** `native`: the upstream's own frame when the stream passes through in the client's format. */
  chunk(chunk: ChatCompletionChunk, data: string, native: string | undefined): string;
  end(usage: NormalizedUsage | null): string;
  error(err: GatewayError): string;
}

/** Told how the stream ended, and asked to price it (unless it was a cache replay). */
export interface StreamLifecycle {
  /** Called once the stream ended; returns nothing. Prices the call, stores it in cache, fires shadow. */
  complete(assembler: ChunkAssembler, usage: NormalizedUsage | null): void;
  /** The stream did not complete (error or client gone). */
  abandon(assembler: ChunkAssembler, usage: NormalizedUsage | null): void;
  /** Work that must finish before the record is (after hooks annotating it); the client is not kept waiting. */
  settled?(): Promise<void>;
}

/**
 * Streams chunks to the client as they arrive, in the face's framing, tapping them into an
 * assembled completion for the call record. A failure mid-stream becomes the face's error
 * event (never a silent truncation); a client that goes away cancels the upstream and is
 * recorded as client_aborted.
 */
export function streamResponse(
  stream: ChatStream,
  call: CallTracker,
  deps: Pick<PipelineDeps, 'logger'>,
  framer: StreamFramer,
  lifecycle: StreamLifecycle,
  headers: Record<string, string>,
): Response {
  const assembler = new ChunkAssembler();
  const iterator = stream[Symbol.asyncIterator]();
  call.markOverhead();
  call.streamOpened();
  // Set when the client went away: a read still in flight then ends quietly, since cancel()
  // already told the lifecycle and finished the record (and the controller is closed).
  let cancelled = false;

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await iterator.next();
          if (cancelled) return;
          if (next.done) {
            const usage = stream.usage();
            lifecycle.complete(assembler, usage);
            const completion = assembler.toCompletion();
            call.beforeLastByte(completion);
            const tail = framer.end(call.record.usage ?? usage);
            if (tail) controller.enqueue(encoder.encode(tail));
            controller.close();
            if (lifecycle.settled) await lifecycle.settled().catch(() => {});
            call.finishOk(completion);
            return;
          }
          const { chunk, data, native } = next.value;
          assembler.add(chunk);
          if (call.record.ttftMs === null && chunk.choices.some((c) => c.delta.content || c.delta.tool_calls)) call.markFirstToken();
          const frames = framer.chunk(chunk, data, native);
          if (frames) {
            controller.enqueue(encoder.encode(frames));
            return;
          }
        }
      } catch (thrown) {
        if (cancelled) return;
        const err = toGatewayError(thrown);
        if (err.code === 'internal_error') deps.logger.error('stream failed', { callId: call.record.id, err: String(thrown) });
        lifecycle.abandon(assembler, stream.usage());
        // Finished (and so logged) before the error event, the stream's last bytes, goes out.
        call.finishError(err, assembler.toCompletion());
        controller.enqueue(encoder.encode(framer.error(err)));
        controller.close();
      }
    },
    cancel() {
      cancelled = true;
      stream.cancel();
      void iterator.return?.(undefined).catch(() => {});
      lifecycle.abandon(assembler, stream.usage());
      call.finishError(new GatewayError('client_aborted', 'the client closed the connection'), assembler.toCompletion());
    },
  });
  return new Response(body, {
    status: 200,
    headers: { ...headers, ...SSE_HEADERS, 'x-sluice-overhead-ms': (call.record.overheadMs ?? 0).toFixed(3) },
  });
}

/** A complete answer (a cache hit) replayed as a stream of chunks. */
export function replayStream(chunks: readonly ChatCompletionChunk[], usage: NormalizedUsage | null): ChatStream {
  let i = 0;
  const iterator: AsyncIterator<{ data: string; chunk: ChatCompletionChunk }> = {
    async next() {
      const chunk = chunks[i++];
      return chunk ? { done: false, value: { chunk, data: JSON.stringify(chunk) } } : { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator, usage: () => usage, cancel() {} };
}
