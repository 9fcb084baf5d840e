import { readFile, unlink } from 'node:fs/promises';
import type { Logger } from '../logger.ts';
import type { CallRowJson } from './call-row.ts';
import type { Spool } from './spool.ts';
import { readRowLine, rowId } from './row-fields.ts';
import { orphanSegments, segmentText } from './wal-files.ts';

export interface WalRecovery {
  /** Calls moved to the spool: the last finished row of each, else its opened (interrupted) row. */
  calls: number;
  interrupted: number;
  /** Lines that were not a whole entry (the process died mid-write): nothing to recover there. */
  torn: number;
  segments: number;
}

/**
 * The rows a set of segments holds, one per call: its last `F` entry, else its `O` entry
 * (whose row already says `interrupted`). Segments must be given oldest first and together:
 * a stream's `O` and `F` can sit in consecutive segments.
 */
export function mergeEntries(texts: readonly string[]): { rows: CallRowJson[]; interrupted: number; torn: number } {
  const byId = new Map<string, { finished: boolean; row: CallRowJson }>();
  let torn = 0;
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      const kind = line.charCodeAt(0);
      const row = kind === 70 || kind === 79 ? readRowLine(line.slice(1)) : null;
      if (row === null) {
        torn++;
        continue;
      }
      const finished = kind === 70; // 'F'
      const id = rowId(row);
      if (finished || !byId.get(id)?.finished) byId.set(id, { finished, row });
    }
  }
  const rows: CallRowJson[] = [];
  let interrupted = 0;
  for (const e of byId.values()) {
    rows.push(e.row);
    if (!e.finished) interrupted++;
  }
  return { rows, interrupted, torn };
}

export interface RecoverOptions {
  dir: string;
  own: ReadonlySet<string>;
  spool: Pick<Spool, 'append' | 'seal'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * Moves what dead processes left in the write-ahead log to the spool (fsynced, sealed), then
 * deletes the segments; the spool's replay then inserts the rows, idempotently on their key,
 * so a call already in the database is a no-op and one recovered twice (a crash between the
 * spool append and the unlink) is too. Runs at start, concurrently with traffic. Never
 * rejects: a failure is logged and the segments stay for the next start.
 */
export function recoverWal(opts: RecoverOptions): Promise<WalRecovery | null> {
  return moveToSpool(opts).catch((err: unknown) => {
    opts.logger.error('call log: cannot recover the write-ahead log', { dir: opts.dir, err: String(err) });
    return null;
  });
}

async function moveToSpool(opts: RecoverOptions): Promise<WalRecovery> {
  const { paths, foreign } = await orphanSegments(opts.dir, opts.own);
  if (foreign.length > 0) {
    opts.logger.warn('call log: write-ahead log segments in a row format this version does not read (a later version wrote them); left in place', { segments: foreign });
  }
  if (paths.length === 0) return { calls: 0, interrupted: 0, torn: 0, segments: 0 };
  const texts: string[] = [];
  for (const path of paths) {
    try {
      texts.push(segmentText(await readFile(path)));
    } catch (err) {
      // Recovered and removed by another process starting on the same directory.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const { rows, interrupted, torn } = mergeEntries(texts);
  if (rows.length > 0) {
    await opts.spool.append(rows);
    await opts.spool.seal();
  }
  for (const path of paths) {
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  const result = { calls: rows.length, interrupted, torn, segments: paths.length };
  if (rows.length > 0 || torn > 0) opts.logger.info('call log: recovered calls from the write-ahead log of an earlier run', { ...result, dir: opts.dir });
  if (torn > 0) opts.logger.warn('call log: torn write-ahead log lines skipped (a process died mid-write)', { torn });
  return result;
}
