/**
 * Embedded PGlite on the request loop or off it (issue 20 item 4): the same SQL through
 * openDatabase with `inProcess` (PGlite on this thread, as before) and through the worker
 * thread (pglite-host.ts), measuring what this thread pays per operation — event-loop active
 * time (performance.eventLoopUtilization) — and the longest event-loop stall while it runs
 * (gaps of a 1 ms ticker). In-process CPU, not wall-clock throughput: the figures hold on a
 * busy machine. Medians of the runs.
 *
 *   node --import tsx bench/pglite-thread.ts [--runs 5] [--batches 40] [--rows 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../gateway/db/client.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, batches: { type: 'string', default: '40' }, rows: { type: 'string', default: '100' } } });
const runs = Number(values.runs);
const batches = Number(values.batches);
const rows = Number(values.rows);
const body = 'x'.repeat(600);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

interface Run {
  /** Event-loop active ms per batch insert (rows × ~600 B) and per point select. */
  insertActiveMs: number;
  selectActiveMs: number;
  /** Longest event-loop stall seen during the run, ms. */
  maxStallMs: number;
  wallMs: number;
}

async function measure(database: Database): Promise<Run> {
  // A 1 ms ticker: the longest gap between its ticks is the longest time a request would have
  // waited for this loop (monitorEventLoopDelay records nothing while the loop never yields).
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  const start = performance.now();
  let elu = performance.eventLoopUtilization();
  for (let b = 0; b < batches; b++) {
    const values = sql.join(
      Array.from({ length: rows }, (_, i) => sql`(${b * rows + i}, ${body})`),
      sql`, `,
    );
    await database.db.execute(sql`insert into bench_rows (id, body) values ${values}`);
  }
  const insertActiveMs = performance.eventLoopUtilization(elu).active / batches;
  elu = performance.eventLoopUtilization();
  const selects = batches * 10;
  for (let i = 0; i < selects; i++) await database.db.execute(sql`select id, body from bench_rows where id = ${i}`);
  const selectActiveMs = performance.eventLoopUtilization(elu).active / selects;
  clearInterval(ticker);
  maxGap = Math.max(maxGap, performance.now() - last);
  return { insertActiveMs, selectActiveMs, maxStallMs: maxGap, wallMs: performance.now() - start };
}

async function mode(inProcess: boolean, dataDir: string): Promise<Run[]> {
  const database = await openDatabase({ dataDir, inProcess });
  try {
    const out: Run[] = [];
    for (let r = 0; r < runs + 1; r++) {
      await database.db.execute(sql`drop table if exists bench_rows`);
      await database.db.execute(sql`create table bench_rows (id int primary key, body text)`);
      const run = await measure(database);
      if (r > 0) out.push(run); // the first run warms the JIT and PGlite's caches
    }
    await database.db.execute(sql`drop table bench_rows`);
    return out;
  } finally {
    await database.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-pgthread-'));
try {
  const dataDir = join(dir, 'pgdata');
  console.log(`per operation, this thread's event-loop active ms (median of ${runs} runs; ${batches} inserts of ${rows} rows, ${batches * 10} point selects)`);
  for (const inProcess of [true, false]) {
    const r = await mode(inProcess, dataDir);
    const f = (k: keyof Run) => median(r.map((x) => x[k])).toFixed(3);
    console.log(`  ${inProcess ? 'PGlite on this thread ' : 'PGlite in its thread  '}  insert ${f('insertActiveMs')}  select ${f('selectActiveMs')}  longest stall ${f('maxStallMs')} ms  (wall per run ${f('wallMs')} ms)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
