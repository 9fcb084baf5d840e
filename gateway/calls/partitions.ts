import { sql } from 'drizzle-orm';
import { affectedRows, rowsOf, type Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { sqlState } from './insert.ts';
import { deleteRollupsBefore, ROLLUP_RETENTION_DAYS } from './rollup.ts';
import { PARTITIONED_TABLES, type PartitionedTable } from './schema.ts';

/**
 * Day partitions for the call log (`calls_pYYYYMMDD`, `call_payloads_pYYYYMMDD`, UTC days).
 *
 * Days are created ahead (yesterday … today+3 by default) at start and on a timer, so a row
 * always has its day waiting. The migration also gives each table a DEFAULT partition so an
 * insert never fails for lack of one; but Postgres refuses to create a day partition while the
 * DEFAULT partition holds rows of that day (it would have to move them). That only happens if
 * the gateway ran with no maintainer for days, or a spool older than the window is replayed.
 * Each run therefore first looks for rows in the DEFAULT partitions and gives their days a
 * partition by moving them (create a plain table, move the rows, ATTACH, in one transaction).
 *
 * Retention drops whole day partitions older than `retentionDays` (never DELETE). The rollups
 * (call_rollups, call_rollups_minute: small, not partitioned) outlive them: their rows are
 * deleted after max(`retentionDays`, `rollupRetentionDays`), and kept for ever when the call
 * log is. Scores of calls (`call_scores`: online, feedback) go with their calls' days, by the
 * day their call started (the day they were written when the call was not found): a judge's
 * reason quotes the answer it scored, so it must not outlive the answer. An eval run's own
 * scores stay with the run. Every
 * change runs under one advisory lock with a short lock_timeout, so several gateways can run
 * this at once and a busy table makes a run give up (and retry next time) instead of queueing
 * the writers behind it.
 */
export interface PartitionMaintainerOptions {
  database: Pick<Database, 'db'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Days of call log kept; undefined or null keeps everything. */
  retentionDays?: number | null | undefined;
  /** Days of rollups kept when `retentionDays` is set (default ROLLUP_RETENTION_DAYS, 400; never fewer than retentionDays). */
  rollupRetentionDays?: number;
  /** Days created ahead of today (default 3). */
  aheadDays?: number;
  /** Days created behind today (default 1: yesterday, for late records). */
  behindDays?: number;
  /** How often the maintenance runs (default hourly; it is idempotent and cheap). */
  intervalMs?: number;
  /** Wall clock, epoch ms. */
  now?: () => number;
}

export interface MaintenanceResult {
  created: string[];
  adopted: string[];
  dropped: string[];
  /** Rollup rows deleted by their own retention. */
  rollupRowsDeleted?: number;
  /** Scores deleted with their calls' days (`call_scores`, not an eval run's). */
  scoreRowsDeleted?: number;
}

const DAY_MS = 86_400_000;
const LOCK_KEY = 0x51_1c_e1;
const PARTITION_NAME = /^(calls|call_payloads)_p(\d{4})(\d{2})(\d{2})$/;

/** Midnight UTC of the day containing `ms`. */
export const dayStart = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

/** `calls_p20250131` for the UTC day containing `ms`. */
export function partitionName(table: PartitionedTable, ms: number): string {
  return `${table}_p${new Date(dayStart(ms)).toISOString().slice(0, 10).replaceAll('-', '')}`;
}


/** The day partitions of a table: name and the epoch ms its day starts. */
export async function listDayPartitions(
  database: Pick<Database, 'db'>,
  table: PartitionedTable,
): Promise<{ name: string; day: number }[]> {
  const rows = rowsOf<{ name: string }>(
    await database.db.execute(sql`
      select c.relname as name from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ${table}::regclass`),
  );
  const out: { name: string; day: number }[] = [];
  for (const { name } of rows) {
    const m = PARTITION_NAME.exec(name);
    if (m && m[1] === table) out.push({ name, day: Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4])) });
  }
  return out.sort((a, b) => a.day - b.day);
}

function bounds(day: number): { from: string; to: string } {
  return { from: new Date(day).toISOString(), to: new Date(day + DAY_MS).toISOString() };
}

type Executor = Pick<Database['db'], 'execute'>;

