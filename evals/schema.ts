import { sql } from 'drizzle-orm';
import { boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, real, text, timestamp, unique, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { v7 as uuidv7 } from 'uuid';

/**
 * Eval tables (issue 10). Datasets are immutable: a dataset version is the content hash of its
 * items, so importing the same JSONL twice is one version and any edit is a new one.
 */
export const evalDatasets = pgTable(
  'eval_datasets',
  {
    id: uuid('id').primaryKey().$defaultFn(() => uuidv7()),
    name: text('name').notNull(),
    /** sha256 (hex, first 16 chars) of the canonical JSON of the items, in order. */
    version: text('version').notNull(),
    itemCount: integer('item_count').notNull(),
    /** Where the items came from: `{path}` or `{from_logs: …}`. */
    source: jsonb('source').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [unique('eval_datasets_name_version_key').on(t.name, t.version), index('eval_datasets_name_idx').on(t.name, t.createdAt)],
);

export const evalItems = pgTable(
  'eval_items',
  {
    datasetId: uuid('dataset_id')
      .notNull()
      .references(() => evalDatasets.id, { onDelete: 'cascade' }),
    itemId: text('item_id').notNull(),
    position: integer('position').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [primaryKey({ name: 'eval_items_pkey', columns: [t.datasetId, t.itemId] })],
);

export const EVAL_RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type EvalRunStatus = (typeof EVAL_RUN_STATUSES)[number];

/**
 * One execution of a job. The row is also the queue of record: `queued` rows are claimed with
 * `FOR UPDATE SKIP LOCKED` (or handed out by pg-boss, see evals/queue), and a `running` row whose
 * heartbeat is stale is claimable again, so a crashed worker's run is picked up by another.
 */
export const evalRuns = pgTable(
  'eval_runs',
  {
    id: uuid('id').primaryKey().$defaultFn(() => uuidv7()),
    name: text('name').notNull(),
    job: jsonb('job').$type<Record<string, unknown>>().notNull(),
    mode: text('mode', { enum: ['offline', 'online'] }).notNull().default('offline'),
    status: text('status', { enum: EVAL_RUN_STATUSES }).notNull().default('queued'),
    datasetName: text('dataset_name'),
    datasetVersion: text('dataset_version'),
    /** What started it: `cli`, `api`, `schedule:<name>`. */
    trigger: text('trigger').notNull().default('cli'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }),
    worker: text('worker'),
    progress: jsonb('progress').$type<{ done: number; total: number }>(),
    error: text('error'),
    summary: jsonb('summary').$type<Record<string, unknown>>(),
  },
  (t) => [index('eval_runs_status_idx').on(t.status, t.createdAt), index('eval_runs_name_idx').on(t.name, t.createdAt)],
);

/** One score of one item's output from one target. `score` is NULL with a `reason` when not applicable. */
export const evalScores = pgTable(
  'eval_scores',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => evalRuns.id, { onDelete: 'cascade' }),
    itemId: text('item_id').notNull(),
    target: text('target').notNull(),
    output: text('output'),
    scorer: text('scorer').notNull(),
    score: doublePrecision('score'),
    reason: text('reason'),
    details: jsonb('details').$type<Record<string, unknown>>(),
    /** `name@version` of the judge prompt, for judge scorers. */
    judgePromptVersion: text('judge_prompt_version'),
    judgeModel: text('judge_model'),
    /** The gateway call that produced `output` (NULL for score-only items). */
    callId: uuid('call_id'),
    latencyMs: real('latency_ms'),
    costUsd: doublePrecision('cost_usd'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ name: 'eval_scores_pkey', columns: [t.runId, t.target, t.itemId, t.scorer] })],
);

/**
 * Scores attached to logged calls: online eval scores and user feedback share this table
 * (gateway/routing/stats.ts reads `call_id, scorer, score`). An online eval writes at most one
 * row per (call, scorer): a re-run replaces it. Feedback rows are append-only.
 */
export const callScores = pgTable(
  'call_scores',
  {
    id: uuid('id').primaryKey().$defaultFn(() => uuidv7()),
    callId: uuid('call_id').notNull(),
    scorer: text('scorer').notNull(),
    score: doublePrecision('score'),
    label: text('label'),
    reason: text('reason'),
    source: text('source', { enum: ['eval', 'feedback', 'online'] }).notNull(),
    runId: uuid('run_id'),
    details: jsonb('details').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
    // What the monitors slice by, copied from the scored call when the score is written
    // (evals/monitor/score-call-fields.ts), so scores over time read this table alone (issue 19).
    // Null (and production false) when the call was not found.
    callStartedAt: timestamp('call_started_at', { withTimezone: true }),
    route: text('route'),
    variant: text('variant'),
    promptName: text('prompt_name'),
    promptVersion: integer('prompt_version'),
    /** Production traffic: neither a shadow call nor an eval run's own call. */
    production: boolean('production').notNull().default(false),
  },
  (t) => [
    index('call_scores_call_idx').on(t.callId),
    // Scores of production calls in a time range: the series, drift, monitors and rollout arms.
    index('call_scores_production_time_idx').on(t.callStartedAt).where(sql`production`),
    index('call_scores_scorer_idx').on(t.scorer, t.createdAt),
    uniqueIndex('call_scores_eval_key').on(t.callId, t.scorer).where(sql`source = 'eval'`),
    // Online scoring writes a call's score once, whichever instance (or retry) wrote it first.
    uniqueIndex('call_scores_online_key').on(t.callId, t.scorer).where(sql`source = 'online'`),
  ],
);

