/**
 * What the call log's write-ahead log costs (issue 21): gateways on the same fake upstream, one
 * with the log on (the default) and two with `logging.wal.enabled: false` (the second a control:
 * off − off shows how far two identical processes differ on this machine), all logging every
 * call to the same kind of database (Postgres with DATABASE_URL, else PGlite). Each round
 * measures non-stream and stream calls at 1 connection and non-stream at 50, the gateways back
 * to back in rotating order. The overhead is the median over rounds of (on − off) p50 at 1
 * connection; the goal is ≤ 0.02 ms. The request path's own share is also timed in-process.
 *
 * Usage: node --import tsx bench/call-wal.ts [--rounds 5] [--duration 2] [--warmup 0.5]
 * From bench/run.ts: runCallWal(client, upstreamOrigin, workDir, options, print), then
 * callWalConsole(result) and callWalMarkdown(result).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { CallLogWriter } from '../gateway/calls/writer.ts';
import { silentLogger } from '../gateway/logger.ts';
import { sampleRecord } from '../test/helpers/sample-record.ts';
import { stopAll, stopChild } from './children.ts';
import { LoadClient } from './load-client.ts';
import type { LoadResult } from './protocol.ts';
import { readCpuMs } from './rss.ts';
import { startGateway, startUpstream, type GatewayTarget } from './targets.ts';
import { jobFor, SCENARIOS, type Scenario } from './workload.ts';

export const WAL_GOAL_MS = 0.02;
/** The request path's own share, in-process, that makes the end-to-end goal reachable. */
export const WAL_HOT_PATH_GOAL_US = 20;

export interface CallWalOptions {
  rounds: number;
  warmupMs: number;
  durationMs: number;
  /** Unrecorded load per gateway and scenario before round 1 (JIT, pools). */
  primeMs: number;
}

/** `control`: a second gateway with the log off, so on − off can be read against off − off. */
type Mode = 'on' | 'off' | 'control';
const MODES: readonly Mode[] = ['on', 'off', 'control'];

export interface CallWalRow {
  scenario: string;
  mode: Mode;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number | null;
  failures: number;
}

export interface CallWalDelta {
  scenario: string;
  /** Median over rounds of on − off, ms. */
  addedP50Ms: number;
  addedP99Ms: number;
  addedCpuUs: number | null;
  /** Throughput with the log ÷ without, median over rounds. */
  rpsRatio: number;
  /** The same p50 difference between two gateways both without the log: the run's noise floor. */
  controlP50Ms: number;
}

/**
 * The request path's own cost, in-process (no network, no load generator): the synchronous
 * part of handing a finished record to the call log — with the log on that is the row's
 * serialisation and its one `write`, which happen before the answer's body goes out; with it
 * off the row is built later, off the request path. Also the CPU per call in all, the batch's
 * share included (the batch reuses a row the log built). Medians of chunks of 200 calls, on and
 * off alternating, timed in CPU time (so other processes on a busy machine do not count).
 */
export interface HotPathCost {
  records: number;
  /** µs per JSON call: enqueue with the log on / off, and the difference. */
  onUs: number;
  offUs: number;
  addedUs: number;
  /** µs per JSON call including the batch's share (row building, insert): what the log adds in all. */
  totalOnUs: number;
  totalOffUs: number;
  /** µs per stream with the log: its two entries (opened, answered) and its enqueue at the finish. */
  streamUs: number;
}

