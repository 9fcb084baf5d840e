import { capturesPayload, prepareBody, type PayloadPolicy } from './payloads.ts';
import type { CallRecord, RowStart, StoredCallStatus } from './record.ts';
import { cleanMetadata, cleanName, cleanText, TEXT_LIMITS } from './record-text.ts';

/**
 * A call record as one line of JSON: an array of the `calls` columns' values (and the payload
 * columns'), in row-fields.ts `ROW_FIELDS` order. What the batch insert reads, and what the
 * write-ahead log and the spool hold, so spooled records are already capped and redacted.
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

/** A JSON string literal; JSON.stringify only when something needs escaping (it costs a call each). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
function q(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}
const qn = (s: string | null): string => (s === null ? 'null' : q(s));
/** A number as JSON (`finite` already made it null or finite). */
const n = (v: number | null): string => (v === null ? 'null' : String(v));

function attempt(a: CallRecord['attempts'][number], policy: PayloadPolicy): string {
  // The model is the client's string (NUL, lone surrogates, any length): jsonb would refuse it.
  const status = typeof a.status === 'number' && Number.isFinite(a.status) ? String(a.status) : 'null';
  return (
    `{"provider":${q(cleanName(a.provider) ?? '')},"model":${q(cleanText(a.model, policy, INDEXED_MAX) ?? '')},` +
    `"status":${status},"error":${qn(cleanName(a.error))},"latency_ms":${n(finite(a.latencyMs) ?? 0)}}`
  );
}

function attempts(list: CallRecord['attempts'], policy: PayloadPolicy): string {
  const picked = list.length <= ATTEMPTS_MAX ? list : [...list.slice(0, ATTEMPTS_MAX - 1), list[list.length - 1]!];
  let out = '[';
  for (let i = 0; i < picked.length; i++) out += (i ? ',' : '') + attempt(picked[i]!, policy);
  return `${out}]`;
}

// Retrieved ids come from the corpus, not the client, but a route's top_k is its own business.
const DOC_IDS_MAX = 256;

function docIds(ids: string[] | null): string {
  if (!ids) return 'null';
  const count = Math.min(ids.length, DOC_IDS_MAX);
  let out = '[';
  for (let i = 0; i < count; i++) out += (i ? ',' : '') + q(cleanName(String(ids[i]))!);
  return `${out}]`;
}

function metadata(m: Record<string, string> | null): string {
  if (m === null) return 'null';
  let out = '{';
  let first = true;
  for (const k in m) {
    out += `${first ? '' : ','}${q(k)}:${q(m[k]!)}`;
    first = false;
  }
  return `${out}}`;
}

const TRACE_ID = /^[0-9a-f]{32}$/;

