/**
 * Where the call log's cost goes, in-process (issue 20 item 1, issue 21): µs of CPU per call
 * for each step a logged call goes through, each timed alone over many calls (CPU time of this
 * thread, process.cpuUsage, so other processes on a busy machine do not count), median of
 * several runs. The batch insert is timed per row on this thread (statement building, the
 * driver, and on PGlite Postgres itself) and, on a Postgres server on this machine, the
 * server's own CPU for it (its backend's /proc/<pid>/stat).
 *
 * Usage: node --import tsx bench/logging-micro.ts [--calls 10000] [--runs 5] [--db pglite|postgres|both|none]
 * Postgres: DATABASE_URL (a scratch database is created on it and dropped).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { CallEvents } from '../gateway/calls/call-events.ts';
import { toCallRow } from '../gateway/calls/call-row.ts';
import { insertCallRows } from '../gateway/calls/insert.ts';
import { nothingToRedact } from '../gateway/calls/payload-scan.ts';
import { compilePayloadPolicy, redactValue, type PayloadOptions } from '../gateway/calls/payloads.ts';
import type { CallRecord } from '../gateway/calls/record.ts';
import { estimateRecordBytes } from '../gateway/calls/record-size.ts';
import { cleanMetadata, cleanText } from '../gateway/calls/record-text.ts';
import { CallTracker } from '../gateway/calls/tracker.ts';
import { CallWal } from '../gateway/calls/wal.ts';
import { CallLogWriter } from '../gateway/calls/writer.ts';
import { openDatabase, rowsOf, type Database } from '../gateway/db/client.ts';
import { silentLogger } from '../gateway/logger.ts';
import type { Provider } from '../gateway/providers/types.ts';
import { createScratchDatabase } from '../test/helpers/test-db.ts';
import { sampleRecord } from '../test/helpers/sample-record.ts';
import { readCpuMs } from './rss.ts';

/** As the bench gateway's config has it: payloads on, one provider key to scrub. */
export const BENCH_PAYLOADS: PayloadOptions = {
  enabled: true,
  maxBytes: 256 * 1024,
  redactFields: [],
  redactPatterns: [],
  secrets: ['sk-bench-upstream'],
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** µs of CPU per op: `op(i)` for i < n, median of `runs` runs (after one unrecorded warm-up run). */
function perOp(n: number, runs: number, op: (i: number) => void, between?: () => void): number {
  const out: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const t0 = cpuUs();
    for (let i = 0; i < n; i++) op(i);
    const t = (cpuUs() - t0) / n;
    if (r > 0) out.push(t);
    between?.();
  }
  return median(out);
}

function records(n: number): CallRecord[] {
  const base = Date.now();
  return Array.from({ length: n }, (_, i) => sampleRecord({}, new Date(base + i)));
}

export interface StepCost {
  step: string;
  us: number;
  note: string;
}