export interface CallWalResult {
  options: CallWalOptions;
  hotPath: HotPathCost | null;
  database: string;
  rows: CallWalRow[];
  deltas: CallWalDelta[];
  /** The WAL gateway's counters at the end (/healthz call_log.wal). */
  walStats: Record<string, unknown> | null;
  goal: { goal: string; measured: string; verdict: 'met' | 'not met' };
  failures: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const signed = (x: number, d = 3): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(d)}` : 'n/a');

const scenarioOf = (key: string): Scenario => SCENARIOS.find((s) => s.key === key)!;
const MEASURED: readonly Scenario[] = [scenarioOf('json-1'), scenarioOf('stream-1'), scenarioOf('json-50')];

export async function measureHotPath(records = 20_000, chunk = 200): Promise<HotPathCost> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-walhot-'));
  try {
    // A database that takes every batch at once: between chunks the writer commits what it
    // holds, so the log is released and truncated as in steady state; only enqueue is timed.
    const database = { kind: 'postgres' as const, db: { execute: async () => [] } as never };
    const make = (wal: boolean) =>
      new CallLogWriter({
        database,
        spoolDir: join(dir, wal ? 'on' : 'off'),
        payloads: { enabled: true, maxBytes: 256 * 1024, redactFields: [], redactPatterns: [] },
        logger: silentLogger,
        batchSize: chunk * 4,
        flushMs: 1e9,
        ...(wal ? { wal: {} } : {}),
      });
    const writers = { on: make(true), off: make(false) };
    const perCall: Record<'on' | 'off' | 'onTotal' | 'offTotal' | 'stream', number[]> = { on: [], off: [], onTotal: [], offTotal: [], stream: [] };
    // CPU time of this thread (user + system), not wall time: on a shared machine a chunk that
    // lost the CPU half-way would otherwise count the other processes' work.
    const cpu = (): number => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };
    for (let done = 0; done < records; done += chunk) {
      const batches = { on: fresh(chunk), off: fresh(chunk), stream: fresh(chunk) };
      for (const mode of done % (2 * chunk) === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const t0 = cpu();
        for (const r of batches[mode]) writers[mode].enqueue(r);
        const t1 = cpu();
        // The batch's share: building the rows (already built with the log on) and the insert.
        await writers[mode].flush();
        perCall[mode].push((t1 - t0) / chunk);
        perCall[mode === 'on' ? 'onTotal' : 'offTotal'].push((cpu() - t0) / chunk);
      }
      // A stream's whole share on the event loop: its two entries and its finish (whose row then
      // waits for the batch: the answered entry stands for it in the log).
      const t0 = cpu();
      for (const r of batches.stream) {
        writers.on.streamOpened({ ...r, responseBody: null });
        writers.on.streamAnswered(r);
        writers.on.enqueue(r);
      }
      perCall.stream.push((cpu() - t0) / chunk);
      await writers.on.flush();
    }
    await Promise.all([writers.on.close(), writers.off.close()]);
    // The first tenth warms the JIT.
    const warm = (xs: number[]) => median(xs.slice(Math.floor(xs.length / 10)));
    const onUs = warm(perCall.on);
    const offUs = warm(perCall.off);
    return {
      records,
      onUs,
      offUs,
      addedUs: onUs - offUs,
      totalOnUs: warm(perCall.onTotal),
      totalOffUs: warm(perCall.offTotal),
      streamUs: warm(perCall.stream),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fresh(n: number) {
  const base = Date.now();
  return Array.from({ length: n }, (_, i) => sampleRecord({}, new Date(base + i)));
}

async function walStats(gateway: GatewayTarget): Promise<Record<string, unknown> | null> {
  try {
    const res = await request(`${gateway.origin}/healthz`);
    const body = (await res.body.json()) as { call_log?: { wal?: Record<string, unknown> } };
    return body.call_log?.wal ?? null;
  } catch {
    return null;
  }
}

async function trial(client: LoadClient, gateway: GatewayTarget, s: Scenario, opts: CallWalOptions): Promise<{ result: LoadResult; cpuUs: number | null }> {
  const before = readCpuMs(gateway.child.pid);
  const result = await client.run(jobFor(gateway.origin, s, { warmupMs: opts.warmupMs, durationMs: opts.durationMs }));
  const after = readCpuMs(gateway.child.pid);
  // CPU over warm-up and the measured period, per request of the measured period (both scale alike).
  const total = result.requests * ((opts.warmupMs + opts.durationMs) / opts.durationMs);
  const cpuUs = before !== null && after !== null && total > 0 ? ((after - before) * 1000) / total : null;
  return { result, cpuUs };
}

/** Starts the two gateways under `workDir`, measures, stops them. */
export async function runCallWal(
  client: LoadClient,
  upstream: string,
  workDir: string,
  opts: CallWalOptions,
  print: (line: string) => void = console.log,
): Promise<CallWalResult> {
  const hotPath = await measureHotPath();
  print(
    `wal hot path: enqueue ${fmt(hotPath.onUs, 2)} µs/call with the log, ${fmt(hotPath.offUs, 2)} without (+${fmt(hotPath.addedUs, 2)}); ` +
      `with the batch ${fmt(hotPath.totalOnUs, 2)} vs ${fmt(hotPath.totalOffUs, 2)}; a stream ${fmt(hotPath.streamUs, 2)} µs ` +
      `(goal: +≤ ${WAL_HOT_PATH_GOAL_US} µs per JSON call in-process, ${hotPath.addedUs <= WAL_HOT_PATH_GOAL_US ? 'met' : 'not met'})`,
  );
  const dirs = { on: join(workDir, 'wal-on'), off: join(workDir, 'wal-off'), control: join(workDir, 'wal-control') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const off = ['logging: { wal: { enabled: false } }'];
  const gateways: Record<Mode, GatewayTarget> = {
    on: await startGateway({ upstream, workDir: dirs.on, name: 'gateway (wal on)' }),
    off: await startGateway({ upstream, workDir: dirs.off, configExtra: off, name: 'gateway (wal off)' }),
    control: await startGateway({ upstream, workDir: dirs.control, configExtra: off, name: 'gateway (wal off, control)' }),
  };
  try {
    for (const s of MEASURED) {
      for (const mode of MODES) await client.run(jobFor(gateways[mode].origin, s, { warmupMs: 0, durationMs: opts.primeMs }));
    }
    const trials: Array<{ round: number; scenario: string; mode: Mode; result: LoadResult; cpuUs: number | null }> = [];
    for (let round = 1; round <= opts.rounds; round++) {
      for (const s of MEASURED) {
        const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
        for (const mode of order) {
          const { result, cpuUs } = await trial(client, gateways[mode], s, opts);
          trials.push({ round, scenario: s.label, mode, result, cpuUs });
          print(
            `wal round ${round}  ${s.label.padEnd(20)} wal ${mode.padEnd(7)} ${Math.round(result.rps).toLocaleString('en-US').padStart(7)} req/s  ` +
              `p50 ${fmt(result.latency.p50)} ms  p99 ${fmt(result.latency.p99)} ms  cpu ${cpuUs === null ? 'n/a' : `${cpuUs.toFixed(0)} µs/req`}`,
          );
        }
      }
    }
    const rows: CallWalRow[] = [];
    const deltas: CallWalDelta[] = [];
    for (const s of MEASURED) {
      const of = (mode: Mode) => trials.filter((t) => t.scenario === s.label && t.mode === mode);
      for (const mode of MODES) {
        const ts = of(mode);
        const cpu = ts.map((t) => t.cpuUs).filter((x): x is number => x !== null);
        rows.push({
          scenario: s.label,
          mode,
          rps: median(ts.map((t) => t.result.rps)),
          p50: median(ts.map((t) => t.result.latency.p50)),
          p99: median(ts.map((t) => t.result.latency.p99)),
          cpuUsPerRequest: cpu.length ? median(cpu) : null,
          failures: ts.reduce((n, t) => n + t.result.errors + t.result.non2xx + t.result.badBodies, 0),
        });
      }
      const offs = of('off');
      const paired = of('on').map((t, i) => ({ on: t, off: offs[i]! }));
      const control = of('control').map((t, i) => t.result.latency.p50 - offs[i]!.result.latency.p50);
      const cpuDeltas = paired.filter((p) => p.on.cpuUs !== null && p.off.cpuUs !== null).map((p) => p.on.cpuUs! - p.off.cpuUs!);
      deltas.push({
        scenario: s.label,
        addedP50Ms: median(paired.map((p) => p.on.result.latency.p50 - p.off.result.latency.p50)),
        addedP99Ms: median(paired.map((p) => p.on.result.latency.p99 - p.off.result.latency.p99)),
        addedCpuUs: cpuDeltas.length ? median(cpuDeltas) : null,
        rpsRatio: median(paired.map((p) => p.on.result.rps / p.off.result.rps)),
        controlP50Ms: median(control),
      });
    }
    const oneConn = deltas.find((d) => d.scenario === scenarioOf('json-1').label)!;
    const failures = rows.reduce((n, r) => n + r.failures, 0);
    return {
      options: opts,
      hotPath,
      database: gateways.on.database,
      rows,
      deltas,
      walStats: await walStats(gateways.on),
      goal: {
        goal: `write-ahead log adds ≤ ${WAL_GOAL_MS} ms p50 (non-stream, 1 conn)`,
        measured: `${signed(oneConn.addedP50Ms)} ms`,
        verdict: oneConn.addedP50Ms <= WAL_GOAL_MS ? 'met' : 'not met',
      },
      failures,
    };
  } finally {
    await Promise.all(Object.values(gateways).map((g) => stopChild(g.child, 10_000)));
  }
}

export function callWalConsole(r: CallWalResult): string {
  const lines = [`\nCall write-ahead log (issue 21), ${r.database}, median of ${r.options.rounds} rounds:`];
  for (const row of r.rows) {
    lines.push(
      `  ${row.scenario.padEnd(20)} wal ${row.mode.padEnd(7)} ${Math.round(row.rps).toLocaleString('en-US').padStart(7)} req/s  p50 ${fmt(row.p50)} ms  p99 ${fmt(row.p99)} ms` +
        `  cpu ${row.cpuUsPerRequest === null ? 'n/a' : `${row.cpuUsPerRequest.toFixed(0)} µs/req`}${row.failures ? `  FAILURES ${row.failures}` : ''}`,
    );
  }
  for (const d of r.deltas) {
    lines.push(
      `  ${d.scenario.padEnd(20)} on − off: p50 ${signed(d.addedP50Ms)} ms, p99 ${signed(d.addedP99Ms)} ms, ` +
        `cpu ${d.addedCpuUs === null ? 'n/a' : `${signed(d.addedCpuUs, 0)} µs/req`}, throughput ×${fmt(d.rpsRatio)}; ` +
        `noise floor (off − off) p50 ${signed(d.controlP50Ms)} ms`,
    );
  }
  if (r.hotPath) {
    const h = r.hotPath;
    lines.push(
      `  request path, in-process: enqueue ${fmt(h.onUs, 2)} µs/call with the log vs ${fmt(h.offUs, 2)} without: ` +
        `+${fmt(h.addedUs / 1000, 4)} ms per JSON call; ${fmt(h.streamUs / 1000, 4)} ms per stream (opened + answered entries + finish); ` +
        `CPU in all (with the batch's share) ${fmt(h.totalOnUs, 2)} vs ${fmt(h.totalOffUs, 2)} µs/call`,
    );
  }
  lines.push(`  goal: ${r.goal.goal}: ${r.goal.measured} (${r.goal.verdict})`);
  if (r.walStats) lines.push(`  wal counters: ${JSON.stringify(r.walStats)}`);
  return lines.join('\n');
}

