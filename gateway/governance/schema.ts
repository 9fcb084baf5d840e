import { sql } from 'drizzle-orm';
import { bigint, index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Budgets and rate limits on Postgres (postgres-limits.ts, DESIGN §4.4). Everything a limit
 * check needs lives in one row per subject, so a row lock gives a consistent view and one
 * statement can check and update several subjects (a key and its team) all or nothing.
 */

/**
 * Spend per subject (`key:<id>`, `team:<id>`) and budget period (its UTC start; the epoch for
 * `total`). `reserved` holds outstanding reservations by expiry: `{"<expiry epoch ms>":
 * micros}`, one entry per expiry bucket, so reservations whose process died stop counting
 * once their bucket has passed, without a sweep.
 */
export const budgetUsage = pgTable(
  'budget_usage',
  {
    subject: text('subject').notNull(),
    periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
    spentMicros: bigint('spent_micros', { mode: 'number' }).notNull().default(0),
    reserved: jsonb('reserved').$type<Record<string, number>>().notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [primaryKey({ name: 'budget_usage_pkey', columns: [t.subject, t.periodStart] })],
);

/**
 * Reservations not yet settled: which budgets (and periods) they were taken from, so a
 * settle lands in the period the reservation was taken in, and settles only once (it deletes
 * the row). Rows of reservations never settled are purged `lateSettleMs` after they expire.
 */
export const budgetReservations = pgTable(
  'budget_reservations',
  {
    id: uuid('id').primaryKey(),
    subjects: text('subjects').array().notNull(),
    periodStarts: timestamp('period_starts', { withTimezone: true }).array().notNull(),
    micros: bigint('micros', { mode: 'number' }).notNull(),
    /** The end of its expiry bucket: the key of its micros in budget_usage.reserved. */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('budget_reservations_expires_at_idx').on(t.expiresAt)],
);

/**
 * Sliding-minute rate windows per subject: requests and tokens by UTC second, `{"<epoch
 * second>": n}`, at most the last 60 seconds (older buckets are dropped on each write).
 */
export const rateWindows = pgTable('rate_windows', {
  subject: text('subject').primaryKey(),
  requests: jsonb('requests').$type<Record<string, number>>().notNull().default(sql`'{}'::jsonb`),
  tokens: jsonb('tokens').$type<Record<string, number>>().notNull().default(sql`'{}'::jsonb`),
});

export type BudgetUsageRow = typeof budgetUsage.$inferSelect;
export type BudgetReservationRow = typeof budgetReservations.$inferSelect;
export type RateWindowRow = typeof rateWindows.$inferSelect;
