/**
 * What the call log's write-ahead log costs (issue 21): gateways on the same fake upstream,
 * `processes` of them with the log on (the default), as many with `logging.wal.enabled: false`,
 * and as many again with it off as a control, all logging every call to the same kind of
 * database (Postgres with DATABASE_URL, else PGlite). The control measures off − off with the
 * very estimator used for on − off: the noise floor the answer has to be read against.
 *
 * Precision (issue 21 item 4 asks ≤ 0.02 ms p50 at 1 conn, so the answer must be good to
 * ±0.01 ms): identical gateway processes differ by more than that in p50 for as long as they
 * live (JIT, heap layout, where the scheduler puts them), so more rounds on the same two
 * processes cannot shrink the error; more processes can. So:
 * - many short rounds: `rounds × durationMs` of load per gateway and scenario is split into
 *   rounds of `trialMs`, every gateway in every round, so slow drift in what the machine does
 *   hits every gateway alike;
 * - each trial is taken relative to its round (minus the mean of the off gateways' trials in
 *   the same round), and each process summarised by the median of those over rounds;
 * - on − off is the difference of the arms' mean per-process values, with a 95% t-interval
 *   whose variance is the per-process spread pooled over the three arms: the process-to-process
 *   difference is in it, not only the round-to-round one;
 * - at 1 connection the requests are interleaved: this process sends one request at a time to
 *   each gateway in turn, so a burst of other work on the machine delays every arm alike
 *   (50 connections: a trial per gateway from the load generator, in rotating order);
 * - with `pin` the gateways run on the last CPU and the load generator, the fake upstream and
 *   this process on the others (taskset): off by default, since on a loaded machine it made
 *   the intervals wider, not narrower.
 * The goal is met only if the interval's upper end is ≤ 0.02 ms, not met if its lower end is
 * above, and "not shown" otherwise. The request path's own share is also timed in-process.
 *
 * Usage: node --import tsx bench/call-wal.ts [--rounds 3] [--duration 2] [--trial 0.4]
 *   [--warmup 0.1] [--processes 2] [--pin] [--no-interleave] [--no-hot-path] [--scenarios json-1,stream-1,json-50] [--dump f.json]
 * From bench/run.ts: runCallWal(client, upstreamOrigin, workDir, options, print), then
 * callWalConsole(result) and callWalMarkdown(result).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';
import { CallLogWriter } from '../gateway/calls/writer.ts';
import { silentLogger } from '../gateway/logger.ts';
import { sampleRecord } from '../test/helpers/sample-record.ts';
import { Histogram } from './histogram.ts';
import { installCleanup, liveChildren, pinProcess, stopAll, stopChild } from './children.ts';
import { LoadClient } from './load-client.ts';
import type { LoadResult } from './protocol.ts';
import { readCpuMs } from './rss.ts';
import { mean, median, medianInterval, sumSquares, t975 } from './summary.ts';
import { startGateway, startUpstream, type GatewayTarget } from './targets.ts';
import { jobFor, requestFor, SCENARIOS, type Scenario, type ScenarioKey } from './workload.ts';

export const WAL_GOAL_MS = 0.02;
/** The request path's own share, in-process, that makes the end-to-end goal reachable. */
export const WAL_HOT_PATH_GOAL_US = 20;

export interface CallWalOptions {
  /** With durationMs: the load per gateway and scenario, rounds × durationMs, split into trials of trialMs. */
  rounds: number;
  /** Warm-up of each trial (a new connection), capped at 150 ms: the gateways are primed already. */
  warmupMs: number;
  durationMs: number;
  /** Unrecorded load per gateway and scenario before round 1 (JIT, pools). */
  primeMs: number;
  /** Measured length of one trial (default 400 ms). */
  trialMs?: number | undefined;
  /** Gateways per arm (on, off, control); default 2. One leaves the process effect unmeasured. */
  processes?: number | undefined;
  /**
   * Gateways on the last CPU, everything else on the others (taskset; needs ≥ 2 CPUs). Off by
   * default: on a machine others were loading it widened the intervals two- to threefold (the
   * scheduler could no longer move a gateway away from a busy core); see bench/README.md.
   */
  pin?: boolean | undefined;
  scenarios?: readonly ScenarioKey[] | undefined;
  /**
   * At 1 connection, send one request at a time to each gateway in turn (rotating order) from
   * this process instead of a trial per gateway from the load generator, so whatever else the
   * machine does at that moment delays both arms alike (default true).
   */
  interleave?: boolean | undefined;
  /** Skip the in-process request-path timing (when iterating on the end-to-end part). */
  skipHotPath?: boolean | undefined;
}