/** Cron schedules (evals/schedule): due rows are claimed with SKIP LOCKED, so each slot runs once. */
export const evalSchedules = pgTable('eval_schedules', {
  name: text('name').primaryKey(),
  cron: text('cron').notNull(),
  job: jsonb('job').$type<Record<string, unknown>>().notNull(),
  nextRunAt: timestamp('next_run_at', { withTimezone: true }).notNull(),
  lastRunId: uuid('last_run_id'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
});

export type EvalDatasetRow = typeof evalDatasets.$inferSelect;
export type EvalRunRow = typeof evalRuns.$inferSelect;
export type EvalScoreRow = typeof evalScores.$inferSelect;
export type CallScoreRow = typeof callScores.$inferSelect;
export type EvalScheduleRow = typeof evalSchedules.$inferSelect;

/**
 * Incidents (DESIGN §4.6): one per breach of a monitor, with the evidence that opened it. A
 * breach that lasts keeps its one incident; it resolves itself once the metric has been back
 * within bounds for the monitor's `recover_after`, or by hand.
 */
export const incidents = pgTable(
  'incidents',
  {
    id: uuid('id').primaryKey().$defaultFn(() => uuidv7()),
    monitor: text('monitor').notNull(),
    scope: jsonb('scope').$type<Record<string, string>>().notNull(),
    metric: text('metric').notNull(),
    /** The metric's value in the window that breached. */
    value: doublePrecision('value').notNull(),
    /** What it was compared with (the threshold's bound). */
    baseline: doublePrecision('baseline'),
    detector: jsonb('detector').$type<Record<string, unknown>>().notNull(),
    /** `open` until resolved; acknowledging sets acknowledged_at and leaves it open (DESIGN §4.6). */
    status: text('status', { enum: ['open', 'resolved'] }).notNull(),
    /** Window, sample count, example call ids. */
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull(),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    /** `auto` (recovered) or who resolved it. */
    resolvedBy: text('resolved_by'),
  },
  (t) => [index('incidents_status_idx').on(t.status, t.openedAt)],
);

/** Each monitor's last evaluation, read by the next (whichever instance leads then). */
export const monitorStates = pgTable('monitor_states', {
  monitor: text('monitor').primaryKey(),
  state: text('state', { enum: ['ok', 'breached', 'insufficient_data'] }).notNull(),
  value: doublePrecision('value'),
  samples: integer('samples').notNull(),
  evaluatedAt: timestamp('evaluated_at', { withTimezone: true }).notNull(),
  /** The incident this breach opened, until the metric recovers. */
  openIncidentId: uuid('open_incident_id'),
  /** Since when the metric has been back within bounds while an incident is open. */
  okSince: timestamp('ok_since', { withTimezone: true }),
});

/** Every notification an incident sent, with its tries: delivered, or why not. */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    id: uuid('id').primaryKey().$defaultFn(() => uuidv7()),
    incidentId: uuid('incident_id').notNull(),
    channel: text('channel').notNull(),
    /** `opened` or `resolved`. */
    event: text('event').notNull(),
    status: text('status', { enum: ['pending', 'sending', 'delivered', 'failed'] }).notNull(),
    /** Set when an instance took the delivery; a stale claim (its instance died) is taken again. */
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [index('notification_deliveries_pending_idx').on(t.status, t.createdAt)],
);

/**
 * Progressive rollouts (DESIGN §4.6), of a route's variant (`kind` route, `target` the route's
 * name, `candidate` the variant) or of a prompt version behind a label (`kind` prompt, `target`
 * `name@label`, `candidate` the version). One running rollout per target (partial unique index).
 * `previous` is what an abort restores; `p_values` carries each guard's always-valid p-value from
 * look to look; `evidence` is the bounded record of the looks (the audit log keeps every decision).
 */
export const rollouts = pgTable(
  'rollouts',
  {
    id: uuid('id').primaryKey().$defaultFn(() => uuidv7()),
    kind: text('kind', { enum: ['route', 'prompt'] }).notNull(),
    target: text('target').notNull(),
    candidate: text('candidate').notNull(),
    /** The route's control variant, or the version the label pointed at when the rollout started. */
    control: text('control').notNull(),
    plan: jsonb('plan').$type<Record<string, unknown>>().notNull(),
    state: text('state', { enum: ['running', 'promoted', 'rolled_back', 'aborted'] }).notNull(),
    step: integer('step').notNull().default(0),
    weights: jsonb('weights').$type<Record<string, number>>().notNull(),
    previous: jsonb('previous').$type<Record<string, unknown>>().notNull(),
    pValues: jsonb('p_values').$type<number[]>().notNull(),
    evidence: jsonb('evidence').$type<Array<Record<string, unknown>>>().notNull().default([]),
    incidentId: uuid('incident_id'),
    startedBy: text('started_by').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    stepStartedAt: timestamp('step_started_at', { withTimezone: true }).notNull(),
    evaluatedAt: timestamp('evaluated_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('rollouts_running_target_idx').on(t.kind, t.target).where(sql`state = 'running'`),
    index('rollouts_target_started_idx').on(t.kind, t.target, t.startedAt),
  ],
);
