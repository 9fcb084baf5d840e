import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Responses created through `POST /v1/responses`, so `previous_response_id` can continue a
 * conversation and `GET /v1/responses/{id}` can return one. A row is written once and never
 * changed; a conversation is the chain of `previous_response_id` links.
 */
export const responses = pgTable(
  'responses',
  {
    /** `resp_…`, time-ordered (UUIDv7 hex). */
    id: text('id').primaryKey(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    previousResponseId: text('previous_response_id'),
    model: text('model').notNull(),
    /** The Responses request body as the client sent it. */
    request: jsonb('request').$type<Record<string, unknown>>().notNull(),
    /** This turn's input, normalised to items (a string input becomes one user message item). */
    inputItems: jsonb('input_items').$type<unknown[]>().notNull(),
    outputItems: jsonb('output_items').$type<unknown[]>().notNull(),
    /** The full Response object returned to the client. */
    response: jsonb('response').$type<Record<string, unknown>>().notNull(),
    /** The call log record of the call that produced this response. */
    callId: uuid('call_id').notNull(),
  },
  (t) => [index('responses_created_at_idx').on(t.createdAt)],
);

export type ResponseRow = typeof responses.$inferSelect;
export type NewResponseRow = typeof responses.$inferInsert;
