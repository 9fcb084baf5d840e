/** Public types of the fake provider. See `../fake-provider.ts` for the documented behaviour. */

export interface FakeProviderOptions {
  /**
   * If set, requests must carry it: OpenAI-style routes via `Authorization: Bearer <key>`,
   * Anthropic-style routes via `x-api-key` (or `Authorization: Bearer` when x-api-key is absent).
   * Missing/wrong -> 401 in that provider's error format.
   */
  apiKey?: string;
  /** Model ids served by `GET /v1/models` (default: {@link DEFAULT_MODELS}). */
  models?: string[];
  /** Embedding vector length when the request has no `dimensions` (default 8). */
  embeddingDimensions?: number;
  /** How the fake Anthropic model can be asked for JSON (default 'structured_outputs'); see {@link AnthropicJson}. */
  anthropicJson?: AnthropicJson;
}

/**
 * - 'structured_outputs': a model with structured outputs: `output_config.format` json_schema
 *   is honoured (the text is JSON that fits the schema); tools work as always.
 * - 'forced_tool': a model without them: `output_config` is ignored and the answer is plain
 *   text; only a tool call (e.g. a forced one) yields JSON.
 * In both, a system prompt asking for JSON is not followed: the answer stays plain text.
 */
export type AnthropicJson = 'structured_outputs' | 'forced_tool';

export interface RecordedRequest {
  method: string;
  /** Path including the query string, e.g. `/v1/models?limit=5`. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or the raw string if not JSON; `undefined` when the body was empty. */
  body: unknown;
  /** True if the client closed the connection before the response finished. */
  aborted: boolean;
}

export type Fault =
  | { status: number; body?: unknown; headers?: Record<string, string>; echoHeaders?: true }
  | { reset: true }
  | { delayMs: number }
  | { hang: true }
  | { cutAfterChunks: number }
  | { malformed: true }
  | { dripMs: number }
  | { streamError: { message: string; type?: string } }
  | { afterAnswers: number; status?: number; body?: unknown };

export type QueuedFault = Fault & { path?: string };

export interface UsageOverride {
  prompt: number;
  completion: number;
  cached: number;
  cacheWrite: number;
  reasoning: number;
}

export interface FakeProvider {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `${url}/v1` */
  openaiBaseUrl: string;
  /** `url` (Anthropic base URLs are the host root). */
  anthropicBaseUrl: string;
  requests: RecordedRequest[];
  /** One-shot, FIFO; each applies to the next request (whose path matches, if `path` is given). */
  enqueue(...faults: QueuedFault[]): void;
  /** Override the reply text; `null` restores the default. */
  setReply(fn: ((req: unknown) => string) | null): void;
  /** Override reported usage; `null` restores the computed usage. */
  setUsage(u: Partial<UsageOverride> | null): void;
  /**
   * Script the tool calls (both formats, and /v1/responses): when the fake would call tools,
   * `fn(body)` may name the calls and their arguments instead; `undefined` from it (or `null`
   * here) keeps the default choice. Reset by `reset()`.
   */
  setToolCalls(fn: ((body: unknown) => ScriptedToolCall[] | undefined) | null): void;
  /** Switch how the fake Anthropic model can be asked for JSON; `null` restores the option's. */
  setAnthropicJson(mode: AnthropicJson | null): void;
  /** Responses sent in full since start or `reset()` (what `afterAnswers` counts). */
  answered(): number;
  /** Clear requests, queued faults, overrides and the tool-call id counter. */
  reset(): void;
  /** Stop listening and destroy open sockets, including hung ones. */
  close(): Promise<void>;
}

/** One tool call the fake makes when scripted (setToolCalls). */
export interface ScriptedToolCall {
  name: string;
  input: Record<string, unknown>;
}

export const DEFAULT_MODELS: readonly string[] = [
  'gpt-4o-mini',
  'gpt-4o',
  'text-embedding-3-small',
  'claude-sonnet-4-6',
  'claude-haiku-4-5',
];

/** What a route handler decided to answer, before faults shape the delivery. */
export type Plan = JsonPlan | SsePlan;

export interface JsonPlan {
  kind: 'json';
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface SsePlan {
  kind: 'sse';
  /** Fully formatted SSE events (each ends with a blank line). */
  events: string[];
  /** Index of the first event carrying content; `streamError` is sent right after it. */
  firstContentIndex: number;
  /** A syntactically broken event for the `malformed` fault. */
  malformedEvent: string;
  /** The provider's in-stream error event. */
  errorEvent: (message: string, type?: string) => string;
}

/** Per-request state shared by the handlers. */
export interface HandlerContext {
  reply: ((req: unknown) => string) | null;
  usage: Partial<UsageOverride> | null;
  models: readonly string[];
  embeddingDimensions: number;
  anthropicJson: AnthropicJson;
  /** Scripted tool calls (setToolCalls), or null. */
  toolCalls: ((body: unknown) => ScriptedToolCall[] | undefined) | null;
  /** Next tool-call number (`call_<n>` / `toolu_<n>`); per server, from 1, reset by `reset()`. */
  nextToolId: () => number;
}
