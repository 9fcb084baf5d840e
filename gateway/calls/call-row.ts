import { scrubSecrets } from '../providers/scrub-secrets.ts';
import { prepareBody, storableText, type PayloadPolicy } from './payloads.ts';
import type { CallRecord } from './record.ts';
import type { StoredAttempt } from './schema.ts';

/**
 * A call record as one line of JSON whose keys are the `calls` columns (plus the payload
 * columns). It is both what the batch insert reads with `json_to_recordset` and what the
 * spool file holds, so spooled records are already capped and redacted.
 */
export type CallRowJson = string;

// Indexed text columns: a btree entry over ~2.7 kB fails the insert, so keep them short.
const INDEXED_MAX = 512;
const MESSAGE_MAX = 2000;

function text(s: string | null | undefined, max: number): string | null {
  if (s === null || s === undefined) return null;
  return storableText(s.length > max ? s.slice(0, max) : s);
}

const finite = (n: number | null | undefined): number | null =>
  typeof n === 'number' && Number.isFinite(n) ? n : null;
const int = (n: number | null | undefined): number | null => {
  const v = finite(n);
  return v === null ? null : Math.max(-2147483648, Math.min(2147483647, Math.round(v)));
};

function attempts(list: CallRecord['attempts']): StoredAttempt[] {
  const out: StoredAttempt[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    // The model is the client's string (NUL, lone surrogates): jsonb would refuse the row.
    out[i] = {
      provider: storableText(a.provider),
      model: storableText(a.model),
      status: a.status,
      error: a.error,
      latency_ms: finite(a.latencyMs) ?? 0,
    };
  }
  return out;
}

function metadata(m: Record<string, string> | null): Record<string, string> | null {
  if (!m) return null;
  const out: Record<string, string> = {};
  for (const k of Object.keys(m)) {
    const v = m[k];
    out[storableText(k)] = typeof v === 'string' ? storableText(v) : String(v);
  }
  return out;
}

function docIds(ids: string[] | null): string[] | null {
  if (!ids) return null;
  const out: string[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = storableText(String(ids[i]));
  return out;
}

/** The record as a row (JSON text). Bodies are capped and redacted here when payloads are on. */
export function toCallRow(r: CallRecord, payloads: PayloadPolicy, nowMs: number): CallRowJson {
  const started = r.startedAt instanceof Date && Number.isFinite(r.startedAt.getTime()) ? r.startedAt : new Date(nowMs);
  const u = r.usage;
  const row = {
    id: r.id,
    request_id: text(r.requestId, INDEXED_MAX) ?? '',
    started_at: started.toISOString(),
    endpoint: r.endpoint,
    api_key_id: r.apiKeyId,
    route: text(r.route, INDEXED_MAX),
    variant: text(r.variant, INDEXED_MAX),
    assignment: finite(r.assignment),
    shadow: r.shadow === true,
    parent_call_id: r.parentCallId,
    provider: text(r.provider, INDEXED_MAX),
    model: text(r.model, INDEXED_MAX),
    prompt_name: text(r.promptName, INDEXED_MAX),
    prompt_version: int(r.promptVersion),
    stream: r.stream === true,
    status: r.status,
    http_status: Math.max(0, Math.min(32767, int(r.httpStatus) ?? 0)),
    error_code: text(r.errorCode, INDEXED_MAX),
    error_message: r.errorMessage === null ? null : text(scrubSecrets(r.errorMessage, []), MESSAGE_MAX),
    attempts: attempts(r.attempts),
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
    user: text(r.user, INDEXED_MAX),
    metadata: metadata(r.metadata),
    retrieved_doc_ids: docIds(r.retrievedDocIds),
    retrieval_ms: finite(r.retrievalMs),
  };
  const json = JSON.stringify(row);
  if (!payloads.enabled) return json;
  const req = prepareBody(r.requestBody, payloads);
  const res = prepareBody(r.responseBody, payloads);
  const rag = r.rag === null || r.rag === undefined ? null : prepareBody(r.rag, payloads);
  if (req.json === null && res.json === null && rag?.json == null) return json;
  // Splice the bodies in as raw JSON: serialised once, never escaped into a string.
  const truncated = req.truncated || res.truncated || rag?.truncated === true;
  return (
    `${json.slice(0, -1)},"has_payload":true,"truncated":${truncated},` +
    `"request":${req.json ?? 'null'},"response":${res.json ?? 'null'},"rag":${rag?.json ?? 'null'}}`
  );
}

/** The call id of a row line, for log messages (no full parse). */
export function rowId(row: CallRowJson): string {
  return row.slice(7, 43);
}
