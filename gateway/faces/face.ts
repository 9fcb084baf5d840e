import type { AuthenticatedKey } from '../auth/key-store.ts';
import type { CallEndpoint } from '../calls/record.ts';
import type { CallTracker } from '../calls/tracker.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { CallInput } from '../pipeline/call-input.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { runChat, type JsonRun } from '../pipeline/run-chat.ts';
import { streamResponse, type StreamFramer } from '../pipeline/stream-response.ts';
import { passThroughBody, type NativeBody } from '../providers/types.ts';

/** What a face's handler is given besides the request: the caller's key and the pipeline. */
export interface FaceContext {
  key: AuthenticatedKey;
  pipeline: PipelineDeps;
}

/**
 * One client-facing API (OpenAI chat completions, embeddings, Anthropic messages, Responses):
 * the path it serves, the call endpoint its records carry, how it handles a request, and the
 * shape its errors take. The route wrapper (http/routes/inference.ts) is the same for all:
 * track the call, authenticate, bound the body, read JSON, hand it to `handle`; the error
 * handler renders failures with the face's `errorBody`.
 */
export interface Face {
  readonly endpoint: CallEndpoint;
  readonly path: string;
  errorBody(err: GatewayError): unknown;
  handle(input: CallInput, call: CallTracker, ctx: FaceContext): Promise<Response>;
}

/** A client request read by a chat face. */
export interface ParsedChat<State> {
  /** The canonical chat request body the shared pipeline runs. */
  chat: Record<string, unknown>;
  /** The client's own body, when a provider speaking this format may be sent it as written. */
  native?: NativeBody | undefined;
  /** Whether `chat` is a translation of the client's body (then the record keeps the original too). */
  translated: boolean;
  /** What the face needs again to render the answer. */
  state: State;
  /**
   * Tools the translation left out (hosted / server tools no other upstream runs). When the
   * call is translated they are named in `x-sluice-dropped-tools` and a warning is logged; a
   * pass-through sends them as written.
   */
  dropped?: readonly string[] | undefined;
}

export const DROPPED_TOOLS_HEADER = 'x-sluice-dropped-tools';

/**
 * A face over the chat pipeline, as four steps: parse the client's body into a chat request,
 * render a complete answer, frame a stream, and shape errors. `chatFace` turns them into a
 * Face; the pipeline in between (routing, prompts, cache, providers, pricing) is shared.
 */
export interface ChatFaceSpec<State> {
  readonly endpoint: CallEndpoint;
  readonly path: string;
  errorBody(err: GatewayError): unknown;
  parse(input: CallInput, ctx: FaceContext): ParsedChat<State> | Promise<ParsedChat<State>>;
  /** A complete answer as this face's JSON text. */
  render(run: JsonRun, state: State, call: CallTracker): string;
  /** How this face writes a stream of the answer. */
  frame(state: State, call: CallTracker, run: { clientWantsUsage: boolean }): StreamFramer;
}

export function chatFace<State>(spec: ChatFaceSpec<State>): Face {
  return {
    endpoint: spec.endpoint,
    path: spec.path,
    errorBody: (err) => spec.errorBody(err),
    async handle(input, call, ctx) {
      const parsed = await spec.parse(input, ctx);
      const run = await runChat(
        { ...input, body: parsed.chat, native: parsed.native, clientBody: parsed.translated ? input.body : undefined },
        call,
        ctx.pipeline,
      );
      const headers = { ...run.headers, ...droppedHeader(parsed.dropped, run, call, ctx) };
      if (run.kind === 'json') {
        const text = spec.render(run, parsed.state, call);
        return new Response(text, { status: 200, headers: { ...headers, 'content-type': 'application/json' } });
      }
      const framer = spec.frame(parsed.state, call, { clientWantsUsage: run.plan.req.stream_options?.include_usage === true });
      return streamResponse(run.stream, call, ctx.pipeline, framer, run.lifecycle, headers);
    },
  };
}

/** The dropped-tools header and warning, unless the provider that answered was sent the client's own body. */
function droppedHeader(
  dropped: readonly string[] | undefined,
  run: Awaited<ReturnType<typeof runChat>>,
  call: CallTracker,
  ctx: FaceContext,
): Record<string, string> {
  if (!dropped || dropped.length === 0) return {};
  const target = run.plan.targets.find((t) => t.provider.name === call.record.provider) ?? run.plan.targets[0];
  if (target && passThroughBody(target.provider, run.plan.upstream)) return {};
  const names = [...new Set(dropped)].join(', ');
  ctx.pipeline.logger.warn('tools the upstream cannot run were dropped from the request', { callId: call.record.id, provider: call.record.provider, tools: names });
  return { [DROPPED_TOOLS_HEADER]: names };
}
