import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  real,
  smallint,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { STORED_CALL_STATUSES } from './record.ts';

/** One provider try as stored in `calls.attempts` (snake_case, like the admin API). */
export interface StoredAttempt {
  provider: string;
  model: string;
  status: number | null;
  error: string | null;
  latency_ms: number;
}

/**
 * The call log's hot metadata, one row per gateway call. Range-partitioned by day on
 * `started_at` (see the call_log migration and partitions.ts), so retention is a partition
 * drop; drizzle-kit cannot express partitioning, so the migration's SQL adds it by hand.
 * A partitioned table's keys must include the partition column, hence the (started_at, id)
 * primary key. Its index also serves the newest-first listing (a backward scan), so there is
 * no separate (started_at desc, id desc) index to maintain on every insert. Each filter index
 * ends in (started_at, id) so a filtered page is one ordered index range, keyset included.
 */
export const calls = pgTable(
  'calls',
  {
    id: uuid('id').notNull(),
    requestId: text('request_id').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endpoint: text('endpoint').notNull(),
    apiKeyId: uuid('api_key_id'),
    route: text('route'),
    variant: text('variant'),
    /** The subject's sticky A/B draw in [0, 1), when a route split traffic. */
    assignment: doublePrecision('assignment'),
    shadow: boolean('shadow').notNull().default(false),
    parentCallId: uuid('parent_call_id'),
    provider: text('provider'),
    model: text('model'),
    promptName: text('prompt_name'),
    promptVersion: integer('prompt_version'),
    stream: boolean('stream').notNull().default(false),
    /** A plain text column (no check constraint): `interrupted` needed no migration (issue 21). */
    status: text('status', { enum: STORED_CALL_STATUSES }).notNull(),
    httpStatus: smallint('http_status').notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    attempts: jsonb('attempts').$type<StoredAttempt[]>().notNull().default([]),
    latencyMs: real('latency_ms').notNull(),
    ttftMs: real('ttft_ms'),
    overheadMs: real('overhead_ms'),
    /** Usage columns are NULL when the provider reported none (not zero). */
    inputTokens: integer('input_tokens'),
    outputTokens: integer('output_tokens'),
    cachedTokens: integer('cached_tokens'),
    cacheWriteTokens: integer('cache_write_tokens'),
    reasoningTokens: integer('reasoning_tokens'),
    /** Micro-USD; NULL means unpriced, never zero. */
    costMicros: numeric('cost_micros'),
    costStatus: text('cost_status', { enum: ['exact', 'estimated', 'unpriced'] }).notNull(),
    /** On a cache hit: what the original call cost (the hit itself costs 0). */
    costSavedMicros: numeric('cost_saved_micros'),
    /** A fallback target (not the route's chosen one) served the call. */
    fallbackUsed: boolean('fallback_used').notNull().default(false),
    cacheStatus: text('cache_status', { enum: ['hit', 'miss', 'bypass'] }),
    user: text('user'),
    metadata: jsonb('metadata').$type<Record<string, string>>(),
    retrievedDocIds: text('retrieved_doc_ids').array(),
    /** Time spent retrieving context (RAG), when the call's route retrieves. */
    retrievalMs: real('retrieval_ms'),
    /** The W3C trace id (32 hex) of the call's server span: the caller's when it sent a traceparent. */
    traceId: text('trace_id'),
  },
  (t) => [
    primaryKey({ name: 'calls_pkey', columns: [t.startedAt, t.id] }),
    index('calls_model_idx').on(t.model, t.startedAt, t.id),
    index('calls_route_idx').on(t.route, t.startedAt, t.id),
    index('calls_api_key_idx').on(t.apiKeyId, t.startedAt, t.id),
    index('calls_status_idx').on(t.status, t.startedAt, t.id),
    index('calls_user_idx').on(t.user, t.startedAt, t.id),
  ],
);

/**
 * Request and response bodies, apart from the hot row (capped and redacted by the writer).
 * Partitioned like `calls` and written in the same statement, so both share a fate.
 */
export const callPayloads = pgTable(
  'call_payloads',
  {
    callId: uuid('call_id').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    request: jsonb('request'),
    response: jsonb('response'),
    /** What retrieval gave the model: query, documents with scores, the exact injected text. */
    rag: jsonb('rag'),
    /**
     * The body as the client sent it to its face, when that is not `request` (a /v1/messages
     * or /v1/responses body, or one whose registry prompt was rendered): what replay sends.
     */
    faceRequest: jsonb('face_request'),
    truncated: boolean('truncated').notNull().default(false),
  },
  (t) => [primaryKey({ name: 'call_payloads_pkey', columns: [t.startedAt, t.callId] })],
);