/** `control`: gateways with the log off too, so on − off can be read against off − off. */
type Arm = 'on' | 'off' | 'control';
const ARMS: readonly Arm[] = ['on', 'off', 'control'];

export interface CallWalRow {
  scenario: string;
  mode: Arm;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number | null;
  failures: number;
}

/** An estimate with its 95% interval. */
export interface Estimate {
  value: number;
  lo: number;
  hi: number;
}

export interface CallWalDelta {
  scenario: string;
  /** on − off, ms, with the process-level interval (round-level where there is one process per arm). */
  addedP50Ms: number;
  p50: Estimate;
  /** The same on the round level only (median of per-round differences): what ignoring process effects would claim. */
  p50Rounds: Estimate | null;
  addedP99Ms: number;
  p99: Estimate;
  addedCpuUs: number | null;
  /** Throughput with the log ÷ without. */
  rpsRatio: number;
  /** control − off with the same estimators: the noise floor. */
  controlP50Ms: number;
  control: Estimate;
  controlRounds: Estimate | null;
  controlP99: Estimate;
}

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
  /**
   * The same enqueue, one call at a time after 1 ms idle (as a gateway at 1 connection does,
   * between waiting for the upstream and the client): what other processes evicted from the
   * caches meanwhile is paid again, so these are larger than the back-to-back figures.
   * Medians over single calls, µs of CPU.
   */
  coldOnUs: number;
  coldOffUs: number;
  coldAddedUs: number;
}

export interface CallWalTrial {
  round: number;
  scenario: ScenarioKey;
  arm: Arm;
  proc: number;
  p50: number;
  p99: number;
  rps: number;
  cpuUs: number | null;
  failures: number;
}

export interface CallWalResult {
  options: CallWalOptions;
  /** As run: rounds of trialMs, processes per arm, pinned or not. */
  design: { rounds: number; trialMs: number; warmupMs: number; processes: number; pinned: string | null; loadAverage: number[] };
  hotPath: HotPathCost | null;
  database: string;
  rows: CallWalRow[];
  deltas: CallWalDelta[];
  trials: CallWalTrial[];
  /** The first WAL gateway's counters at the end (/healthz call_log.wal). */
  walStats: Record<string, unknown> | null;
  goal: { goal: string; measured: string; verdict: 'met' | 'not met' | 'not shown' };
  failures: number;
}

