import { sql, type SQL } from 'drizzle-orm';
import { affectedRows, type Database } from '../db/client.ts';
import { bucketOf } from './rollup-histogram.ts';
import { fromCallsAround, HOUR_BUCKET, HOUR_KEYS, ROLLUP_SOURCE_COLUMNS, rollupUpserts } from './rollup-sql.ts';

const EDGE_KEYS = [HOUR_BUCKET, ...HOUR_KEYS.slice(1)];

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/**
 * How long rollups are kept when the call log's own retention is shorter (or unset): 400 days,
 * so a year-over-year view survives the day partitions being dropped. When `logging.retention_days`
 * is longer, the rollups follow it; when the call log is kept for ever, so are they.
 */
export const ROLLUP_RETENTION_DAYS = 400;

/**
 * A window [since, until) cut for the readers: `hours` is the whole hours inside it (read from
 * call_rollups), `edges` the ragged parts before and after (read from `calls`, at most an hour
 * each). A window inside one or two hours is all edge.
 */
export interface WindowSplit {
  hours: { from: Date; to: Date } | null;
  edges: Array<{ from: Date; to: Date }>;
}

export function splitWindow(since: Date, until: Date, grainMs = HOUR_MS): WindowSplit {
  const s = since.getTime();
  const u = until.getTime();
  const a = Math.ceil(s / grainMs) * grainMs;
  const b = Math.floor(u / grainMs) * grainMs;
  if (a >= b) return { hours: null, edges: s < u ? [{ from: since, to: until }] : [] };
  const edges: WindowSplit['edges'] = [];
  if (s < a) edges.push({ from: since, to: new Date(a) });
  if (b < u) edges.push({ from: new Date(b), to: until });
  return { hours: { from: new Date(a), to: new Date(b) }, edges };
}

const iso = (d: Date) => d.toISOString();

/**
 * Rows shaped like call_rollups (`bucket`, the keys, the measures named) covering [since, until):
 * whole hours from the rollup, the edges aggregated from `calls` on the fly. `where` filters
 * both, and may name only the key columns (route, variant, shadow, provider, model, api_key_id).
 */
export function rollupRows(range: { since: Date; until: Date }, measures: readonly string[], where?: SQL): SQL {
  const { hours, edges } = splitWindow(range.since, range.until);
  const extra = where ? sql` and (${where})` : sql``;
  const keys = 'route, variant, shadow, provider, model, api_key_id';
  const parts: SQL[] = [];
  if (hours) {
    parts.push(sql`select bucket, ${sql.raw(`${keys}, ${measures.join(', ')}`)} from call_rollups
      where bucket >= ${iso(hours.from)}::timestamptz and bucket < ${iso(hours.to)}::timestamptz${extra}`);
  }
  for (const e of edges) {
    // The key columns keep their names (k0 … are renamed back) so `where` reads the same on both.
    const rows = sql`(select ${sql.raw(ROLLUP_SOURCE_COLUMNS)}, ${sql.raw(bucketOf('latency_ms', `status = 'ok'`))} as lb from calls
        where started_at >= ${iso(e.from)}::timestamptz and started_at < ${iso(e.to)}::timestamptz${extra}) s`;
    const [head, tail] = fromCallsAround(EDGE_KEYS, measures);
    parts.push(sql`select k0 as bucket, k1 as route, k2 as variant, k3 as shadow, k4 as provider, k5 as model, k6 as api_key_id, ${sql.raw(measures.join(', '))}
      from (${sql.raw(head)}${rows}${sql.raw(tail)}) e`);
  }
  if (parts.length === 0) parts.push(sql.raw(`select bucket, ${keys}, ${measures.join(', ')} from call_rollups where false`));
  return sql`(${sql.join(parts, sql.raw('\nunion all\n'))})`;
}

type Executor = Pick<Database['db'], 'execute'>;

/**
 * Recomputes both rollups from `calls` for the whole hours touching [since, until): a one-off
 * for rows that reached `calls` some other way than the writer (a bulk import, an instance
 * older than the rollups during a rolling upgrade). Hours whose calls were already dropped by
 * retention lose their rollup too, so give it only a range the call log still holds.
 */
export async function rebuildRollups(database: Pick<Database, 'db'>, range: { since: Date; until: Date }): Promise<void> {
  const from = new Date(Math.floor(range.since.getTime() / HOUR_MS) * HOUR_MS);
  const to = new Date(Math.ceil(range.until.getTime() / HOUR_MS) * HOUR_MS);
  const src = `calls where started_at >= '${iso(from)}' and started_at < '${iso(to)}'`;
  const up = rollupUpserts(`(select * from ${src}) src`);
  await database.db.transaction(async (tx: Executor) => {
    await tx.execute(sql.raw(`delete from call_rollups where bucket >= '${iso(from)}' and bucket < '${iso(to)}'`));
    await tx.execute(sql.raw(`delete from call_rollups_minute where bucket >= '${iso(from)}' and bucket < '${iso(to)}'`));
    await tx.execute(sql.raw(up.hourly));
    await tx.execute(sql.raw(up.minute));
  });
}

/** Deletes rollup rows of buckets before `cutoff` (epoch ms); returns how many. */
export async function deleteRollupsBefore(db: Executor, cutoff: number): Promise<number> {
  let n = 0;
  for (const table of ['call_rollups', 'call_rollups_minute']) {
    const res = await db.execute(sql.raw(`delete from ${table} where bucket < '${new Date(cutoff).toISOString()}'`));
    n += affectedRows(res);
  }
  return n;
}
