import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ChatRequest, EmbeddingsRequest } from '../../core/chat.ts';
import type { ProviderConfig, ProviderType } from '../config/schema.ts';
import type { Attempt } from '../calls/record.ts';
import type { NormalizedUsage } from '../../core/usage.ts';


/**
 * A client format some upstream speaks natively, so a request in it can pass through unchanged:
 * Anthropic Messages (`/v1/messages` → an `anthropic` provider), OpenAI Responses
 * (`/v1/responses` → an `openai` provider).
 */
export type NativeFormat = 'anthropic' | 'openai-responses';

/** The request body exactly as the client wrote it, in its face's own format. */
export interface NativeBody {
  format: NativeFormat;
  body: Record<string, unknown>;
  /** Request headers of that format that go upstream with it (e.g. `anthropic-beta`). */
  headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * What the pipeline asks a provider to send. `chat` is always there (the canonical request);
 * `native` only when the client's own body may go upstream as written: it arrived in a
 * provider's format (`/v1/messages`) and nothing changed it (no prompt rendered, no context
 * injected, no variant params). A provider whose `nativeFormat` matches sends `native.body`;
 * any other translates `chat`. `sentBody` says which, for the cache key and the record.
 */
export interface ProviderRequest {
  chat: ChatRequest;
  native?: NativeBody | undefined;
}

/** Per-call state the pipeline hands to a provider. */
export interface CallContext {
  /** Aborted when the client goes away; cancels the upstream request. */
  signal: AbortSignal;
  /** Every try is appended here, for the call record. */
  attempts: Attempt[];
  /** This try's trace headers (traceparent naming its client span), sent with the upstream request. */
  trace?: Readonly<Record<string, string>> | undefined;
}

/** A complete (non-stream) answer: the OpenAI-format body and the usage it reports. */
export interface JsonResult {
  /** Serialised OpenAI-format body, sent to the client as is (parsed once, never re-serialised for pass-through). */
  text: string;
  body: Record<string, unknown>;
  usage: NormalizedUsage | null;
  /** The upstream's own body text when the call passed through in the client's format. */
  native?: string;
}

/** One OpenAI `chat.completion.chunk` event of a stream. */
export interface StreamChunk {
  /** The JSON text of the event's data line. */
  data: string;
  /** Parsed chunk, for tapping text, tool calls and usage. */
  chunk: ChatCompletionChunk;
  /** Pass-through streams: the upstream's own SSE frame this chunk came from ('' for later chunks of one frame). */
  native?: string;
}

/**
 * An upstream stream that has started (the upstream answered 200). Iterating yields OpenAI
 * chunks; a mid-stream failure throws a GatewayError from the iterator. `usage()` is known
 * once the iterator is done.
 */
export interface ChatStream extends AsyncIterable<StreamChunk> {
  usage(): NormalizedUsage | null;
  /** Releases the upstream connection (client went away). */
  cancel(): void;
}

export interface ModelInfo {
  id: string;
  created: number;
  ownedBy: string;
}

/** A provider adapter: one per configured provider. */
export interface Provider {
  readonly name: string;
  readonly type: ProviderType;
  readonly config: ProviderConfig;
  /**
   * Whether the upstream answers `n` > 1 choices in one request. When false, the pipeline
   * fans out n single-choice calls (gateway/pipeline/fan-out.ts) and `chat`/`chatStream` only
   * ever see requests for one choice. Absent means true: the request is sent as it is.
   */
  readonly nativeN?: boolean;
  /** The client format this upstream speaks, whose bodies it sends as written (ProviderRequest). */
  readonly nativeFormat?: NativeFormat;
  /** Performs one try (the pipeline retries). `model` is the upstream model id. */
  chat(req: ProviderRequest, model: string, ctx: CallContext): Promise<JsonResult>;
  /** Starts a stream; resolves once the upstream accepted it (status 200). */
  chatStream(req: ProviderRequest, model: string, ctx: CallContext): Promise<ChatStream>;
  embeddings(req: EmbeddingsRequest, model: string, ctx: CallContext): Promise<JsonResult>;
  /** Upstream model ids (without the provider prefix). */
  listModels(signal: AbortSignal): Promise<ModelInfo[]>;
  close(): Promise<void>;
}

export type ProviderFactory = (name: string, config: ProviderConfig, deps: ProviderDeps) => Provider;

export interface ProviderDeps {
  now(): number;
}

/** The client's own body when `provider` sends it as written, else undefined (it translates `req.chat`). */
export function passThroughBody(provider: Pick<Provider, 'nativeFormat'>, req: ProviderRequest): Record<string, unknown> | undefined {
  return req.native !== undefined && req.native.format === provider.nativeFormat ? req.native.body : undefined;
}
