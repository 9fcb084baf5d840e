import { and, desc, eq, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Database } from '../db/client.ts';
import { rollupRows } from './rollup.ts';
import type { StoredCallStatus } from './record.ts';
import { callPayloads, calls, type StoredAttempt } from './schema.ts';

/** Filters of `GET /api/calls`; all optional, combined with AND. */
export interface CallFilter {
  since?: Date | undefined;
  until?: Date | undefined;
  route?: string | undefined;
  model?: string | undefined;
  status?: StoredCallStatus | undefined;
  /** API key id. */
  key?: string | undefined;
  user?: string | undefined;
}

/** Position after the last row of a page: its exact (started_at, id). */
export interface CallCursor {
  /** `started_at` as UTC ISO 8601 with microseconds, exactly as stored. */
  startedAt: string;
  id: string;
}

export interface CallView {
  id: string;
  cost_saved_usd: number | null;
  fallback_used: boolean;
  object: 'call';
  request_id: string;
  /** The call's W3C trace id (DESIGN §4.5), when it was traced or the caller sent a traceparent. */
  trace_id: string | null;
  started_at: string;
  endpoint: string;
  api_key_id: string | null;
  route: string | null;
  variant: string | null;
  assignment: number | null;
  shadow: boolean;
  parent_call_id: string | null;
  provider: string | null;
  model: string | null;
  prompt_name: string | null;
  prompt_version: number | null;
  stream: boolean;
  status: string;
  http_status: number;
  error_code: string | null;
  error_message: string | null;
  attempts: StoredAttempt[];
  latency_ms: number;
  ttft_ms: number | null;
  overhead_ms: number | null;
  usage: {
    input_tokens: number | null;
    output_tokens: number | null;
    cached_tokens: number | null;
    cache_write_tokens: number | null;
    reasoning_tokens: number | null;
  } | null;
  cost_micros: number | null;
  cost_usd: number | null;
  cost_status: string;
  cache_status: string | null;
  user: string | null;
  metadata: Record<string, string> | null;
  retrieved_doc_ids: string[] | null;
  retrieval_ms: number | null;
}

export interface CallDetail extends CallView {
  payload: { request: unknown; response: unknown; rag: unknown; face_request: unknown; truncated: boolean } | null;
}

