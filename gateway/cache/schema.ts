import { doublePrecision, index, jsonb, pgTable, primaryKey, real, text, timestamp } from 'drizzle-orm/pg-core';
import type { NormalizedUsage } from '../../core/usage.ts';

/**
 * The shared response cache tier (postgres-tier.ts): one row per cache key, read by every
 * instance. Expired rows are skipped on read and deleted in batches by a periodic purge, which
 * the expires_at index serves.
 */
export const responseCache = pgTable(
  'response_cache',
  {
    /** SHA-256 hex of the canonical request (key.ts). */
    key: text('key').primaryKey(),
    /** The `chat.completion` object. */
    value: jsonb('value').notNull(),
    usage: jsonb('usage').$type<NormalizedUsage>(),
    /** Micro-USD the original call cost (what a hit saves); NULL means it was unpriced. */
    costMicros: doublePrecision('cost_micros'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('response_cache_expires_at_idx').on(t.expiresAt)],
);

/**
 * The semantic index where the database has no pgvector (semantic.ts): the embedding of a
 * request's last user turn, pointing at the exact cache key that holds its answer. A lookup
 * reads the newest rows of one scope and compares vectors in JS; answers themselves live in
 * response_cache (and the memory tier), which bounds their bytes.
 */
export const semanticCache = pgTable(
  'semantic_cache',
  {
    /** Hash of route, prompt version, target and the request without its last user turn. */
    scope: text('scope').notNull(),
    cacheKey: text('cache_key').notNull(),
    /** Unit-length embedding. */
    embedding: real('embedding').array().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ name: 'semantic_cache_pkey', columns: [t.scope, t.cacheKey] }),
    index('semantic_cache_scope_created_idx').on(t.scope, t.createdAt),
    index('semantic_cache_expires_at_idx').on(t.expiresAt),
  ],
);

export type ResponseCacheRow = typeof responseCache.$inferSelect;
export type SemanticCacheRow = typeof semanticCache.$inferSelect;
