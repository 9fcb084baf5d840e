import { and, gte, inArray, lte } from 'drizzle-orm';
import { uuidv7Ms } from '../../gateway/calls/queries.ts';
import type { CallRecord } from '../../gateway/calls/record.ts';
import { cleanName } from '../../gateway/calls/record-text.ts';
import { calls } from '../../gateway/calls/schema.ts';
import type { Database } from '../../gateway/db/client.ts';

/**
 * What the monitors slice scores by, copied from the scored call onto its `call_scores` row when
 * the score is written (issue 19): the series, drift, monitor metrics and rollout arms then read
 * `call_scores` alone instead of joining a month of `calls` partitions. Writers holding the call
 * (online scoring has the record, the judge worker the logged row) copy it; the others look the
 * call up by id (lookupCallFields). A score whose call is not found is not production traffic,
 * as the join it replaces dropped it.
 */
export interface ScoreCallFields {
  callStartedAt: Date | null;
  route: string | null;
  variant: string | null;
  promptName: string | null;
  promptVersion: number | null;
  production: boolean;
}

/** The tag eval runs put on their own calls (evals/run/unit.ts, judge-client.ts). */
export const EVAL_RUN_TAG = 'sluice_eval_run';

export const NO_CALL: ScoreCallFields = Object.freeze({ callStartedAt: null, route: null, variant: null, promptName: null, promptVersion: null, production: false });

/** The call's columns these fields come from (as stored in `calls`). */
export interface CallColumns {
  startedAt: Date;
  route: string | null;
  variant: string | null;
  promptName: string | null;
  promptVersion: number | null;
  shadow: boolean;
  metadata: Record<string, string> | null;
}

/** The `calls` columns fieldsOfCallRow reads, for a select list. */
export const CALL_COLUMNS = {
  startedAt: calls.startedAt,
  route: calls.route,
  variant: calls.variant,
  promptName: calls.promptName,
  promptVersion: calls.promptVersion,
  shadow: calls.shadow,
  metadata: calls.metadata,
};

/** From a stored `calls` row: production as evals/monitor/filters.ts counts it. */
export function fieldsOfCallRow(c: CallColumns): ScoreCallFields {
  return {
    callStartedAt: c.startedAt,
    route: c.route,
    variant: c.variant,
    promptName: c.promptName,
    promptVersion: c.promptVersion,
    // `metadata->>'sluice_eval_run' is null`: the key absent, or a JSON null.
    production: c.shadow === false && (c.metadata?.[EVAL_RUN_TAG] ?? null) === null,
  };
}

/**
 * From a call record, as the call log will store it (gateway/calls/call-row.ts cleans the names
 * the same way), so a score written before its call's row lands says what the row will say.
 */
export function fieldsOfRecord(r: CallRecord): ScoreCallFields {
  const version = r.promptVersion;
  // The stored metadata has the key whatever its value (cleanMetadata turns a null into '').
  const tagged = r.metadata !== null && typeof r.metadata === 'object' && Object.hasOwn(r.metadata, EVAL_RUN_TAG);
  return {
    callStartedAt: r.startedAt,
    route: cleanName(r.route),
    variant: cleanName(r.variant),
    promptName: cleanName(r.promptName),
    // As call-row.ts stores it: rounded into int4.
    promptVersion: typeof version === 'number' && Number.isFinite(version) ? Math.max(-2147483648, Math.min(2147483647, Math.round(version))) : null,
    production: r.shadow !== true && !tagged,
  };
}

/** Slack around the time in a UUIDv7 call id (as gateway/calls/queries.ts getCall). */
const ID_WINDOW_MS = 60_000;
/** Ids further apart than this in time are looked up by separate queries, each on few partitions. */
const CLUSTER_GAP_MS = 10 * 60_000;

/**
 * The fields of the calls with these ids, by id (absent: not in the call log). Each id's own
 * timestamp bounds `started_at`, so a lookup reads the primary key of the one or two day
 * partitions the ids fall in, never every partition.
 */
export async function lookupCallFields(database: Pick<Database, 'db'>, ids: readonly string[]): Promise<Map<string, ScoreCallFields>> {
  const timed = [...new Set(ids.map((id) => id.toLowerCase()))]
    .map((id) => ({ id, ms: uuidv7Ms(id) }))
    .filter((t): t is { id: string; ms: number } => t.ms !== null)
    .sort((a, b) => a.ms - b.ms);
  const clusters: Array<typeof timed> = [];
  for (const t of timed) {
    const last = clusters[clusters.length - 1];
    if (last && t.ms - last[last.length - 1]!.ms <= CLUSTER_GAP_MS) last.push(t);
    else clusters.push([t]);
  }
  const found = new Map<string, ScoreCallFields>();
  for (const cluster of clusters) {
    const rows = await database.db
      .select({
        id: calls.id,
        ...CALL_COLUMNS,
      })
      .from(calls)
      .where(
        and(
          inArray(calls.id, cluster.map((t) => t.id)),
          gte(calls.startedAt, new Date(cluster[0]!.ms - ID_WINDOW_MS)),
          lte(calls.startedAt, new Date(cluster[cluster.length - 1]!.ms + ID_WINDOW_MS)),
        ),
      );
    for (const r of rows) found.set(r.id, fieldsOfCallRow(r));
  }
  return found;
}
