import { prepareBody, type PayloadPolicy } from './payloads.ts';
import type { CallRecord, StoredCallStatus } from './record.ts';
import { cleanMetadata, cleanName, cleanText, TEXT_LIMITS } from './record-text.ts';
import type { StoredAttempt } from './schema.ts';

/**
 * A call record as one line of JSON whose keys are the `calls` columns (plus the payload
 * columns). It is both what the batch insert reads with `json_to_recordset` and what the
 * spool file holds, so spooled records are already capped and redacted.
 */
export type CallRowJson = string;

const INDEXED_MAX = TEXT_LIMITS.indexed;
/**
 * Retries, fallbacks and an `n` fan-out stay far below this; past it the first tries and the
 * last one (the one that answered) are kept, so a pathological chain cannot swell the row.
 */
const ATTEMPTS_MAX = 128;

const finite = (n: number | null | undefined): number | null =>
  typeof n === 'number' && Number.isFinite(n) ? n : null;
const int = (n: number | null | undefined): number | null => {
  const v = finite(n);
  return v === null ? null : Math.max(-2147483648, Math.min(2147483647, Math.round(v)));
};

function attempt(a: CallRecord['attempts'][number], policy: PayloadPolicy): StoredAttempt {
  // The model is the client's string (NUL, lone surrogates, any length): jsonb would refuse it.
  return {
    provider: cleanName(a.provider) ?? '',
    model: cleanText(a.model, policy, INDEXED_MAX) ?? '',
    status: a.status,
    error: cleanName(a.error),
    latency_ms: finite(a.latencyMs) ?? 0,
  };
}

function attempts(list: CallRecord['attempts'], policy: PayloadPolicy): StoredAttempt[] {
  if (list.length <= ATTEMPTS_MAX) return list.map((a) => attempt(a, policy));
  const out = list.slice(0, ATTEMPTS_MAX - 1).map((a) => attempt(a, policy));
  out.push(attempt(list[list.length - 1]!, policy));
  return out;
}

// Retrieved ids come from the corpus, not the client, but a route's top_k is its own business.
const DOC_IDS_MAX = 256;

function docIds(ids: string[] | null): string[] | null {
  if (!ids) return null;
  const n = Math.min(ids.length, DOC_IDS_MAX);
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = cleanName(String(ids[i]))!;
  return out;
}

const TRACE_ID = /^[0-9a-f]{32}$/;

/** Only a well-formed W3C trace id is stored (the tracer parsed it; a replayed spool may not have). */
function traceId(id: string | null | undefined): string | null {
  return typeof id === 'string' && TRACE_ID.test(id) ? id : null;
}

/**
 * The record as a row (JSON text). Every client string is redacted and capped here (user,
 * metadata, model, error message, request id), and the bodies too when payloads are on.
 * `status` replaces the record's (a write-ahead `opened` row says `interrupted`).
 */
export function toCallRow(r: CallRecord, policy: PayloadPolicy, nowMs: number, status: StoredCallStatus = r.status): CallRowJson {
  const started = r.startedAt instanceof Date && Number.isFinite(r.startedAt.getTime()) ? r.startedAt : new Date(nowMs);
  const u = r.usage;
  const row = {
    id: r.id,
    request_id: cleanText(r.requestId, policy, INDEXED_MAX) ?? '',
    started_at: started.toISOString(),
    endpoint: r.endpoint,
    api_key_id: r.apiKeyId,
    route: cleanName(r.route),
    variant: cleanName(r.variant),
    assignment: finite(r.assignment),
    shadow: r.shadow === true,
    parent_call_id: r.parentCallId,
    provider: cleanName(r.provider),
    model: cleanText(r.model, policy, INDEXED_MAX),
    prompt_name: cleanName(r.promptName),
    prompt_version: int(r.promptVersion),
    stream: r.stream === true,
    status,
    http_status: Math.max(0, Math.min(32767, int(r.httpStatus) ?? 0)),
    error_code: cleanName(r.errorCode),
    // Messages echo client input (a model name, a field's value) and upstream words.
    error_message: cleanText(r.errorMessage, policy, TEXT_LIMITS.message),
    attempts: attempts(r.attempts, policy),
    latency_ms: finite(r.latencyMs) ?? 0,
    ttft_ms: finite(r.ttftMs),
    overhead_ms: finite(r.overheadMs),
    input_tokens: u ? int(u.inputTokens) : null,
    output_tokens: u ? int(u.outputTokens) : null,
    cached_tokens: u ? int(u.cachedInputTokens) : null,
    cache_write_tokens: u ? int(u.cacheWriteTokens) : null,
    reasoning_tokens: u ? int(u.reasoningTokens) : null,
    cost_micros: finite(r.costMicros),
    cost_status: r.costStatus,
    cost_saved_micros: finite(r.costSavedMicros),
    fallback_used: r.fallbackUsed === true,
    cache_status: r.cacheStatus,
    user: cleanText(r.user, policy, INDEXED_MAX),
    metadata: cleanMetadata(r.metadata, policy),
    retrieved_doc_ids: docIds(r.retrievedDocIds),
    retrieval_ms: finite(r.retrievalMs),
    trace_id: traceId(r.traceId),
  };
  const json = JSON.stringify(row);
  if (!policy.enabled) return json;
  const req = prepareBody(r.requestBody, policy);
  const res = prepareBody(r.responseBody, policy);
  const rag = r.rag === null || r.rag === undefined ? null : prepareBody(r.rag, policy);
  const face = r.faceRequest === null || r.faceRequest === undefined ? null : prepareBody(r.faceRequest, policy);
  if (req.json === null && res.json === null && rag?.json == null && face?.json == null) return json;
  // Splice the bodies in as raw JSON: serialised once, never escaped into a string.
  const truncated = req.truncated || res.truncated || rag?.truncated === true || face?.truncated === true;
  return (
    `${json.slice(0, -1)},"has_payload":true,"truncated":${truncated},` +
    `"request":${req.json ?? 'null'},"response":${res.json ?? 'null'},"rag":${rag?.json ?? 'null'},"face_request":${face?.json ?? 'null'}}`
  );
}

/** The call id of a row line, for log messages (no full parse). */
export function rowId(row: CallRowJson): string {
  return row.slice(7, 43);
}
