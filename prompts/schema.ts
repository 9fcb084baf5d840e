import { sql } from 'drizzle-orm';
import {
  doublePrecision,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { v7 as uuidv7 } from 'uuid';
import type { JsonObject, PromptMessage } from './types.ts';

/**
 * A named prompt. `revision` is bumped in the same transaction as every change to the prompt
 * (new version, label move), so pollers can detect any change with one cheap aggregate
 * (`count(*), sum(revision)`) where LISTEN/NOTIFY is not available.
 */
export const prompts = pgTable('prompts', {
  id: uuid('id').primaryKey().$defaultFn(() => uuidv7()),
  name: text('name').notNull().unique(),
  description: text('description'),
  revision: integer('revision').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
});

/** Immutable: rows are only ever inserted. `hash` is sha256 of the canonical JSON of the content. */
export const promptVersions = pgTable(
  'prompt_versions',
  {
    id: uuid('id').primaryKey().$defaultFn(() => uuidv7()),
    promptId: uuid('prompt_id')
      .notNull()
      .references(() => prompts.id),
    version: integer('version').notNull(),
    hash: text('hash').notNull(),
    messages: jsonb('messages').$type<PromptMessage[]>().notNull(),
    model: text('model'),
    params: jsonb('params').$type<JsonObject>().notNull().default({}),
    /** A JSON schema for the render variables; NULL = none declared. */
    variables: jsonb('variables').$type<JsonObject>(),
    author: text('author').notNull(),
    message: text('message'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [unique('prompt_versions_prompt_version_key').on(t.promptId, t.version)],
);

/** Movable pointers to versions. `latest` is computed (highest version) and never stored. */
export const promptLabels = pgTable(
  'prompt_labels',
  {
    promptId: uuid('prompt_id').notNull(),
    label: text('label').notNull(),
    version: integer('version').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
    updatedBy: text('updated_by').notNull(),
  },
  (t) => [
    primaryKey({ name: 'prompt_labels_pkey', columns: [t.promptId, t.label] }),
    foreignKey({
      name: 'prompt_labels_version_fk',
      columns: [t.promptId, t.version],
      foreignColumns: [promptVersions.promptId, promptVersions.version],
    }),
  ],
);

/**
 * A label being rolled out (DESIGN §4.6 prompt label rollouts): calls that reference
 * `name@label` go to `version` with probability `percent`/100 (sticky by subject), the rest to
 * the version the label points at. At most one per label; removed when the rollout ends.
 * Changes bump the prompt's `revision` like any other change, so every instance reloads.
 */
export const promptLabelSplits = pgTable(
  'prompt_label_splits',
  {
    promptId: uuid('prompt_id').notNull(),
    label: text('label').notNull(),
    version: integer('version').notNull(),
    percent: doublePrecision('percent').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
    updatedBy: text('updated_by').notNull(),
  },
  (t) => [
    primaryKey({ name: 'prompt_label_splits_pkey', columns: [t.promptId, t.label] }),
    foreignKey({
      name: 'prompt_label_splits_version_fk',
      columns: [t.promptId, t.version],
      foreignColumns: [promptVersions.promptId, promptVersions.version],
    }),
  ],
);

/**
 * Append-only record of every change: prompt versions and labels here, and later route and
 * autopilot decisions. `subject` names what changed (`prompt:support`); `before`/`after` are
 * small JSON snapshots (NULL when there was nothing before).
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid('id').primaryKey().$defaultFn(() => uuidv7()),
    at: timestamp('at', { withTimezone: true }).notNull().default(sql`now()`),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subject: text('subject').notNull(),
    before: jsonb('before').$type<unknown>(),
    after: jsonb('after').$type<unknown>(),
  },
  (t) => [index('audit_log_subject_at_idx').on(t.subject, t.at), index('audit_log_at_idx').on(t.at)],
);

export type PromptRow = typeof prompts.$inferSelect;
export type PromptVersionRow = typeof promptVersions.$inferSelect;
export type PromptLabelRow = typeof promptLabels.$inferSelect;
export type PromptLabelSplitRow = typeof promptLabelSplits.$inferSelect;
export type AuditLogRow = typeof auditLog.$inferSelect;
