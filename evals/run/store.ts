import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../gateway/db/client.ts';
import { lookupCallFields, NO_CALL, type ScoreCallFields } from '../monitor/score-call-fields.ts';
import { callScores, evalDatasets, evalItems, evalRuns, evalScores, type EvalRunRow, type EvalScoreRow } from '../schema.ts';
import type { UnitResult } from './unit.ts';

/** Persistence of runs and their scores. */
export type Db = Pick<Database, 'db'>;

export async function insertRun(
  database: Db,
  values: { name: string; job: Record<string, unknown>; mode: 'offline' | 'online'; trigger: string; status: 'queued' | 'running'; worker?: string },
): Promise<string> {
  const now = new Date();
  const [row] = await database.db
    .insert(evalRuns)
    .values({
      name: values.name,
      job: values.job,
      mode: values.mode,
      trigger: values.trigger,
      status: values.status,
      ...(values.status === 'running' ? { startedAt: now, heartbeatAt: now, worker: values.worker ?? null } : {}),
    })
    .returning({ id: evalRuns.id });
  return row!.id;
}

export async function getRun(database: Db, id: string): Promise<EvalRunRow | null> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
  const [row] = await database.db.select().from(evalRuns).where(eq(evalRuns.id, id));
  return row ?? null;
}

export async function updateRun(database: Db, id: string, set: Partial<typeof evalRuns.$inferInsert>): Promise<void> {
  await database.db.update(evalRuns).set(set).where(eq(evalRuns.id, id));
}

export async function heartbeat(database: Db, id: string, progress: { done: number; total: number }): Promise<void> {
  await database.db.update(evalRuns).set({ heartbeatAt: sql`now()`, progress }).where(eq(evalRuns.id, id));
}

/** Scores already stored (a re-claimed run resumes where the crashed worker stopped). */
export async function doneUnits(database: Db, runId: string): Promise<Set<string>> {
  const rows = await database.db.selectDistinct({ target: evalScores.target, itemId: evalScores.itemId }).from(evalScores).where(eq(evalScores.runId, runId));
  return new Set(rows.map((r) => `${r.target}\u0000${r.itemId}`));
}

export async function saveUnitResults(database: Db, runId: string, results: readonly UnitResult[], online: boolean): Promise<void> {
  const rows = results.flatMap((u) =>
    u.scores.map((s) => ({
      runId,
      itemId: u.itemId,
      target: u.target,
      output: u.output,
      scorer: s.scorer,
      score: s.score,
      reason: s.reason ?? null,
      details: s.details ?? null,
      judgePromptVersion: s.judgePromptVersion ?? null,
      judgeModel: s.judgeModel ?? null,
      callId: u.callId,
      latencyMs: u.latencyMs,
      costUsd: u.costUsd,
    })),
  );
  if (rows.length === 0) return;
  // Online scores carry their call's time and slice (monitor/score-call-fields.ts).
  const fields = online ? await lookupCallFields(database, rows.map((r) => r.itemId)) : new Map<string, ScoreCallFields>();
  await database.db.transaction(async (tx) => {
    await tx.insert(evalScores).values(rows).onConflictDoNothing();
    if (!online) return;
    // Online scores attach to the logged call (item id = call id); a re-run replaces them.
    await tx
      .insert(callScores)
      .values(
        rows.map((r) => ({
          ...(fields.get(r.itemId.toLowerCase()) ?? NO_CALL),
          callId: r.itemId,
          scorer: r.scorer,
          score: r.score,
          reason: r.reason,
          source: 'eval' as const,
          runId,
          details: { ...(r.details ?? {}), ...(r.judgePromptVersion ? { judge_prompt_version: r.judgePromptVersion, judge_model: r.judgeModel } : {}) },
        })),
      )
      .onConflictDoUpdate({
        target: [callScores.callId, callScores.scorer],
        targetWhere: sql`source = 'eval'`,
        set: {
          score: sql`excluded.score`,
          reason: sql`excluded.reason`,
          runId: sql`excluded.run_id`,
          details: sql`excluded.details`,
          createdAt: sql`now()`,
          callStartedAt: sql`excluded.call_started_at`,
          route: sql`excluded.route`,
          variant: sql`excluded.variant`,
          promptName: sql`excluded.prompt_name`,
          promptVersion: sql`excluded.prompt_version`,
          production: sql`excluded.production`,
        },
      });
  });
}

export async function runScores(database: Db, runId: string): Promise<EvalScoreRow[]> {
  return database.db.select().from(evalScores).where(eq(evalScores.runId, runId)).orderBy(asc(evalScores.target), asc(evalScores.itemId), asc(evalScores.scorer));
}

export async function scoresOf(database: Db, runId: string, target: string): Promise<EvalScoreRow[]> {
  return database.db.select().from(evalScores).where(and(eq(evalScores.runId, runId), eq(evalScores.target, target)));
}

/** Item ids of a stored dataset version in dataset order (empty when it is not stored). */
export async function itemOrder(database: Db, name: string | null, version: string | null): Promise<string[]> {
  if (name === null || version === null) return [];
  const rows = await database.db
    .select({ itemId: evalItems.itemId })
    .from(evalItems)
    .innerJoin(evalDatasets, eq(evalDatasets.id, evalItems.datasetId))
    .where(and(eq(evalDatasets.name, name), eq(evalDatasets.version, version)))
    .orderBy(asc(evalItems.position));
  return rows.map((r) => r.itemId);
}
