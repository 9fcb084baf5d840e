import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readsRowFormat, rowFileTag } from './row-fields.ts';
import { processAlive } from './spool.ts';

/**
 * The call log's write-ahead segments (issue 21) live beside the spool files, in the same
 * directory: `wal-<ms>-<pid>-<seq>.r<format>.log` (row-fields.ts `ROW_FORMAT`; an earlier
 * version's names have no `.r<format>`). The spool ignores them (its names start `calls-`).
 *
 * Each line is one entry (a mapped segment's lines end at its first NUL: `segmentText`): a kind letter, then a prepared row (call-row.ts), so an entry is
 * already capped and redacted like a spooled row:
 * - `O` opened: a stream started; the row says `interrupted` and is what recovery writes when
 *   no `F` for the call follows;
 * - `F` finished: the record as the client saw it answered (the last `F` of a call wins).
 */
export type WalKind = 'O' | 'F';

const NAME = /^wal-(\d+)-(\d+)-(\d+)(?:\.r(\d+))?\.log$/;

export function segmentName(ms: number, seq: number, pid: number = process.pid): string {
  return `wal-${ms}-${pid}-${seq}${rowFileTag}.log`;
}

/**
 * Segments a process that is gone left behind, oldest first: those of a dead pid, and those
 * of this pid that this process did not open (an earlier run that had the same pid, as in a
 * container). A live gateway sharing the directory keeps its own. Segments in a row format
 * this version does not read are not among them: they are `foreign`, left for a version that
 * does.
 */
export async function orphanSegments(dir: string, own: ReadonlySet<string>): Promise<{ paths: string[]; foreign: string[] }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { paths: [], foreign: [] };
    throw err;
  }
  const out: { path: string; ms: number; seq: number }[] = [];
  const foreign: string[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    if (!readsRowFormat(m[4])) {
      foreign.push(path);
      continue;
    }
    if (own.has(path)) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && processAlive(pid)) continue;
    out.push({ path, ms: Number(m[1]), seq: Number(m[3]) });
  }
  out.sort((a, b) => a.ms - b.ms || a.seq - b.seq);
  return { paths: out.map((f) => f.path), foreign };
}

/**
 * A segment's entries as text. A written segment is all entries; a mapped one is a
 * preallocated file whose entries end at the first NUL byte (a row never holds one: JSON
 * escapes control characters), with zeros or an earlier use's bytes after it.
 */
export function segmentText(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('utf8', 0, end < 0 ? bytes.length : end);
}