/** The request-path steps (no database). */
export function requestPathSteps(n = 10_000, runs = 5): StepCost[] {
  const policy = compilePayloadPolicy(BENCH_PAYLOADS);
  const recs = records(n);
  const steps: StepCost[] = [];
  const provider = { name: 'up', type: 'openai-compatible' } as unknown as Provider;
  const pricer = { price: () => ({ costMicros: 46.8, status: 'exact' as const }) };
  const events = new CallEvents();
  const deps = { events, pricer, now: () => performance.now(), clock: Date.now };
  steps.push({
    step: 'record building (tracker, start to finish)',
    us: perOp(n, runs, (i) => {
      const r = recs[i]!;
      const t = new CallTracker({ id: r.id, requestId: r.requestId, endpoint: 'chat.completions', startedAt: r.startedAt, t0: performance.now() }, deps);
      t.setTarget(provider, 'gpt-4o-mini');
      t.setRequest(r.requestBody);
      t.setClientFacts({ stream: false, user: r.user, metadata: r.metadata });
      t.setRoute('support-bot', 'control', null);
      t.attempts.push({ provider: 'up', model: 'gpt-4o-mini', status: 200, error: null, latencyMs: 1 });
      t.price(r.usage, false, 'chat');
      t.finishOk(r.responseBody);
    }),
    note: 'CallTracker, the set* calls a chat call makes, price (stubbed), finish (freeze, emit)',
  });
  steps.push({
    step: 'payload JSON serialisation',
    us: perOp(n, runs, (i) => {
      const r = recs[i]!;
      JSON.stringify(r.requestBody);
      JSON.stringify(r.responseBody);
    }),
    note: 'JSON.stringify of the request and response bodies',
  });
  steps.push({
    step: 'redaction',
    us: perOp(n, runs, (i) => {
      const r = recs[i]!;
      redactValue(r.requestBody, policy);
      redactValue(r.responseBody, policy);
      cleanText(r.user, policy, 512);
      cleanText(r.model, policy, 512);
      cleanText(r.requestId, policy, 512);
      cleanMetadata(r.metadata, policy);
    }),
    note: 'both bodies walked (every string scrubbed) and the client strings of the row',
  });
  const texts = recs.map((r) => [JSON.stringify(r.requestBody), JSON.stringify(r.responseBody)] as const);
  const quick = policy.quick;
  if (quick) {
    steps.push({
      step: 'payload scan (the fast path instead of the walk)',
      us: perOp(n, runs, (i) => {
        nothingToRedact(texts[i]![0], quick);
        nothingToRedact(texts[i]![1], quick);
      }),
      note: 'payload-scan.ts over both bodies’ JSON text',
    });
  }
  const now = Date.now();
  steps.push({
    step: 'row building (all of the above but the tracker)',
    us: perOp(n, runs, (i) => toCallRow(recs[i]!, policy, now)),
    note: 'toCallRow: redaction, caps, row object, JSON text',
  });
  const rows = recs.map((r) => toCallRow(r, policy, now));
  const dir = mkdtempSync(join(tmpdir(), 'sluice-logmicro-'));
  try {
    const wal = new CallWal({ dir, now: Date.now, logger: silentLogger });
    steps.push({
      step: 'WAL entry: encoding + write',
      us: perOp(
        n,
        runs,
        (i) => wal.append('F', rows[i]!),
        () => wal.release(rows),
      ),
      note: 'one line, one writeSync (page cache, no fsync); the log truncated between runs',
    });
    wal.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  steps.push({
    step: 'enqueue size estimate',
    us: perOp(n, runs, (i) => estimateRecordBytes(recs[i]!)),
    note: 'record-size.ts: the byte bound’s walk of the bodies',
  });
  return steps;
}

/**
 * enqueue() as a whole, with and without the log, in steady state: chunks of 200 calls, each
 * followed by a flush to a database that takes every batch (so the log is released and
 * truncated between chunks, as batches commit in a gateway); only enqueue is timed.
 */
export async function enqueueCost(n = 10_000, runs = 5, payloads: PayloadOptions = BENCH_PAYLOADS): Promise<{ on: number; off: number; stream: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-logmicro-'));
  const chunk = 200;
  try {
    const database = { kind: 'postgres' as const, db: { execute: async () => [] } as never };
    const make = (wal: boolean) =>
      new CallLogWriter({ database, spoolDir: join(dir, wal ? 'on' : 'off'), payloads, logger: silentLogger, batchSize: 1e6, flushMs: 1e9, ...(wal ? { wal: {} } : {}) });
    const on = make(true);
    const off = make(false);
    const out = { on: [] as number[], off: [] as number[], stream: [] as number[] };
    for (let r = 0; r <= runs; r++) {
      const spent = { on: 0, off: 0, stream: 0 };
      for (let done = 0; done < n; done += chunk) {
        for (const [name, w] of [['on', on], ['off', off]] as const) {
          const recs = records(chunk);
          const t0 = cpuUs();
          for (const rec of recs) w.enqueue(rec);
          spent[name] += cpuUs() - t0;
          await w.flush();
        }
        const recs = records(chunk);
        const t0 = cpuUs();
        for (const rec of recs) {
          on.streamOpened({ ...rec, responseBody: null });
          on.streamAnswered(rec);
          on.enqueue(rec);
        }
        spent.stream += cpuUs() - t0;
        await on.flush();
      }
      if (r === 0) continue;
      out.on.push(spent.on / n);
      out.off.push(spent.off / n);
      out.stream.push(spent.stream / n);
    }
    await Promise.all([on.close(), off.close()]);
    return { on: median(out.on), off: median(out.off), stream: median(out.stream) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface InsertCost {
  database: string;
  payloads: boolean;
  /** µs of this thread's CPU per row (statement text, parameter, driver; on PGlite also Postgres). */
  clientUs: number;
  /** µs of the Postgres backend's CPU per row (server on this machine), else null. */
  serverUs: number | null;
  /** Wall µs per row. */
  wallUs: number;
}

async function openBench(kind: 'pglite' | 'postgres'): Promise<{ database: Database; drop: () => Promise<void> }> {
  if (kind === 'pglite') {
    const database = await openDatabase({});
    await database.migrate();
    return { database, drop: () => database.close() };
  }
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const scratch = await createScratchDatabase(url);
  const database = await openDatabase({ url: scratch.url, max: 1 });
  await database.migrate();
  return {
    database,
    drop: async () => {
      await database.close();
      await scratch.drop();
    },
  };
}

/** Batches of `batch` rows (payloads on) through insert.ts, one at a time. */
export async function insertCost(kind: 'pglite' | 'postgres', payloads: boolean, n = 10_000, batch = 500, runs = 3): Promise<InsertCost> {
  const { database, drop } = await openBench(kind);
  try {
    const policy = compilePayloadPolicy({ ...BENCH_PAYLOADS, enabled: payloads });
    const now = Date.now();
    const backend =
      kind === 'postgres' ? Number(rowsOf<{ pid: number }>(await database.db.execute(sql`select pg_backend_pid() as pid`))[0]!.pid) : null;
    const client: number[] = [];
    const server: number[] = [];
    const wall: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const rows = records(n).map((rec) => toCallRow(rec, policy, now));
      const s0 = backend === null ? null : readCpuMs(backend);
      const t0 = cpuUs();
      const w0 = performance.now();
      for (let i = 0; i < rows.length; i += batch) await insertCallRows(database, rows.slice(i, i + batch));
      const s1 = backend === null ? null : readCpuMs(backend);
      if (r === 0) continue;
      client.push((cpuUs() - t0) / n);
      wall.push(((performance.now() - w0) * 1000) / n);
      if (s0 !== null && s1 !== null) server.push(((s1 - s0) * 1000) / n);
    }
    return { database: kind, payloads, clientUs: median(client), serverUs: server.length ? median(server) : null, wallUs: median(wall) };
  } finally {
    await drop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { calls: { type: 'string', default: '10000' }, runs: { type: 'string', default: '5' }, db: { type: 'string', default: 'both' } },
  });
  const n = Number(values.calls);
  const runs = Number(values.runs);
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  console.log(`per call, µs of CPU, median of ${runs} runs of ${n} calls`);
  for (const s of requestPathSteps(n, runs)) console.log(`  ${s.step.padEnd(48)} ${f(s.us).padStart(7)}  ${s.note}`);
  const e = await enqueueCost(n, runs);
  console.log(`  ${'enqueue, write-ahead log off'.padEnd(48)} ${f(e.off).padStart(7)}`);
  console.log(`  ${'enqueue, write-ahead log on'.padEnd(48)} ${f(e.on).padStart(7)}  (+${f(e.on - e.off)})`);
  console.log(`  ${'stream: opened + answered entries + finish'.padEnd(48)} ${f(e.stream).padStart(7)}`);
  const kinds: Array<'pglite' | 'postgres'> =
    values.db === 'none'
      ? []
      : values.db === 'both'
        ? ['pglite', ...(process.env.DATABASE_URL ? (['postgres'] as const) : [])]
        : [values.db as 'pglite' | 'postgres'];
  for (const kind of kinds) {
    for (const payloads of [true, false]) {
      const c = await insertCost(kind, payloads, n);
      console.log(
        `  batch insert per row (${kind}, payloads ${payloads ? 'on' : 'off'}): this thread ${f(c.clientUs)} µs, ` +
          `Postgres backend ${f(c.serverUs)} µs, wall ${f(c.wallUs)} µs`,
      );
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
