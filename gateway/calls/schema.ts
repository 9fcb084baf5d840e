import {
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

export type CallRow = typeof calls.$inferSelect;
export type CallPayloadRow = typeof callPayloads.$inferSelect;

/** The partitioned tables, each with a `<table>_default` partition and `<table>_pYYYYMMDD` days. */
export const PARTITIONED_TABLES = ['calls', 'call_payloads'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];
