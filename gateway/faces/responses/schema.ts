import { boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Responses created through `POST /v1/responses`, so `previous_response_id` can continue a
 * conversation and `GET /v1/responses/{id}` can return one. A row is written once and never
 * changed; a conversation is the chain of `previous_response_id` links.
 *
 * What is kept is what the call log would keep (gateway/calls/payloads.ts): redacted, and each
 * JSON column cut to `logging.payload_max_bytes`. Rows older than the retention are deleted
 * (retention.ts). A row belongs to the key that created it.
 */
export const responses = pgTable(
  'responses',
  {
    /** `resp_…`, time-ordered (UUIDv7 hex). */
    id: text('id').primaryKey(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    previousResponseId: text('previous_response_id'),
    model: text('model').notNull(),
    /** The Responses request body as the client sent it (redacted, capped). */
    request: jsonb('request').$type<Record<string, unknown>>().notNull(),
    /** This turn's input, normalised to items (a string input becomes one user message item). */
    inputItems: jsonb('input_items').$type<unknown[]>().notNull(),
    outputItems: jsonb('output_items').$type<unknown[]>().notNull(),
    /** The full Response object returned to the client. */
    response: jsonb('response').$type<Record<string, unknown>>().notNull(),
    /** The call log record of the call that produced this response. */
    callId: uuid('call_id').notNull(),
    /**
     * The gateway key that created it; only that key (and admin-scope keys) may read or
     * continue it. Null when it was an env admin key (SLUICE_ADMIN_KEY), which has no row.
     */
    apiKeyId: uuid('api_key_id'),
    /** Some column was cut to the size cap: readable, but it can no longer be continued. */
    truncated: boolean('truncated').notNull().default(false),
    /** UTF-8 bytes of the stored JSON columns, so a chain's size is known before its rows are read. */
    storedBytes: integer('stored_bytes').notNull().default(0),
  },
  (t) => [index('responses_created_at_idx').on(t.createdAt)],
);

export type ResponseRow = typeof responses.$inferSelect;
export type NewResponseRow = typeof responses.$inferInsert;