/** Only a well-formed W3C trace id is stored (the tracer parsed it; a replayed spool may not have). */
function traceId(id: string | null | undefined): string | null {
  return typeof id === 'string' && TRACE_ID.test(id) ? id : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids are ours (UUIDs), written as they are; anything else is quoted (and the insert refuses it). */
const uuid = (s: string | null): string => (s === null ? 'null' : UUID.test(s) ? `"${s}"` : q(String(s)));
const bool = (b: unknown): string => (b === true ? 'true' : 'false');

/** Whether this call's bodies are kept: the policy, then its route's capture (payloads.ts). */
function keepsBodies(r: CallRecord, policy: PayloadPolicy): boolean {
  return policy.enabled && capturesPayload(policy, r.route, r.id);
}

/**
 * The row's opening: the fields a call has before its upstream call goes out (id first:
 * `rowId` reads it from the row's start), in `ROW_FIELDS` order. No closing bracket.
 */
function rowHead(r: CallRecord, policy: PayloadPolicy, nowMs: number): string {
  const started = r.startedAt instanceof Date && Number.isFinite(r.startedAt.getTime()) ? r.startedAt : new Date(nowMs);
  const trace = traceId(r.traceId);
  return (
    `[${uuid(r.id)},${q(cleanText(r.requestId, policy, INDEXED_MAX) ?? '')},"${started.toISOString()}",` +
    `${q(r.endpoint)},${uuid(r.apiKeyId)},${qn(cleanName(r.route))},${qn(cleanName(r.variant))},` +
    `${n(finite(r.assignment))},${bool(r.shadow)},${uuid(r.parentCallId)},` +
    `${qn(cleanName(r.provider))},${qn(cleanText(r.model, policy, INDEXED_MAX))},` +
    `${qn(cleanName(r.promptName))},${n(int(r.promptVersion))},${bool(r.stream)},` +
    `${qn(cleanText(r.user, policy, INDEXED_MAX))},${metadata(cleanMetadata(r.metadata, policy))},` +
    `${docIds(r.retrievedDocIds)},${n(finite(r.retrievalMs))},${trace === null ? 'null' : `"${trace}"`}`
  );
}

/**
 * What of a call's row can be built while its upstream call is out: the head and the request
 * bodies (the write-ahead log then builds only the outcome before the answer goes out).
 */
export function startCallRow(r: Readonly<CallRecord>, policy: PayloadPolicy, nowMs: number): RowStart {
  const keeps = keepsBodies(r, policy);
  return {
    head: rowHead(r, policy, nowMs),
    id: r.id,
    provider: r.provider,
    model: r.model,
    requestBody: r.requestBody,
    faceRequest: r.faceRequest,
    request: keeps ? prepareBody(r.requestBody, policy) : null,
    face: keeps && r.faceRequest !== null && r.faceRequest !== undefined ? prepareBody(r.faceRequest, policy) : null,
  };
}

/**
 * The record as a row (JSON text, written out field by field in `ROW_FIELDS` order: a
 * generic JSON.stringify of a row object cost three times as much). Every client string is
 * redacted and capped here (user, metadata, model, error message, request id), and the bodies
 * too when payloads are on for the call's route. `status` replaces the record's (a write-ahead
 * `opened` row says `interrupted`). `start` supplies the head and the request bodies
 * (`startCallRow`) when it is this call's, for the same target (a fallback changes it); its
 * holder drops it when another head field changes (record.ts `RowStart`).
 */
export function toCallRow(r: CallRecord, policy: PayloadPolicy, nowMs: number, status: StoredCallStatus = r.status, start?: RowStart | null): CallRowJson {
  const begun = start && start.id === r.id && start.provider === r.provider && start.model === r.model ? start : null;
  const u = r.usage;
  const json =
    (begun ? begun.head : rowHead(r, policy, nowMs)) +
    `,${q(status)},${Math.max(0, Math.min(32767, int(r.httpStatus) ?? 0))},${qn(cleanName(r.errorCode))},` +
    // Messages echo client input (a model name, a field's value) and upstream words.
    `${qn(cleanText(r.errorMessage, policy, TEXT_LIMITS.message))},${attempts(r.attempts, policy)},` +
    `${n(finite(r.latencyMs) ?? 0)},${n(finite(r.ttftMs))},${n(finite(r.overheadMs))},` +
    `${n(u ? int(u.inputTokens) : null)},${n(u ? int(u.outputTokens) : null)},` +
    `${n(u ? int(u.cachedInputTokens) : null)},${n(u ? int(u.cacheWriteTokens) : null)},` +
    `${n(u ? int(u.reasoningTokens) : null)},${n(finite(r.costMicros))},${q(r.costStatus)},` +
    `${n(finite(r.costSavedMicros))},${bool(r.fallbackUsed)},${qn(r.cacheStatus)}`;
  if (!keepsBodies(r, policy)) return `${json}]`;
  const req = begun?.request && begun.requestBody === r.requestBody ? begun.request : prepareBody(r.requestBody, policy);
  const res = prepareBody(r.responseBody, policy);
  const rag = r.rag === null || r.rag === undefined ? null : prepareBody(r.rag, policy);
  const face =
    r.faceRequest === null || r.faceRequest === undefined
      ? null
      : begun?.face && begun.faceRequest === r.faceRequest
        ? begun.face
        : prepareBody(r.faceRequest, policy);
  if (req.json === null && res.json === null && rag?.json == null && face?.json == null) return `${json}]`;
  // Splice the bodies in as raw JSON: serialised once, never escaped into a string.
  const truncated = req.truncated || res.truncated || rag?.truncated === true || face?.truncated === true;
  return (
    `${json},true,${truncated},` +
    `${req.json ?? 'null'},${res.json ?? 'null'},${rag?.json ?? 'null'},${face?.json ?? 'null'}]`
  );
}

