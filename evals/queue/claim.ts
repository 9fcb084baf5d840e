import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../gateway/db/client.ts';

/**
 * The run row is the queue of record. A worker claims one with `FOR UPDATE SKIP LOCKED`, so
 * concurrent workers never take the same run; a `running` row whose heartbeat is older than
 * STALE_AFTER belongs to a worker that died and is claimable again (its scores so far are kept
 * and the run resumes).
 */
export const STALE_AFTER_SECONDS = 120;

export async function claimRun(database: Pick<Database, 'db'>, worker: string, runId?: string): Promise<string | null> {
  const only = runId === undefined ? sql`` : sql`and id = ${runId}::uuid`;
  const rows = rowsOf<{ id: string }>(
    await database.db.execute(sql`
      update eval_runs set status = 'running', started_at = coalesce(started_at, now()), heartbeat_at = now(), worker = ${worker}
      where id = (
        select id from eval_runs
        where (status = 'queued' or (status = 'running' and heartbeat_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS}))) ${only}
        order by created_at, id
        limit 1
        for update skip locked
      )
      returning id`),
  );
  return rows[0]?.id ?? null;
}

/** Queued runs older than `seconds`, and stale running ones: what a pg-boss sweep re-sends. */
export async function orphanRuns(database: Pick<Database, 'db'>, seconds: number): Promise<Array<{ id: string; status: string }>> {
  const rows = rowsOf<{ id: string; status: string }>(
    await database.db.execute(sql`
      select id, status from eval_runs
      where (status = 'queued' and created_at < now() - make_interval(secs => ${seconds}))
         or (status = 'running' and heartbeat_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS}))
      order by created_at limit 100`),
  );
  return rows;
}
