import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CallTracker } from '../calls/tracker.ts';
import { estimatePromptTokens, estimateTextTokens } from '../cost/estimate-tokens.ts';
import { formatUsd } from '../cost/pricing.ts';
import { GatewayError, toGatewayError } from '../errors/gateway-error.ts';
import { openaiErrorBody } from '../errors/render.ts';
import type { CallContext, ChatRequest, ChatStream } from '../providers/types.ts';
import { openaiUsageFromNormalized, type NormalizedUsage } from '../providers/usage.ts';
import { ChunkAssembler } from '../streaming/chunk-assembler.ts';
import { applyPrompt } from './apply-prompt.ts';
import { chatRequestSchema } from './chat-schema.ts';
import type { PipelineDeps } from './deps.ts';
import { retryPolicyFor } from './deps.ts';
import { withRetry } from './retry.ts';
import { validate } from './validate.ts';

const encoder = new TextEncoder();
const DONE = encoder.encode('data: [DONE]\n\n');
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' };

/** What a face hands the pipeline: the parsed body, request headers and the client's signal. */
export interface CallInput {
  body: Record<string, unknown>;
  header(name: string): string | undefined;
  signal: AbortSignal;
}

/** POST /v1/chat/completions, after auth and body parsing. */
export async function chatCompletions(input: CallInput, call: CallTracker, deps: PipelineDeps): Promise<Response> {
  const { signal } = input;
  call.record.requestBody = input.body;
  const { body, applied } = await applyPrompt(input.body, input.header('x-sluice-prompt'), deps.prompts);
  const extraHeaders: Record<string, string> = {};
  if (applied) {
    call.record.promptName = applied.name;
    call.record.promptVersion = applied.version;
    call.record.requestBody = body;
    extraHeaders['x-sluice-prompt-version'] = `${applied.name}@${applied.version}`;
  }
  const req = validate(chatRequestSchema, body) as unknown as ChatRequest;
  call.record.stream = req.stream === true;
  if (typeof req.user === 'string') call.record.user = req.user;
  if (req.metadata) call.record.metadata = req.metadata as Record<string, string>;

  const target = deps.resolveModel(req.model);
  call.setTarget(target.provider, target.model);
  const ctx: CallContext = { signal, attempts: call.attempts };
  const retry = {
    policy: retryPolicyFor(target.provider),
    provider: target.provider.name,
    model: target.model,
    attempts: call.attempts,
    signal,
    now: deps.now,
    random: deps.random,
    onWait: (ms: number) => call.addWait(ms),
  };

  if (req.stream === true) {
    const stream = await withRetry(() => target.provider.chatStream(req, target.model, ctx), retry);
    return streamResponse(stream, req, call, deps, extraHeaders);
  }

  const result = await withRetry(() => target.provider.chat(req, target.model, ctx), retry);
  let usage = result.usage;
  let estimated = false;
  if (!usage) {
    usage = estimateUsage(req, contentOf(result.body), target.model);
    estimated = true;
  }
  const cost = call.price(usage, estimated, 'chat');
  const headers: Record<string, string> = {
    ...extraHeaders,
    'content-type': 'application/json',
    'x-sluice-overhead-ms': call.overheadMs().toFixed(3),
  };
  if (cost !== null) headers['x-sluice-cost-usd'] = formatUsd(cost);
  call.finishOk(result.body);
  return new Response(result.text, { status: 200, headers });
}

function contentOf(body: Record<string, unknown>): string {
  const choices = body.choices as Array<{ message?: { content?: unknown } }> | undefined;
  return (choices ?? []).map((c) => (typeof c.message?.content === 'string' ? c.message.content : '')).join('');
}

/** When the upstream reports no usage: a tiktoken estimate, marked as such. */
function estimateUsage(req: ChatRequest, output: string, model: string): NormalizedUsage {
  return {
    inputTokens: estimatePromptTokens(req.messages as unknown[], model),
    outputTokens: estimateTextTokens(output, model),
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
}

/**
 * Streams chunks to the client as they arrive, tapping them into an assembled completion for
 * the call record. The usage chunk the gateway asked for is passed on only if the client asked
 * for it too. A failure mid-stream becomes an SSE error event (never a silent truncation); a
 * client that goes away cancels the upstream and is recorded as client_aborted.
 */
function streamResponse(
  stream: ChatStream,
  req: ChatRequest,
  call: CallTracker,
  deps: PipelineDeps,
  extraHeaders: Record<string, string>,
): Response {
  const clientWantsUsage = req.stream_options?.include_usage === true;
  const assembler = new ChunkAssembler();
  const iterator = stream[Symbol.asyncIterator]();
  let sawUsageChunk = false;
  let last: ChatCompletionChunk | undefined;
  call.record.overheadMs = call.overheadMs();
  const target = { model: call.record.model ?? '' };

  const finishUsage = (): number | null => {
    let usage = stream.usage();
    let estimated = false;
    if (!usage) {
      usage = estimateUsage(req, assembler.text(), target.model);
      estimated = true;
    }
    return call.price(usage, estimated, 'chat');
  };

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
        call.finishError(err, assembler.toCompletion());
      }
    },
    cancel() {
      stream.cancel();
      void iterator.return?.(undefined).catch(() => {});
      finishUsage();
      call.finishError(clientAborted(), assembler.toCompletion());
    },
  });
  return new Response(body, {
    status: 200,
    headers: { ...extraHeaders, ...SSE_HEADERS, 'x-sluice-overhead-ms': (call.record.overheadMs ?? 0).toFixed(3) },
  });
}

function clientAborted(): GatewayError {
  return new GatewayError('client_aborted', 'the client closed the connection');
}

function usageChunkFor(last: ChatCompletionChunk, usage: NormalizedUsage): ChatCompletionChunk {
  return { id: last.id, object: 'chat.completion.chunk', created: last.created, model: last.model, choices: [], usage: openaiUsageFromNormalized(usage) };
}
