import { sql } from 'drizzle-orm';
import { doublePrecision, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** `day` | `week` (from Monday 00:00 UTC) | `month` | `total`. */
export const BUDGET_PERIODS = ['day', 'week', 'month', 'total'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/**
 * The policy a key and a team share (DESIGN §4.4): a budget in USD per period, rate limits per
 * minute, allow-lists of models (or routes) and registry prompts as globs (NULL: everything),
 * and free-form metadata. A call must pass its key's policy and its team's.
 */
const policyColumns = () => ({
  budgetUsd: doublePrecision('budget_usd'),
  budgetPeriod: text('budget_period', { enum: BUDGET_PERIODS }),
  rpm: integer('rpm'),
  tpm: integer('tpm'),
  models: jsonb('models').$type<string[]>(),
  prompts: jsonb('prompts').$type<string[]>(),
  metadata: jsonb('metadata').$type<Record<string, string>>(),
});

/** Teams: a shared budget, limits and allow-lists for their keys. */
export const teams = pgTable('teams', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  ...policyColumns(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
});

/** Gateway keys. Only SHA-256 hashes are stored; the key itself is shown once, at minting. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    keyHash: text('key_hash').notNull().unique(),
    /** First characters of the key, so a user can tell keys apart without the secret. */
    prefix: text('prefix').notNull(),
    scope: text('scope', { enum: ['inference', 'admin'] }).notNull(),
    teamId: uuid('team_id'),
    ...policyColumns(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_keys_created_at_idx').on(t.createdAt), index('api_keys_team_idx').on(t.teamId)],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type NewApiKeyRow = typeof apiKeys.$inferInsert;
export type KeyScope = ApiKeyRow['scope'];
export type TeamRow = typeof teams.$inferSelect;