/**
 * What a rollup row sums over its calls (gateway/calls/rollup-sql.ts says how each is computed
 * and merged). Counts split by status so consumers need no status key: errors = calls − ok;
 * the route stats' answerable calls = ok + failed. Cost is NULL-aware through `priced`: the
 * sum is NULL for a group when `priced` is 0 (no call was priced), as `sum(cost_micros)` is.
 * Latency and cost moments are over ok calls (what the route stats report), with a fixed
 * log-bucket latency histogram (gateway/calls/rollup-histogram.ts) for percentiles.
 */
const rollupMeasures = () => ({
  calls: integer('calls').notNull(),
  ok: integer('ok').notNull(),
  /** upstream_error + gateway_error: the route stats' errors. */
  failed: integer('failed').notNull(),
  cacheHits: integer('cache_hits').notNull(),
  cacheMisses: integer('cache_misses').notNull(),
  /** Calls with a cost (cost_micros not NULL); calls − priced are the unpriced ones. */
  priced: integer('priced').notNull(),
  costMicros: numeric('cost_micros').notNull(),
  costSavedMicros: numeric('cost_saved_micros').notNull(),
  inputTokens: bigint('input_tokens', { mode: 'number' }).notNull(),
  outputTokens: bigint('output_tokens', { mode: 'number' }).notNull(),
  cachedTokens: bigint('cached_tokens', { mode: 'number' }).notNull(),
  cacheWriteTokens: bigint('cache_write_tokens', { mode: 'number' }).notNull(),
  reasoningTokens: bigint('reasoning_tokens', { mode: 'number' }).notNull(),
  okLatencySum: doublePrecision('ok_latency_sum').notNull(),
  okLatencySumsq: doublePrecision('ok_latency_sumsq').notNull(),
  okLatencyMin: real('ok_latency_min'),
  okLatencyMax: real('ok_latency_max'),
  /** Packed counts, Σ countᵢ·10^(12·i) (rollup-histogram.ts). */
  okLatencyHist: numeric('ok_latency_hist').notNull(),
  /** Ok calls with a cost, and the moments of their cost (micro-USD). */
  okPriced: integer('ok_priced').notNull(),
  okCostSum: doublePrecision('ok_cost_sum').notNull(),
  okCostSumsq: doublePrecision('ok_cost_sumsq').notNull(),
});

/**
 * Hourly totals of `calls` per route, variant, shadow flag, provider, model and API key, kept by
 * the writer in the statement that inserts the calls (gateway/calls/insert.ts), from exactly the
 * rows inserted, so a replayed row is never counted twice. /api/usage and the route stats read
 * whole hours here and only the ragged edges of a window from `calls`. Not partitioned and
 * kept longer than the call log (partitions.ts). NULL keys are equal in the unique key
 * (NULLS NOT DISTINCT), so a call without a route or key still lands on one row.
 */
export const callRollups = pgTable(
  'call_rollups',
  {
    bucket: timestamp('bucket', { withTimezone: true }).notNull(),
    route: text('route'),
    variant: text('variant'),
    shadow: boolean('shadow').notNull(),
    provider: text('provider'),
    model: text('model'),
    apiKeyId: uuid('api_key_id'),
    ...rollupMeasures(),
  },
  (t) => [
    unique('call_rollups_key')
      .on(t.bucket, t.route, t.variant, t.shadow, t.provider, t.model, t.apiKeyId)
      .nullsNotDistinct(),
  ],
);

/** Per-minute totals of every call (no keys): the dashboard's time series at any range. */
export const callRollupsMinute = pgTable('call_rollups_minute', {
  bucket: timestamp('bucket', { withTimezone: true }).primaryKey(),
  ...rollupMeasures(),
});

export type CallRow = typeof calls.$inferSelect;
export type CallPayloadRow = typeof callPayloads.$inferSelect;

/** The partitioned tables, each with a `<table>_default` partition and `<table>_pYYYYMMDD` days. */
export const PARTITIONED_TABLES = ['calls', 'call_payloads'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];