const CURSOR_TS = sql<string>`to_char(${calls.startedAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const CURSOR_SHAPE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f-]{36})$/;

export function encodeCursor(c: CallCursor): string {
  return Buffer.from(`${c.startedAt}|${c.id}`).toString('base64url');
}

/** The cursor inside an opaque string, or null when it is not one of ours. */
export function decodeCursor(s: string): CallCursor | null {
  const m = CURSOR_SHAPE.exec(Buffer.from(s, 'base64url').toString('utf8'));
  return m ? { startedAt: m[1]!, id: m[2]! } : null;
}

function filterConditions(f: CallFilter): SQL[] {
  const where: SQL[] = [];
  if (f.since) where.push(gte(calls.startedAt, f.since));
  if (f.until) where.push(lt(calls.startedAt, f.until));
  if (f.route !== undefined) where.push(eq(calls.route, f.route));
  if (f.model !== undefined) where.push(eq(calls.model, f.model));
  if (f.status !== undefined) where.push(eq(calls.status, f.status));
  if (f.key !== undefined) where.push(eq(calls.apiKeyId, f.key));
  if (f.user !== undefined) where.push(eq(calls.user, f.user));
  return where;
}

/**
 * The page query (exported so bench/calls-query-plan.ts can EXPLAIN the exact SQL). Newest
 * first on (started_at, id), which the primary key index serves backwards and each filter
 * index ends in. The keyset predicate is a row comparison; the extra plain `started_at <=`
 * lets the planner prune the partitions after the cursor.
 */
export function listCallsQuery(database: Pick<Database, 'db'>, filter: CallFilter, limit: number, cursor?: CallCursor) {
  const where = filterConditions(filter);
  if (cursor) {
    where.push(sql`${calls.startedAt} <= ${cursor.startedAt}::timestamptz`);
    where.push(sql`(${calls.startedAt}, ${calls.id}) < (${cursor.startedAt}::timestamptz, ${cursor.id}::uuid)`);
  }
  return database.db
    .select({ call: calls, cursorTs: CURSOR_TS })
    .from(calls)
    .where(and(...where))
    .orderBy(desc(calls.startedAt), desc(calls.id))
    .limit(limit + 1);
}

export async function listCalls(
  database: Pick<Database, 'db'>,
  filter: CallFilter,
  limit: number,
  cursor?: CallCursor,
): Promise<{ data: CallView[]; nextCursor: string | null }> {
  const rows = await listCallsQuery(database, filter, limit, cursor);
  const page = rows.length > limit ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return {
    data: page.map((r) => callView(r.call)),
    nextCursor: rows.length > limit && last ? encodeCursor({ startedAt: last.cursorTs, id: last.call.id }) : null,
  };
}

/** Milliseconds embedded in a UUIDv7, or null for other versions. */
export function uuidv7Ms(id: string): number | null {
  if (id[14] !== '7') return null;
  const ms = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return Number.isFinite(ms) ? ms : null;
}

/** Call ids and their start time come from the same moment; this much slack covers clock steps. */
const ID_WINDOW_MS = 60_000;

/**
 * One call with its payload. The id's own timestamp bounds `started_at`, so the lookup touches
 * one or two day partitions through the primary key instead of probing every partition.
 * Call ids are always UUIDv7, so any other UUID is simply not found (without a full scan).
 */
export async function getCall(database: Pick<Database, 'db'>, id: string): Promise<CallDetail | null> {
  const ms = uuidv7Ms(id);
  if (ms === null) return null;
  const window = (col: typeof calls.startedAt | typeof callPayloads.startedAt): SQL[] => [
    gte(col, new Date(ms - ID_WINDOW_MS)),
    lte(col, new Date(ms + ID_WINDOW_MS)),
  ];
  const rows = await database.db
    .select({ call: calls, payload: callPayloads })
    .from(calls)
    .leftJoin(
      callPayloads,
      and(eq(callPayloads.callId, calls.id), eq(callPayloads.startedAt, calls.startedAt), ...window(callPayloads.startedAt)),
    )
    .where(and(eq(calls.id, id), ...window(calls.startedAt)))
    .limit(1);
  const row = rows[0];
  if (!row) return null;
  const p = row.payload;
  return {
    ...callView(row.call),
    payload: p
      ? { request: p.request ?? null, response: p.response ?? null, rag: p.rag ?? null, face_request: p.faceRequest ?? null, truncated: p.truncated }
      : null,
  };
}

export type UsageGroup = 'day' | 'model' | 'key' | 'team' | 'route';

export interface UsageRow {
  key: string | null;
  calls: number;
  input_tokens: number;
  output_tokens: number;
  /** Sum over priced calls; null when none in the group was priced. */
  cost_usd: number | null;
  /** Calls whose cost is unknown (not counted in cost_usd). */
  unpriced: number;
  errors: number;
  /** Calls answered from the response cache, their share of cache-eligible calls, and what they saved. */
  cache_hits: number;
  cache_hit_rate: number | null;
  cost_saved_usd: number;
}

/**
 * What rows are grouped on, and how the group's key is shown (formatted per group, not per row).
 * `u` is a row of the hourly rollup (or an edge aggregated like one); `k` the key's api_keys row.
 */
const GROUP_KEY: Record<UsageGroup, { by: string; key: string }> = {
  day: { by: `(u.bucket at time zone 'UTC')::date`, key: `to_char((u.bucket at time zone 'UTC')::date, 'YYYY-MM-DD')` },
  model: { by: 'u.model', key: 'u.model' },
  key: { by: 'u.api_key_id', key: 'u.api_key_id::text' },
  route: { by: 'u.route', key: 'u.route' },
  // The team a key belongs to now (calls record the key; a key that moved counts for its new team).
  team: { by: 'k.team_id', key: 'k.team_id::text' },
};

const USAGE_MEASURES = ['calls', 'ok', 'priced', 'cost_micros', 'cost_saved_micros', 'input_tokens', 'output_tokens', 'cache_hits', 'cache_misses'];

/**
 * Totals per day / model / key / team / route over [since, until), exact to the microsecond:
 * whole hours come from the hourly rollup, the ragged edges (under an hour each) from `calls`
 * (gateway/calls/rollup.ts). Hours whose call partitions retention dropped still count (their
 * rollup is kept longer); the edges of such a window find no calls.
 */
export async function usageSummary(
  database: Pick<Database, 'db'>,
  groupBy: UsageGroup,
  range: { since: Date; until: Date },
): Promise<UsageRow[]> {
  const { by, key } = GROUP_KEY[groupBy];
  // Per team: totals per key first, so the key → team look-up runs once per key, not per rollup row.
  const source =
    groupBy === 'team'
      ? sql`(select r.api_key_id, ${sql.raw(USAGE_MEASURES.map((m) => `sum(r.${m}) as ${m}`).join(', '))}
          from ${rollupRows(range, USAGE_MEASURES)} r group by 1) u left join api_keys k on k.id = u.api_key_id`
      : sql`${rollupRows(range, USAGE_MEASURES)} u`;
  const rows = rowsOf<Record<string, unknown>>(
    await database.db.execute(sql`
      select ${sql.raw(key)} as key,
        sum(u.calls)::int as calls,
        coalesce(sum(u.input_tokens), 0)::float8 as input_tokens,
        coalesce(sum(u.output_tokens), 0)::float8 as output_tokens,
        case when sum(u.priced) > 0 then sum(u.cost_micros)::text end as cost_micros,
        (sum(u.calls) - sum(u.priced))::int as unpriced,
        (sum(u.calls) - sum(u.ok))::int as errors,
        sum(u.cache_hits)::int as cache_hits,
        (sum(u.cache_hits) + sum(u.cache_misses))::int as cache_looked,
        sum(u.cost_saved_micros)::text as saved_micros
      from ${source}
      group by ${sql.raw(by)}
      order by ${sql.raw(groupBy === 'day' ? '1' : '2 desc, 1')}`),
  );
  return rows.map((r) => ({
    key: r.key === null || r.key === undefined ? null : String(r.key),
    calls: Number(r.calls),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
    cost_usd: r.cost_micros === null || r.cost_micros === undefined ? null : Number(r.cost_micros) / 1e6,
    unpriced: Number(r.unpriced),
    errors: Number(r.errors),
    cache_hits: Number(r.cache_hits),
    cache_hit_rate: Number(r.cache_looked) > 0 ? Number(r.cache_hits) / Number(r.cache_looked) : null,
    cost_saved_usd: r.saved_micros === null || r.saved_micros === undefined ? 0 : Number(r.saved_micros) / 1e6,
  }));
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

export function callView(c: typeof calls.$inferSelect): CallView {
  const hasUsage =
    c.inputTokens !== null ||
    c.outputTokens !== null ||
    c.cachedTokens !== null ||
    c.cacheWriteTokens !== null ||
    c.reasoningTokens !== null;
  const cost = num(c.costMicros);
  return {
    id: c.id,
    object: 'call',
    request_id: c.requestId,
    trace_id: c.traceId,
    started_at: c.startedAt.toISOString(),
    endpoint: c.endpoint,
    api_key_id: c.apiKeyId,
    route: c.route,
    variant: c.variant,
    assignment: c.assignment,
    shadow: c.shadow,
    parent_call_id: c.parentCallId,
    provider: c.provider,
    model: c.model,
    prompt_name: c.promptName,
    prompt_version: c.promptVersion,
    stream: c.stream,
    status: c.status,
    http_status: c.httpStatus,
    error_code: c.errorCode,
    error_message: c.errorMessage,
    attempts: c.attempts,
    latency_ms: c.latencyMs,
    ttft_ms: c.ttftMs,
    overhead_ms: c.overheadMs,
    usage: hasUsage
      ? {
          input_tokens: c.inputTokens,
          output_tokens: c.outputTokens,
          cached_tokens: c.cachedTokens,
          cache_write_tokens: c.cacheWriteTokens,
          reasoning_tokens: c.reasoningTokens,
        }
      : null,
    cost_micros: cost,
    cost_usd: cost === null ? null : cost / 1e6,
    cost_status: c.costStatus,
    cache_status: c.cacheStatus,
    cost_saved_usd: c.costSavedMicros === null ? null : Number(c.costSavedMicros) / 1e6,
    fallback_used: c.fallbackUsed,
    user: c.user,
    metadata: c.metadata,
    retrieved_doc_ids: c.retrievedDocIds,
    retrieval_ms: c.retrievalMs,
  };
}