const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const signed = (x: number, d = 3): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(d)}` : 'n/a');
const interval = (e: Estimate | null, d = 3): string => (e ? `${signed(e.value, d)} [${signed(e.lo, d)}, ${signed(e.hi, d)}]` : 'n/a');

const scenarioOf = (key: string): Scenario => SCENARIOS.find((s) => s.key === key)!;
const ALL_MEASURED: readonly ScenarioKey[] = ['json-1', 'stream-1', 'json-50'];

export async function measureHotPath(records = 20_000, chunk = 200, coldCalls = 1_000): Promise<HotPathCost> {
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
        // As in the gateway: the row is begun while the upstream call is out (null without the log).
        const starts = batches[mode].map((r) => writers[mode].startRow?.(r) ?? null);
        const t0 = cpu();
        for (let i = 0; i < chunk; i++) writers[mode].enqueue(batches[mode][i]!, starts[i]);
        const t1 = cpu();
        // The batch's share: building the rows (already built with the log on) and the insert.
        await writers[mode].flush();
        perCall[mode].push((t1 - t0) / chunk);
        perCall[mode === 'on' ? 'onTotal' : 'offTotal'].push((cpu() - t0) / chunk);
      }
      // A stream's whole share on the event loop: its two entries and its finish (whose row then
      // waits for the batch: the answered entry stands for it in the log).
      const streamStarts = batches.stream.map((r) => writers.on.startRow?.(r) ?? null);
      const t0 = cpu();
      for (let i = 0; i < chunk; i++) {
        const r = batches.stream[i]!;
        writers.on.streamOpened({ ...r, responseBody: null }, streamStarts[i]);
        writers.on.streamAnswered(r, streamStarts[i]);
        writers.on.enqueue(r, streamStarts[i]);
      }
      perCall.stream.push((cpu() - t0) / chunk);
      await writers.on.flush();
    }
    // One call at a time after an idle millisecond, on and off alternating.
    const cold: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (let done = 0; done < coldCalls; done += 50) {
      const batches = { on: fresh(50), off: fresh(50) };
      for (let i = 0; i < 50; i++) {
        for (const mode of i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          const start = writers[mode].startRow?.(batches[mode][i]!) ?? null;
          await new Promise((r) => setTimeout(r, 1));
          const t0 = cpu();
          writers[mode].enqueue(batches[mode][i]!, start);
          cold[mode].push(cpu() - t0);
        }
      }
      await Promise.all([writers.on.flush(), writers.off.flush()]);
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
      coldOnUs: median(cold.on),
      coldOffUs: median(cold.off),
      coldAddedUs: median(cold.on) - median(cold.off),
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

interface Gateway {
  arm: Arm;
  proc: number;
  target: GatewayTarget;
}

async function trial(client: LoadClient, gateway: GatewayTarget, s: Scenario, warmupMs: number, durationMs: number): Promise<{ result: LoadResult; cpuUs: number | null }> {
  const before = readCpuMs(gateway.child.pid);
  const result = await client.run(jobFor(gateway.origin, s, { warmupMs, durationMs }));
  const after = readCpuMs(gateway.child.pid);
  // CPU over warm-up and the measured period, per request of the measured period (both scale alike).
  const total = result.requests * ((warmupMs + durationMs) / durationMs);
  const cpuUs = before !== null && after !== null && total > 0 ? ((after - before) * 1000) / total : null;
  return { result, cpuUs };
}

/**
 * Per process, the median over rounds of its trial minus its round's baseline (the mean of the
 * off arm's trials in that round): drift common to a round cancels, what stays with a process
 * does not.
 */
function perProcess(trials: readonly CallWalTrial[], metric: (t: CallWalTrial) => number | null): Map<Arm, number[]> {
  const baseline = new Map<number, number>();
  for (const round of new Set(trials.map((t) => t.round))) {
    const offs = trials.filter((t) => t.round === round && t.arm === 'off').map(metric);
    if (offs.every((v) => v !== null)) baseline.set(round, mean(offs as number[]));
  }
  const out = new Map<Arm, number[]>(ARMS.map((a) => [a, []]));
  const procs = new Set(trials.map((t) => `${t.arm}/${t.proc}`));
  for (const key of procs) {
    const [arm, proc] = key.split('/') as [Arm, string];
    const rel: number[] = [];
    for (const t of trials) {
      const v = metric(t);
      const b = baseline.get(t.round);
      if (t.arm === arm && String(t.proc) === proc && v !== null && b !== undefined) rel.push(v - b);
    }
    if (rel.length) out.get(arm)!.push(median(rel));
  }
  return out;
}

/** arm a − arm b from per-process values, 95% t-interval on the spread pooled over all arms. */
function contrast(values: Map<Arm, number[]>, a: Arm, b: Arm): Estimate {
  const xa = values.get(a) ?? [];
  const xb = values.get(b) ?? [];
  const value = mean(xa) - mean(xb);
  let ss = 0;
  let df = 0;
  for (const xs of values.values()) {
    ss += sumSquares(xs);
    df += Math.max(0, xs.length - 1);
  }
  if (df === 0) return { value, lo: Number.NaN, hi: Number.NaN };
  const half = t975(df) * Math.sqrt((ss / df) * (1 / xa.length + 1 / xb.length));
  return { value, lo: value - half, hi: value + half };
}

/** Median over rounds of (mean of arm a's trials − mean of arm b's), with its order-statistic interval. */
function roundLevel(trials: readonly CallWalTrial[], a: Arm, b: Arm, metric: (t: CallWalTrial) => number): Estimate | null {
  const diffs: number[] = [];
  for (const round of new Set(trials.map((t) => t.round))) {
    const of = (arm: Arm) => mean(trials.filter((t) => t.round === round && t.arm === arm).map(metric));
    diffs.push(of(a) - of(b));
  }
  const ci = medianInterval(diffs);
  return ci ? { value: median(diffs), ...ci } : null;
}

interface RoundStats {
  p50: number;
  p99: number;
  rps: number;
  cpuUs: number | null;
  failures: number;
}

const DONE_TAIL = 'data: [DONE]\n\n';

/**
 * One round at 1 connection, interleaved: each gateway gets one request in turn (the order
 * rotated every cycle), never two at once, for `perGatewayMs` × gateways in all, after
 * `warmupMs` of the same unrecorded. Neighbouring requests to different arms are a millisecond
 * apart, so a burst of other work on the machine lands on both arms instead of on one trial.
 */
async function interleavedRound(pools: readonly Pool[], pids: readonly number[], s: Scenario, warmupMs: number, perGatewayMs: number): Promise<RoundStats[]> {
  const { headers, body } = requestFor(s);
  const n = pools.length;
  const hist = pools.map(() => new Histogram());
  const failures = pools.map(() => 0);
  const one = async (i: number): Promise<number | null> => {
    const t0 = performance.now();
    try {
      const res = await pools[i]!.request({ path: '/v1/chat/completions', method: 'POST', headers, body });
      const text = await res.body.text();
      const ms = performance.now() - t0;
      return res.statusCode === 200 && (!s.stream || text.endsWith(DONE_TAIL)) ? ms : null;
    } catch {
      return null;
    }
  };
  const warmEnd = performance.now() + warmupMs;
  for (let k = 0; performance.now() < warmEnd; k++) await one(k % n);
  const cpu0 = pids.map((pid) => readCpuMs(pid));
  const end = performance.now() + perGatewayMs * n;
  for (let cycle = 0; performance.now() < end; cycle++) {
    for (let j = 0; j < n; j++) {
      const i = (j + cycle) % n;
      const ms = await one(i);
      if (ms === null) failures[i]!++;
      else hist[i]!.record(ms);
    }
  }
  return pools.map((_, i) => {
    const h = hist[i]!;
    const after = readCpuMs(pids[i]!);
    const before = cpu0[i];
    return {
      p50: h.quantile(0.5),
      p99: h.quantile(0.99),
      // Every gateway gets as many requests as the others here: its rate at one connection
      // of its own is what its mean latency allows.
      rps: h.count > 0 ? 1000 / h.summary().mean : Number.NaN,
      cpuUs: before !== null && before !== undefined && after !== null && h.count > 0 ? ((after - before) * 1000) / h.count : null,
      failures: failures[i]!,
    };
  });
}

/** Starts the gateways under `workDir`, measures, stops them. */
export async function runCallWal(
  client: LoadClient,
  upstream: string,
  workDir: string,
  opts: CallWalOptions,
  print: (line: string) => void = console.log,
): Promise<CallWalResult> {
  const hotPath = opts.skipHotPath ? null : await measureHotPath();
  if (hotPath) {
    print(
      `wal hot path: enqueue ${fmt(hotPath.onUs, 2)} µs/call with the log, ${fmt(hotPath.offUs, 2)} without (+${fmt(hotPath.addedUs, 2)}); ` +
        `with the batch ${fmt(hotPath.totalOnUs, 2)} vs ${fmt(hotPath.totalOffUs, 2)}; a stream ${fmt(hotPath.streamUs, 2)} µs; ` +
        `one call after 1 ms idle ${fmt(hotPath.coldOnUs, 1)} vs ${fmt(hotPath.coldOffUs, 1)} (+${fmt(hotPath.coldAddedUs, 1)}) ` +
        `(goal: +≤ ${WAL_HOT_PATH_GOAL_US} µs per JSON call in-process, ${hotPath.addedUs <= WAL_HOT_PATH_GOAL_US ? 'met' : 'not met'})`,
    );
  }
  const trialMs = Math.max(100, opts.trialMs ?? 400);
  const rounds = Math.max(opts.rounds, Math.round((opts.rounds * opts.durationMs) / trialMs));
  const warmupMs = Math.min(opts.warmupMs, 150);
  const processes = Math.max(1, opts.processes ?? 2);
  const cpus = availableParallelism();
  const pin = (opts.pin ?? false) && cpus >= 2;
  const measured = (opts.scenarios ?? ALL_MEASURED).map(scenarioOf);
  const off = ['logging: { wal: { enabled: false } }'];
  // One at a time: several embedded databases initialising at once on a busy machine can take
  // longer than a gateway is given to come up.
  const gateways: Gateway[] = [];
  for (const arm of ARMS) {
    for (let proc = 0; proc < processes; proc++) {
      const dir = join(workDir, `wal-${arm}-${proc}`);
      mkdirSync(dir, { recursive: true });
      const name = `gateway (wal ${arm === 'on' ? 'on' : arm === 'off' ? 'off' : 'off, control'} #${proc + 1})`;
      try {
        gateways.push({ arm, proc, target: await startGateway({ upstream, workDir: dir, ...(arm === 'on' ? {} : { configExtra: off }), name }) });
      } catch (err) {
        await Promise.all(gateways.map((g) => stopChild(g.target.child, 10_000)));
        throw err;
      }
    }
  }
  // Pinned for this section only: every process's CPU list is put back at the end.
  const restore: Array<{ pid: number; cpus: string }> = [];
  const pinTo = (pid: number, list: string): void => {
    const before = pinProcess(pid, list);
    if (before !== null) restore.push({ pid, cpus: before });
  };
  const gatewayCpus = String(cpus - 1);
  const otherCpus = cpus === 2 ? '0' : `0-${cpus - 2}`;
  if (pin) {
    const gatewayPids = new Set(gateways.map((g) => g.target.child.pid));
    for (const g of gateways) pinTo(g.target.child.pid, gatewayCpus);
    for (const c of liveChildren()) if (!gatewayPids.has(c.pid)) pinTo(c.pid, otherCpus);
    pinTo(process.pid, otherCpus);
  }
  try {
    for (const s of measured) {
      for (const g of gateways) await client.run(jobFor(g.target.origin, s, { warmupMs: 0, durationMs: opts.primeMs }));
    }
    // Arms interleaved (on #1, off #1, control #1, on #2 …) and the order rotated each round.
    const order = Array.from({ length: processes }, (_, p) => ARMS.map((arm) => gateways.find((g) => g.arm === arm && g.proc === p)!)).flat();
    const trials: CallWalTrial[] = [];
    const interleave = opts.interleave ?? true;
    const pools = gateways.map((g) => new Pool(g.target.origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 }));
    try {
      for (let round = 1; round <= rounds; round++) {
        for (const s of measured) {
          const line: string[] = [];
          const record = (g: Gateway, r: RoundStats): void => {
            trials.push({ round, scenario: s.key, arm: g.arm, proc: g.proc, p50: r.p50, p99: r.p99, rps: r.rps, cpuUs: r.cpuUs, failures: r.failures });
            line.push(`${g.arm}#${g.proc + 1} ${fmt(r.p50)}${r.failures ? ` FAILURES ${r.failures}` : ''}`);
          };
          if (interleave && s.connections === 1) {
            const stats = await interleavedRound(pools, gateways.map((g) => g.target.child.pid), s, warmupMs, trialMs);
            gateways.forEach((g, i) => record(g, stats[i]!));
          } else {
            for (let i = 0; i < order.length; i++) {
              const g = order[(i + round) % order.length]!;
              const { result, cpuUs } = await trial(client, g.target, s, warmupMs, trialMs);
              record(g, { p50: result.latency.p50, p99: result.latency.p99, rps: result.rps, cpuUs, failures: result.errors + result.non2xx + result.badBodies });
            }
          }
          print(`wal round ${round}/${rounds}  ${s.label.padEnd(20)} p50 ms: ${line.join('  ')}`);
        }
      }
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
    const rows: CallWalRow[] = [];
    const deltas: CallWalDelta[] = [];
    for (const s of measured) {
      const ts = trials.filter((t) => t.scenario === s.key);
      for (const arm of ARMS) {
        const of = ts.filter((t) => t.arm === arm);
        const cpu = of.map((t) => t.cpuUs).filter((x): x is number => x !== null);
        rows.push({
          scenario: s.label,
          mode: arm,
          rps: median(of.map((t) => t.rps)),
          p50: median(of.map((t) => t.p50)),
          p99: median(of.map((t) => t.p99)),
          cpuUsPerRequest: cpu.length ? median(cpu) : null,
          failures: of.reduce((n, t) => n + t.failures, 0),
        });
      }
      const p50 = perProcess(ts, (t) => t.p50);
      const p99 = perProcess(ts, (t) => t.p99);
      const cpu = perProcess(ts, (t) => t.cpuUs);
      const rps = perProcess(ts, (t) => t.rps);
      const offRps = median(ts.filter((t) => t.arm === 'off').map((t) => t.rps));
      const process1 = processes === 1;
      const rounds50 = roundLevel(ts, 'on', 'off', (t) => t.p50);
      const control50 = roundLevel(ts, 'control', 'off', (t) => t.p50);
      const p50Est = process1 && rounds50 ? rounds50 : contrast(p50, 'on', 'off');
      const controlEst = process1 && control50 ? control50 : contrast(p50, 'control', 'off');
      const cpuEst = contrast(cpu, 'on', 'off').value;
      deltas.push({
        scenario: s.label,
        addedP50Ms: p50Est.value,
        p50: p50Est,
        p50Rounds: rounds50,
        addedP99Ms: contrast(p99, 'on', 'off').value,
        p99: contrast(p99, 'on', 'off'),
        addedCpuUs: Number.isFinite(cpuEst) ? cpuEst : null,
        rpsRatio: 1 + contrast(rps, 'on', 'off').value / offRps,
        controlP50Ms: controlEst.value,
        control: controlEst,
        controlRounds: control50,
        controlP99: contrast(p99, 'control', 'off'),
      });
    }
    const oneConn = deltas.find((d) => d.scenario === scenarioOf('json-1').label);
    const failures = rows.reduce((n, r) => n + r.failures, 0);
    const e = oneConn?.p50;
    const verdict = !e || !Number.isFinite(e.hi) ? 'not shown' : e.hi <= WAL_GOAL_MS ? 'met' : e.lo > WAL_GOAL_MS ? 'not met' : 'not shown';
    return {
      options: opts,
      design: { rounds, trialMs, warmupMs, processes, pinned: pin ? `gateways on CPU ${gatewayCpus}, load generator and upstream on ${otherCpus}` : null, loadAverage: loadavg().map((x) => Math.round(x * 100) / 100) },
      hotPath,
      database: gateways[0]!.target.database,
      rows,
      deltas,
      trials,
      walStats: await walStats(gateways[0]!.target),
      goal: {
        goal: `write-ahead log adds ≤ ${WAL_GOAL_MS} ms p50 (non-stream, 1 conn; met only if the 95% interval's upper end is)`,
        measured: e ? `${interval(e)} ms (noise floor off − off ${interval(oneConn!.control)} ms)` : 'not measured',
        verdict,
      },
      failures,
    };
  } finally {
    for (const r of restore) pinProcess(r.pid, r.cpus);
    await Promise.all(gateways.map((g) => stopChild(g.target.child, 10_000)));
  }
}

