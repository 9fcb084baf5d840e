/**
 * `--soak`: steady load at 50 connections through the gateway, a line every window (RSS and
 * latency), and a verdict on whether RSS keeps growing — the leak check the short run cannot do.
 *
 * With `--snapshot` the gateway runs with bench/mem-probe.mjs preloaded. During the soak it is
 * only probed (memoryUsage, heap spaces, smaps; cheap), 1 min in and just before the end, both
 * under load. Heap snapshots come after the soak's verdict, in a tail of the same load: one as
 * the tail starts and one as it ends, so `bench/heap-summary.ts --diff A B` says what grew under
 * steady load. Not during the soak because writing a snapshot leaves the process with 100+ MB of
 * malloc'd memory it never returns (the main thread's [heap] grew 10 → 132 MB in a 1-min trial,
 * and 3 → 554 MB for a 300k-object script), which would hide native growth and break the
 * ≤ 200 MB reading.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './children.ts';
import type { LoadClient } from './load-client.ts';
import { describe, probe, type Probe } from './memory.ts';
import type { LoadResult } from './protocol.ts';
import { readRssMb, RssSampler } from './rss.ts';
import { describeRule, rssTrend } from './soak-verdict.ts';
import { rssGoal } from './summary.ts';
import { callLogCounters, describeCallLog, type CallLogCounters, type GatewayTarget } from './targets.ts';
import { jobFor, SCENARIOS } from './workload.ts';

export interface SoakOptions {
  durationMs: number;
  windowMs: number;
  primeMs: number;
  /** Where the gateway's mem-probe writes (soakProbeEnv); unset: no probes. */
  probeDir?: string | undefined;
  /** How far into the soak (after priming) the first probe is taken. */
  firstProbeMs?: number | undefined;
  /** Load after the soak between two heap snapshots (needs probeDir); 0 or unset: none. */
  snapshotTailMs?: number | undefined;
}

/** A mem-probe reading taken during the soak, with the RSS around it (a snapshot itself costs memory). */
export interface SoakProbe extends Record<string, unknown> {
  label: string;
  /** Seconds into the soak job (after priming). */
  atS: number;
  rssBeforeMb: number | null;
  rssAfterMb: number | null;
  tookMs: number;
  /** Resident memory by mapping kind (mem-probe's buckets): [name, { n, rss kB, size kB }]. */
  mappings: unknown;
}

export interface SoakRow {
  at: number;
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  rssMb: number | null;
  /** Call records still in memory (the writer's backlog), when /healthz reports it. */
  queued: number | null;
  /** The machine's 1-min load average at the end of the window (others may be working). */
  load1: number;
}

export interface SoakResult {
  rows: SoakRow[];
  result: LoadResult;
  peakMb: number | null;
  afterMb: number | null;
  /** From the first steady window's median RSS to the last's (soak-verdict.ts), MB. */
  growthMb: number | null;
  /** Theil–Sen slope of the steady windows' median RSS, MB per minute (soak-verdict.ts). */
  slopeMbPerMin: number | null;
  /** Every 0.5-s RSS reading of the soak (seconds after its start, MB): the verdict's input, kept so a run can be read again. */
  rssSamples: Array<{ atS: number; mb: number }>;
  verdict: string;
  ok: boolean;
  callLog: CallLogCounters | null;
  probes: SoakProbe[];
  /** The load between the two heap snapshots (after the soak's figures were taken). */
  tail: { durationS: number; rps: number; p50: number; p99: number; failures: number } | null;
}

/**
 * A directory for the gateway's probes and, with snapshots, its heap snapshots (outside the
 * repository: they are tens of MB each), and the environment that preloads bench/mem-probe.mjs.
 */
