import type { NormalizedUsage } from '../../core/usage.ts';

/** One provider try within a call. */
export interface Attempt {
  provider: string;
  model: string;
  /** Upstream HTTP status, or null when no response arrived (connection error, timeout). */
  status: number | null;
  /** Gateway error code when the try failed. */
  error: string | null;
  latencyMs: number;
}

/** How a call ended, as its tracker records it. */
export type CallStatus = 'ok' | 'upstream_error' | 'client_error' | 'client_aborted' | 'gateway_error';
/**
 * What a stored row can say: also `interrupted`, a stream the gateway process died in the
 * middle of (issue 21). Only write-ahead log recovery writes it, never a live tracker.
 */
export type StoredCallStatus = CallStatus | 'interrupted';
export const STORED_CALL_STATUSES = ['ok', 'upstream_error', 'client_error', 'client_aborted', 'gateway_error', 'interrupted'] as const satisfies readonly StoredCallStatus[];
export type CostStatus = 'exact' | 'estimated' | 'unpriced';
export type CallEndpoint = 'chat.completions' | 'embeddings' | 'messages' | 'responses';

/**
 * Everything the call log keeps about one call (issue 3). Built on the request path with
 * plain assignments, handed to the log sink once, and written to Postgres off the hot path.
 */
export interface CallRecord {
  id: string;
  requestId: string;
  /** The W3C trace id of the call's server span (DESIGN §4.5); null when untraced. */
  traceId: string | null;
  startedAt: Date;
  endpoint: CallEndpoint;
  apiKeyId: string | null;
  route: string | null;
  variant: string | null;
  /** The subject's A/B draw in [0, 1) when a route split traffic. */
  assignment: number | null;
  /** A fallback target (not the route's chosen one) served the call. */
  fallbackUsed: boolean;
  shadow: boolean;
  parentCallId: string | null;
  provider: string | null;
  model: string | null;
  promptName: string | null;
  promptVersion: number | null;
  stream: boolean;
  status: CallStatus;
  httpStatus: number;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: Attempt[];
  latencyMs: number;
  ttftMs: number | null;
  overheadMs: number | null;
  usage: NormalizedUsage | null;
  costMicros: number | null;
  costStatus: CostStatus;
  /** On a cache hit: what the original call cost (the hit itself costs 0). */
  costSavedMicros: number | null;
  cacheStatus: 'hit' | 'miss' | 'bypass' | null;
  user: string | null;
  metadata: Record<string, string> | null;
  retrievedDocIds: string[] | null;
  retrievalMs: number | null;
  /** Retrieval details for the payload table (query, documents and scores, injected text). */
  rag: unknown;
  /** Bodies go to the payload table (capped and redacted by the writer). */
  requestBody: unknown;
  responseBody: unknown;
  /**
   * The client's body as sent to its face, when it differs from `requestBody` (another face's
   * format, or a registry prompt rendered into it); null otherwise. `sluice replay` sends it.
   */
  faceRequest: unknown;
}

/**
 * A call's row begun while its upstream call is out (call-row.ts `startCallRow`), so the
 * write-ahead log builds only the rest before the answer goes out (issue 21). Whoever holds
 * one drops it when a field of the head changes (the tracker's setters do); `toCallRow` also
 * checks the call, its target and its bodies, and builds the row whole when they differ.
 */
export interface RowStart {
  /** The row's opening, `["<id>",…` through the fields fixed before the upstream call (no closing bracket). */
  readonly head: string;
  /** What the head and bodies were built from, checked at use. */
  readonly id: string;
  readonly provider: string | null;
  readonly model: string | null;
  readonly requestBody: unknown;
  readonly faceRequest: unknown;
  /** The request bodies, capped and redacted (null: not kept for this call). */
  readonly request: { readonly json: string | null; readonly truncated: boolean } | null;
  readonly face: { readonly json: string | null; readonly truncated: boolean } | null;
}

/** Where finished call records go. Must never block or throw on the request path. */
export interface CallSink {
  /** `start`: the row begun during the upstream wait (`startRow`), if it was. */
  enqueue(record: CallRecord, start?: RowStart | null): void;
  /**
   * For a sink that builds rows before the answer goes out (the write-ahead log): the row's
   * fixed part, built off the answer path while the upstream call is out; null when it has no
   * use for one.
   */
  startRow?: ((record: Readonly<CallRecord>) => RowStart | null) | undefined;
  /**
   * Write-ahead hooks (issue 21), for a sink that keeps a local log: a stream started (its
   * record so far), and a stream's last byte is about to go out (its record as answered).
   * A JSON answer needs neither: it is finished, and so enqueued, before its body is sent.
   */
  streamOpened?(record: Readonly<CallRecord>, start?: RowStart | null): void;
  streamAnswered?(record: Readonly<CallRecord>, start?: RowStart | null): void;
}

export const discardSink: CallSink = { enqueue() {} };