/** Runs `fn` in a transaction holding the maintenance lock, with a short lock_timeout. */
function locked<T>(database: Pick<Database, 'db'>, fn: (tx: Executor) => Promise<T>): Promise<T> {
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_KEY})`);
    await tx.execute(sql.raw(`set local lock_timeout = '5s'`));
    return fn(tx);
  });
}

/**
 * Deletes the scores of calls that started before `cutoff` (by `created_at` for a score whose
 * call was not found), except an eval run's (source `eval`), which belong to the run.
 */
export async function deleteScoresBefore(db: Executor, cutoff: number): Promise<number> {
  const at = new Date(cutoff).toISOString();
  return affectedRows(await db.execute(sql`delete from call_scores where source <> 'eval' and coalesce(call_started_at, created_at) < ${at}::timestamptz`));
}

async function exists(db: Executor, name: string): Promise<boolean> {
  return Boolean(rowsOf<{ r: string | null }>(await db.execute(sql`select to_regclass(${name})::text as r`))[0]?.r);
}

/**
 * Creates the day's partition of `table` if missing. Returns 'created', 'adopted' (rows of
 * that day were in the DEFAULT partition and were moved in), or 'exists'.
 */
export async function ensureDayPartition(
  database: Pick<Database, 'db'>,
  table: PartitionedTable,
  day: number,
): Promise<'created' | 'adopted' | 'exists'> {
  const name = partitionName(table, day);
  if (await exists(database.db, name)) return 'exists';
  const { from, to } = bounds(day);
  try {
    return await locked(database, async (tx) => {
      // Checked again under the lock: another instance may have just made it.
      if (await exists(tx, name)) return 'exists';
      await tx.execute(sql.raw(`create table ${name} partition of ${table} for values from ('${from}') to ('${to}')`));
      return 'created';
    });
  } catch (err) {
    // 23514: the DEFAULT partition holds rows of this day (see the file comment).
    if (sqlState(err) !== '23514') throw err;
  }
  const def = `${table}_default`;
  return locked(database, async (tx) => {
    if (await exists(tx, name)) return 'exists';
    await tx.execute(sql.raw(`lock table ${def} in access exclusive mode`));
    await tx.execute(sql.raw(`create table ${name} (like ${table} including defaults including constraints)`));
    await tx.execute(
      sql.raw(`with moved as (delete from ${def} where started_at >= '${from}' and started_at < '${to}' returning *)
        insert into ${name} select * from moved`),
    );
    await tx.execute(sql.raw(`alter table ${table} attach partition ${name} for values from ('${from}') to ('${to}')`));
    return 'adopted';
  });
}

/** UTC days (epoch ms) that have rows waiting in the table's DEFAULT partition. */
export async function daysInDefault(database: Pick<Database, 'db'>, table: PartitionedTable): Promise<number[]> {
  const rows = rowsOf<{ day: string }>(
    await database.db.execute(
      sql.raw(`select distinct to_char(started_at at time zone 'UTC', 'YYYY-MM-DD') as day from ${table}_default`),
    ),
  );
  return rows.map((r) => Date.parse(`${r.day}T00:00:00Z`)).sort((a, b) => a - b);
}

/** Drops day partitions that end on or before `cutoff` (epoch ms). Returns their names. */
export async function dropPartitionsBefore(database: Pick<Database, 'db'>, cutoff: number): Promise<string[]> {
  const dropped: string[] = [];
  for (const table of PARTITIONED_TABLES) {
    for (const p of await listDayPartitions(database, table)) {
      if (p.day + DAY_MS > cutoff) continue;
      const gone = await locked(database, async (tx) => {
        if (!(await exists(tx, p.name))) return false;
        await tx.execute(sql.raw(`drop table ${p.name}`));
        return true;
      });
      if (gone) dropped.push(p.name);
    }
  }
  return dropped;
}

export class PartitionMaintainer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<MaintenanceResult> | null = null;
  /** Scores past retention were deleted once since start. */
  private scoresPruned = false;
  private readonly now: () => number;

  constructor(private readonly opts: PartitionMaintainerOptions) {
    this.now = opts.now ?? Date.now;
    const r = opts.retentionDays;
    if (r !== undefined && r !== null && !(Number.isInteger(r) && r >= 1)) {
      throw new Error(`retention_days must be a whole number of days >= 1 (got ${r})`);
    }
  }

  /** One run now, then on the interval. A failed run is logged; the DEFAULT partition still takes rows. */
  async start(): Promise<MaintenanceResult> {
    const first = await this.runOnce();
    if (!this.timer) {
      this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs ?? 3_600_000);
      this.timer.unref();
    }
    return first;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Adopts DEFAULT-partition rows, creates the window's days, applies retention. Never throws. */
  runOnce(): Promise<MaintenanceResult> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<MaintenanceResult> {
    const result: MaintenanceResult = { created: [], adopted: [], dropped: [] };
    const today = dayStart(this.now());
    const days = new Set<number>();
    for (let d = -(this.opts.behindDays ?? 1); d <= (this.opts.aheadDays ?? 3); d++) days.add(today + d * DAY_MS);
    try {
      for (const table of PARTITIONED_TABLES) {
        const wanted = new Set([...(await daysInDefault(this.opts.database, table)), ...days]);
        for (const day of [...wanted].sort((a, b) => a - b)) {
          const outcome = await ensureDayPartition(this.opts.database, table, day);
          if (outcome !== 'exists') result[outcome].push(partitionName(table, day));
        }
      }
      const keep = this.opts.retentionDays;
      if (keep) {
        result.dropped = await dropPartitionsBefore(this.opts.database, today - keep * DAY_MS);
        // call_scores is not partitioned and has no index for this: scanned at start and when a
        // day went, not every hour.
        if (result.dropped.length > 0 || !this.scoresPruned) {
          const scores = await locked(this.opts.database, (tx) => deleteScoresBefore(tx, today - keep * DAY_MS));
          this.scoresPruned = true;
          if (scores > 0) result.scoreRowsDeleted = scores;
        }
        const rollupKeep = Math.max(keep, this.opts.rollupRetentionDays ?? ROLLUP_RETENTION_DAYS);
        const deleted = await locked(this.opts.database, (tx) => deleteRollupsBefore(tx, today - rollupKeep * DAY_MS));
        if (deleted > 0) result.rollupRowsDeleted = deleted;
      }
    } catch (err) {
      this.opts.logger.error('call log: partition maintenance failed; will retry', { err: String((err as Error)?.cause ?? err) });
    }
    if (result.adopted.length > 0) {
      this.opts.logger.warn('call log: moved rows out of a DEFAULT partition into their day', { partitions: result.adopted });
    }
    if (result.created.length > 0 || result.dropped.length > 0) {
      this.opts.logger.info('call log: partitions updated', { created: result.created, dropped: result.dropped });
    }
    return result;
  }
}