export function callWalMarkdown(r: CallWalResult): string {
  const rows = r.rows.map(
    (row) =>
      `| ${row.scenario} | ${row.mode} | ${Math.round(row.rps).toLocaleString('en-US')} | ${fmt(row.p50)} | ${fmt(row.p99)} | ${row.cpuUsPerRequest === null ? 'n/a' : row.cpuUsPerRequest.toFixed(0)} |`,
  );
  const deltas = r.deltas.map(
    (d) =>
      `| ${d.scenario} | ${signed(d.addedP50Ms)} | ${signed(d.controlP50Ms)} | ${signed(d.addedP99Ms)} | ${d.addedCpuUs === null ? 'n/a' : signed(d.addedCpuUs, 0)} | ×${fmt(d.rpsRatio)} |`,
  );
  return [
    `### Call write-ahead log (issue 21)`,
    '',
    `Gateways on ${r.database}: write-ahead log on, off, and off again (control), in rotating order; median of ${r.options.rounds} rounds.`,
    '',
    '| scenario | wal | req/s | p50 ms | p99 ms | CPU µs/req |',
    '|---|---|---:|---:|---:|---:|',
    ...rows,
    '',
    '| scenario | added p50 ms | off − off p50 ms (noise) | added p99 ms | added CPU µs/req | throughput |',
    '|---|---:|---:|---:|---:|---:|',
    ...deltas,
    '',
    ...(r.hotPath
      ? [
          `Request path in-process (no network): handing a record to the call log takes ${fmt(r.hotPath.onUs, 2)} µs with the log ` +
            `and ${fmt(r.hotPath.offUs, 2)} µs without (+${fmt(r.hotPath.addedUs, 2)} µs per JSON call); a stream's two entries and its finish ${fmt(r.hotPath.streamUs, 2)} µs. ` +
            `CPU per call with the batch's share: ${fmt(r.hotPath.totalOnUs, 2)} µs with the log, ${fmt(r.hotPath.totalOffUs, 2)} µs without.`,
          '',
        ]
      : []),
    `Goal: ${r.goal.goal} — measured ${r.goal.measured}: **${r.goal.verdict}**.`,
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '5' }, duration: { type: 'string', default: '2' }, warmup: { type: 'string', default: '0.5' } },
  });
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-callwal-'));
  try {
    const upstream = await startUpstream();
    const client = await LoadClient.start();
    const result = await runCallWal(client, upstream.origin, workDir, {
      rounds: Number(values.rounds),
      warmupMs: Number(values.warmup) * 1000,
      durationMs: Number(values.duration) * 1000,
      primeMs: 1_000,
    });
    console.log(callWalConsole(result));
    await client.close();
    return result.failures > 0 ? 1 : 0;
  } finally {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