function designLine(r: CallWalResult): string {
  const d = r.design;
  return (
    `${d.processes} gateway process${d.processes === 1 ? '' : 'es'} per arm (log on, off, off again as a control), ${d.rounds} rounds of ` +
    `${d.trialMs} ms trials (+${d.warmupMs} ms warm-up) in rotating order; ${d.pinned ?? 'not pinned'}; load average ${d.loadAverage.join(' ')}`
  );
}

export function callWalConsole(r: CallWalResult): string {
  const lines = [`\nCall write-ahead log (issue 21), ${r.database}: ${designLine(r)}`];
  for (const row of r.rows) {
    lines.push(
      `  ${row.scenario.padEnd(20)} wal ${row.mode.padEnd(7)} ${Math.round(row.rps).toLocaleString('en-US').padStart(7)} req/s  p50 ${fmt(row.p50)} ms  p99 ${fmt(row.p99)} ms` +
        `  cpu ${row.cpuUsPerRequest === null ? 'n/a' : `${row.cpuUsPerRequest.toFixed(0)} µs/req`}${row.failures ? `  FAILURES ${row.failures}` : ''}`,
    );
  }
  for (const d of r.deltas) {
    lines.push(
      `  ${d.scenario.padEnd(20)} on − off: p50 ${interval(d.p50)} ms, p99 ${interval(d.p99)} ms, ` +
        `cpu ${d.addedCpuUs === null ? 'n/a' : `${signed(d.addedCpuUs, 0)} µs/req`}, throughput ×${fmt(d.rpsRatio)}`,
      `  ${''.padEnd(20)} noise floor off − off: p50 ${interval(d.control)} ms, p99 ${interval(d.controlP99)} ms; ` +
        `round level only (ignores process effects): on − off ${interval(d.p50Rounds)}, off − off ${interval(d.controlRounds)}`,
    );
  }
  if (r.hotPath) {
    const h = r.hotPath;
    lines.push(
      `  request path, in-process: enqueue ${fmt(h.onUs, 2)} µs/call with the log vs ${fmt(h.offUs, 2)} without: ` +
        `+${fmt(h.addedUs / 1000, 4)} ms per JSON call; ${fmt(h.streamUs / 1000, 4)} ms per stream (opened + answered entries + finish); ` +
        `CPU in all (with the batch's share) ${fmt(h.totalOnUs, 2)} vs ${fmt(h.totalOffUs, 2)} µs/call; ` +
        `one call after 1 ms idle ${fmt(h.coldOnUs, 1)} vs ${fmt(h.coldOffUs, 1)} µs (+${fmt(h.coldAddedUs, 1)})`,
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
      `| ${d.scenario} | ${interval(d.p50)} | ${interval(d.control)} | ${interval(d.p99)} | ${d.addedCpuUs === null ? 'n/a' : signed(d.addedCpuUs, 0)} | ×${fmt(d.rpsRatio)} |`,
  );
  return [
    `### Call write-ahead log (issue 21)`,
    '',
    `Gateways on ${r.database}: ${designLine(r)}. Medians of all trials per arm:`,
    '',
    '| scenario | wal | req/s | p50 ms | p99 ms | CPU µs/req |',
    '|---|---|---:|---:|---:|---:|',
    ...rows,
    '',
    'On − off per process (each trial minus its round\'s off mean, median over rounds), arms\' means compared; 95% t-interval on the process spread pooled over the arms. Off − off (control) is the same estimate with no difference to find.',
    '',
    '| scenario | added p50 ms [95%] | off − off p50 ms [95%] (noise) | added p99 ms [95%] | added CPU µs/req | throughput |',
    '|---|---:|---:|---:|---:|---:|',
    ...deltas,
    '',
    ...(r.hotPath
      ? [
          `Request path in-process (no network): handing a record to the call log takes ${fmt(r.hotPath.onUs, 2)} µs with the log ` +
            `and ${fmt(r.hotPath.offUs, 2)} µs without (+${fmt(r.hotPath.addedUs, 2)} µs per JSON call); a stream's two entries and its finish ${fmt(r.hotPath.streamUs, 2)} µs. ` +
            `CPU per call with the batch's share: ${fmt(r.hotPath.totalOnUs, 2)} µs with the log, ${fmt(r.hotPath.totalOffUs, 2)} µs without. ` +
            `One call at a time after 1 ms idle (caches cooled by whatever else ran): ${fmt(r.hotPath.coldOnUs, 1)} µs with the log, ${fmt(r.hotPath.coldOffUs, 1)} without (+${fmt(r.hotPath.coldAddedUs, 1)}).`,
          '',
        ]
      : []),
    `Goal: ${r.goal.goal} — measured ${r.goal.measured}: **${r.goal.verdict}**.`,
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '2' },
      trial: { type: 'string', default: '0.4' },
      warmup: { type: 'string', default: '0.1' },
      processes: { type: 'string', default: '2' },
      pin: { type: 'boolean', default: false },
      scenarios: { type: 'string', default: ALL_MEASURED.join(',') },
      dump: { type: 'string' },
      'no-hot-path': { type: 'boolean', default: false },
      'no-interleave': { type: 'boolean', default: false },
    },
  });
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-callwal-'));
  let client: LoadClient | undefined;
  const cleanup = async (): Promise<void> => {
    await client?.close().catch(() => {});
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  };
  installCleanup(cleanup);
  try {
    const upstream = await startUpstream();
    client = await LoadClient.start();
    const result = await runCallWal(client, upstream.origin, workDir, {
      rounds: Number(values.rounds),
      warmupMs: Number(values.warmup) * 1000,
      durationMs: Number(values.duration) * 1000,
      trialMs: Number(values.trial) * 1000,
      primeMs: 1_000,
      processes: Number(values.processes),
      pin: values.pin,
      scenarios: values.scenarios.split(',') as ScenarioKey[],
      skipHotPath: values['no-hot-path'],
      interleave: !values['no-interleave'],
    });
    console.log(callWalConsole(result));
    if (values.dump) writeFileSync(values.dump, JSON.stringify(result, null, 1));
    return result.failures > 0 ? 1 : 0;
  } finally {
    await cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