export function soakProbeEnv(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-soak-heap-'));
  return {
    dir,
    env: {
      SLUICE_MEM_PROBE_DIR: dir,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(REPO_ROOT, 'bench/mem-probe.mjs')}`.trim(),
    },
  };
}

async function takeProbe(gateway: GatewayTarget, dir: string, label: string, atS: number, snapshot: boolean, print: (l: string) => void): Promise<SoakProbe> {
  // mem-probe writes snapshots while this marker file exists.
  if (snapshot) writeFileSync(join(dir, 'snapshot'), '');
  else rmSync(join(dir, 'snapshot'), { force: true });
  const rssBeforeMb = readRssMb(gateway.child.pid);
  const t0 = Date.now();
  const raw = await probe(gateway, dir);
  const tookMs = Date.now() - t0;
  const p: SoakProbe = {
    ...describe(label, raw, null),
    label,
    atS,
    rssBeforeMb,
    rssAfterMb: readRssMb(gateway.child.pid),
    tookMs,
    mappings: (raw as Probe & { mappings?: { buckets?: unknown } }).mappings?.buckets ?? null,
  };
  print(
    `  probe "${label}" at ${atS} s (${tookMs} ms): RSS ${String(p.rssBeforeMb)} → ${String(p.rssAfterMb)} MB, heap used/committed ` +
      `${String(p.heapUsed)}/${String(p.heapTotal)} MB, external ${String(p.external)} MB, anon ${String(p.anon)} MB` +
      `${raw.snapshots.length ? `; snapshots: ${raw.snapshots.join(', ')}` : ''}`,
  );
  return p;
}

export async function runSoak(load: LoadClient, gateway: GatewayTarget, opts: SoakOptions, print: (l: string) => void): Promise<SoakResult> {
  const json50 = SCENARIOS.find((s) => s.key === 'json-50')!;
  print(`soak: ${opts.durationMs / 60_000} min at 50 connections through the gateway, a line every ${opts.windowMs / 1000} s`);
  await load.run(jobFor(gateway.origin, json50, { warmupMs: 0, durationMs: opts.primeMs }));
  const sampler = new RssSampler(gateway.child.pid, 500);
  sampler.start();
  const rows: SoakRow[] = [];
  const probes: SoakProbe[] = [];
  // Cheap probes under load (no snapshot): 1 min in and just before the end.
  const dir = opts.probeDir;
  let probing: Promise<void> = Promise.resolve();
  const probeAt = dir === undefined ? [] : [opts.firstProbeMs ?? 60_000, opts.durationMs - 15_000];
  const timers = probeAt.map((ms) =>
    setTimeout(() => {
      probing = probing.then(() => takeProbe(gateway, dir!, 'under load', ms / 1000, false, print)).then((p) => void probes.push(p));
    }, ms),
  );
  print(`  ${'t'.padStart(6)}  ${'req/s'.padStart(8)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}  ${'RSS MB'.padStart(8)}  ${'log queue'.padStart(9)}  ${'load'.padStart(5)}  failures`);
  const result = await load.run(jobFor(gateway.origin, json50, { warmupMs: 0, durationMs: opts.durationMs, windowMs: opts.windowMs }), (w) => {
    const rssMb = readRssMb(gateway.child.pid);
    void callLogCounters(gateway).then((log) => {
      const row: SoakRow = { at: w.at, rps: w.rps, p50: w.latency.p50, p99: w.latency.p99, failures: w.errors + w.non2xx, rssMb, queued: log?.queued ?? null, load1: Math.round((loadavg()[0] ?? 0) * 100) / 100 };
      rows.push(row);
      print(
        `  ${`${row.at}s`.padStart(6)}  ${Math.round(row.rps).toLocaleString('en-US').padStart(8)}  ${row.p50.toFixed(3).padStart(8)}  ` +
          `${row.p99.toFixed(3).padStart(8)}  ${String(row.rssMb ?? 'n/a').padStart(8)}  ${String(row.queued ?? 'n/a').padStart(9)}  ${row.load1.toFixed(2).padStart(5)}  ${row.failures}`,
      );
    });
  });
  const peakMb = sampler.stop();
  for (const t of timers) clearTimeout(t);
  await probing;
  await new Promise((r) => setTimeout(r, 5_000));
  const afterMb = readRssMb(gateway.child.pid);
  if (dir !== undefined) probes.push(await takeProbe(gateway, dir, 'idle, 5 s after the load stopped', (opts.durationMs + 5_000) / 1000, false, print));
  const callLog = await callLogCounters(gateway);
  print(describeCallLog(callLog, Object.values(result.statusCounts).reduce((a, b) => a + b, 0)) + ' (soak job only; priming not counted)');

  rows.sort((a, b) => a.at - b.at);
  const trend = rssTrend(sampler.samples, opts.durationMs / 1000, opts.windowMs / 1000);
  const growthMb = trend && Math.round((trend.lastMb - trend.firstMb) * 10) / 10;
  const slopeMbPerMin = trend && Math.round(trend.slopeMbPerMin * 100) / 100;
  const goal = rssGoal(gateway.database);
  const ok = trend !== null && trend.growing !== true && peakMb !== null && peakMb <= goal.mb && result.errors + result.non2xx === 0;
  const verdict =
    trend === null
      ? 'RSS not measurable here (no /proc, or too short a soak)'
      : `${trend.growing === null ? 'RSS growth not judged (under 5 min)' : trend.growing ? 'RSS GROWS' : 'RSS flat'}: slope ${slopeMbPerMin} MB/min; ${trend.firstMb.toFixed(1)} MB in the first steady window → ${trend.lastMb.toFixed(1)} MB in the last ` +
        `(medians of ${trend.windows} windows), peak ${peakMb} MB (goal ≤ ${goal.mb}, ${goal.label}), ${afterMb} MB 5 s after; ` +
        `${result.errors + result.non2xx} failed requests (${describeRule(opts.windowMs / 1000)})`;
  // Figures above are final; the snapshots' own memory cannot touch them from here on.
  const tail = dir !== undefined && opts.snapshotTailMs ? await snapshotTail(load, gateway, dir, opts, probes, print) : null;
  const tailOk = tail === null || tail.failures === 0;
  return { rows, result, peakMb, afterMb, growthMb, slopeMbPerMin, rssSamples: sampler.samples.map((x) => ({ atS: Math.round(x.atS * 10) / 10, mb: x.mb })), verdict, ok: ok && tailOk, callLog, probes, tail };
}

/** The same load again for snapshotTailMs, with a heap snapshot 10 s in and one 10 s before its end. */
async function snapshotTail(load: LoadClient, gateway: GatewayTarget, dir: string, opts: SoakOptions, probes: SoakProbe[], print: (l: string) => void): Promise<SoakResult['tail']> {
  const json50 = SCENARIOS.find((s) => s.key === 'json-50')!;
  const tailMs = opts.snapshotTailMs!;
  print(`snapshot tail: ${tailMs / 1000} s more at 50 connections, heap snapshots 10 s in and 10 s before the end (RSS from here on includes the snapshots' own memory)`);
  let probing: Promise<void> = Promise.resolve();
  const timers = [10_000, tailMs - 10_000].map((ms, i) =>
    setTimeout(() => {
      const label = `tail, under load, snapshot ${i === 0 ? 'A' : 'B'}`;
      probing = probing.then(() => takeProbe(gateway, dir, label, (opts.durationMs + ms) / 1000, true, print)).then((p) => void probes.push(p));
    }, ms),
  );
  const r = await load.run(jobFor(gateway.origin, json50, { warmupMs: 0, durationMs: tailMs }));
  for (const t of timers) clearTimeout(t);
  await probing;
  const failures = r.errors + r.non2xx;
  print(`  tail: ${Math.round(r.rps).toLocaleString('en-US')} req/s, p50 ${r.latency.p50.toFixed(3)} ms, p99 ${r.latency.p99.toFixed(3)} ms (snapshot pauses included), ${failures} failures`);
  return { durationS: tailMs / 1000, rps: Math.round(r.rps), p50: r.latency.p50, p99: r.latency.p99, failures };
}
