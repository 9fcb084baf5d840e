/**
 * `npm run bench [-- flags]`: starts a fake upstream, a bare pass-through proxy and the gateway
 * as separate processes on 127.0.0.1, drives them from a separate load generator process, and
 * reports throughput, latency, streaming first byte, cache hits and gateway memory against the
 * goals of issue 4, then token-estimate timings and /healthz latency under hostile count_tokens
 * requests (issue 14, token-estimate.ts), and what a key's budget and rate limits add per call on
 * the gateway's own store and on Redis (issue 16, key-policies.ts), and what Prometheus metrics
 * and OpenTelemetry tracing add per call (issue 17, observability.ts), and what the call log's
 * write-ahead log adds (issue 21, call-wal.ts). See bench/README.md.
 *
 *   (no flag)   3 rounds × 4 s per trial, ~3 min; writes bench/results.json and README results
 *   --quick     short trials for a CI smoke test (< 60 s); writes bench/results-quick.json only
 *   --soak      10 min at 50 connections through the gateway, RSS and p50/p99 every 30 s
 *   --soak --snapshot   also probes the gateway (bench/mem-probe.mjs) 1 min in and at the end,
 *               then 2 min more load between two heap snapshots (into a temporary directory)
 *   --profile   gateway under --cpu-prof (bench/profiles/), top self-time functions
 *   --strict    exit 1 when a goal is not met (failed requests always exit 1)
 *   --rounds N, --duration S, --warmup S   override the trial plan
 *   --scale-rows N   calls seeded for the rollup queries (default 10,000,000; --quick 50,000)
 *   --view-rows N    calls seeded for the dashboard views (default 1,000,000; --quick 20,000)
 *   --no-scale       skip the scale section (it needs a Postgres server and takes minutes)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanup, interrupted, REPO_ROOT, stopAll, stopChild } from './children.ts';
import { findProfile, summariseProfile } from './cpu-profile.ts';
import { DEFAULT_REDIS_URL, keyPoliciesConsole, keyPoliciesMarkdown, PRICING_CONFIG, redisAnswers, runKeyPolicies, type KeyPolicyOptions, type StoreGateway } from './key-policies.ts';
import { callLogConsole, callLogMarkdown, runCallLog } from './call-log.ts';
import { callWalConsole, callWalMarkdown, runCallWal } from './call-wal.ts';
import { LoadClient } from './load-client.ts';
import { OBSERVABILITY_VARIANTS, observabilityConsole, observabilityEnv, observabilityMarkdown, runObservability, startOtlpSink, type ObservabilityVariant, type OtlpSink } from './observability.ts';
import { printProfile, runProfileLoad } from './profile.ts';
import { consoleReport, keptSection, machineInfo, markdownReport, updateReadme, writeJson, type RunInfo } from './report.ts';
import { runScale, SCALE_HEADING, scaleConsole, scaleMarkdown, type ScaleResult } from './scale.ts';
import { runSoak, soakProbeEnv } from './soak.ts';
import { runSuite, type SuiteOptions } from './suite.ts';
import { summarise } from './summary.ts';
import { describeCallLog, startBareProxy, startGateway, startUpstream, type GatewayTarget, type Target } from './targets.ts';
import { runTokenEstimate } from './token-estimate.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    snapshot: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'scale-rows': { type: 'string' },
    'view-rows': { type: 'string' },
    'no-scale': { type: 'boolean', default: false },
  },
});

const print = (line: string): void => void process.stdout.write(`${line}\n`);
/** A flag in seconds (or the default in seconds) as milliseconds. */
const seconds = (s: string | undefined, fallback: number): number => Math.round((s === undefined ? fallback : Number(s)) * 1000);
const benchPath = (name: string): string => join(REPO_ROOT, 'bench', name);

const workDir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
let load: LoadClient | undefined;
let otlpSink: OtlpSink | undefined;
const cleanup = async (): Promise<void> => {
  await load?.close().catch(() => {});
  await otlpSink?.close().catch(() => {});
  await stopAll();
  rmSync(workDir, { recursive: true, force: true });
};
installCleanup(cleanup);

let startLoad = 0;

async function main(): Promise<number> {
  const started = Date.now();
  const mode = flags.soak ? 'soak' : flags.profile ? 'profile' : flags.quick ? 'quick' : 'default';
  const m = machineInfo();
  startLoad = Number(m.loadAvg1m);
  print(`sluice bench (${mode}) — ${String(m.cpus)} × ${String(m.cpuModel)}, Node ${process.version}, all traffic on 127.0.0.1`);
  if (Number(m.loadAvg1m) > Number(m.cpus) / 2) {
    print(`note: load average ${String(m.loadAvg1m)} on ${String(m.cpus)} CPUs — other work is running; expect noisy numbers`);
  }

  const upstream = await startUpstream();
  const profileDir = flags.profile ? benchPath('profiles') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const needBare = mode === 'default' || mode === 'quick';
  const soakProbe = mode === 'soak' && flags.snapshot ? soakProbeEnv() : undefined;
  // Key policies (issue 16) on Redis need a second gateway with REDIS_URL; started alongside the
  // first so its start-up (PGlite's initdb) does not run during any measurement.
  const redis = needBare ? await redisPlan() : { url: null, note: null, pid: null };
  const [bare, gateway, redisGateway, client] = await Promise.all([
    needBare ? startBareProxy(upstream.origin) : Promise.resolve(undefined),
    startGateway({ upstream: upstream.origin, workDir, profileDir, configExtra: PRICING_CONFIG, env: soakProbe?.env }),
    redis.url ? startRedisGateway(upstream.origin, redis.url) : Promise.resolve(undefined),
    LoadClient.start(),
  ]);
  load = client;
  print(`ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  print(`upstream ${upstream.origin} · ${bare ? `bare proxy ${bare.origin} · ` : ''}gateway ${gateway.origin} (pid ${gateway.child.pid}, database ${gateway.database})`);
  if (redisGateway) print(`gateway on Redis (key policies only) ${redisGateway.origin} (pid ${redisGateway.child.pid}, REDIS_URL ${redis.url}, database ${redisGateway.database})`);

  let code = 0;
  if (mode === 'soak') {
    const soak = await runSoak(
      client,
      gateway,
      { durationMs: flags.quick ? 60_000 : 600_000, windowMs: flags.quick ? 10_000 : 30_000, primeMs: 3_000, probeDir: soakProbe?.dir, firstProbeMs: flags.quick ? 20_000 : 60_000, snapshotTailMs: soakProbe ? (flags.quick ? 40_000 : 120_000) : 0 },
      print,
    );
    print('');
    print(`verdict: ${soak.verdict}`);
    if (soakProbe) print(`probes and heap snapshots in ${soakProbe.dir} (not removed); compare: node --import tsx bench/heap-summary.ts --diff A.heapsnapshot B.heapsnapshot`);
    const loadAvgEnd = Number(machineInfo().loadAvg1m);
    writeJson(benchPath('soak-results.json'), { date: new Date().toISOString(), machine: m, loadAvgEnd, database: gateway.database, ...soak, probeDir: soakProbe?.dir ?? null, gatewayLog: gateway.log });
    if (!soak.ok) code = 1;
  } else if (mode === 'profile') {
    const run = await runProfileLoad(client, gateway, seconds(flags.duration, flags.quick ? 6 : 20), print);
    print('stopping the gateway so V8 writes the profile…');
    await stopChild(gateway.child, 30_000);
    const file = findProfile(profileDir!, gateway.child.pid);
    if (!file) throw new Error(`no .cpuprofile for pid ${gateway.child.pid} in ${profileDir}`);
    const summary = summariseProfile(file, REPO_ROOT, run.window);
    printProfile(summary, print);
    const phases = run.results.map((r) => ({ label: r.label, ...summariseProfile(file, REPO_ROOT, r, 8) }));
    print('');
    print('per scenario, top self time:');
    for (const p of phases) {
      print(`  ${p.label} (${p.busyMs} ms busy): ${p.functions.map((f) => `${f.name} ${f.pct}%`).join(', ')}`);
    }
    writeFileSync(file.replace(/\.cpuprofile$/, '.summary.json'), `${JSON.stringify({ ...summary, load: run.results, phases }, null, 2)}\n`);
    print('');
    print(`open ${file} in Chrome DevTools (Performance → Load profile) or speedscope for the call tree.`);
  } else {
    const stores: StoreGateway[] = [{ store: process.env.REDIS_URL ? 'redis' : gateway.database, gateway }];
    if (redisGateway) stores.push({ store: 'redis', gateway: redisGateway, redisUrl: redis.url ?? undefined, serverPid: redis.pid });
    code = await measured(mode, [upstream, bare!, gateway], gateway, client, started, stores, redis.note);
  }
  reportGatewayHealth(gateway);
  if (gateway.log.errors > 0) code = code || 1;
  if (redisGateway) {
    reportGatewayHealth(redisGateway, 'gateway on Redis');
    if (redisGateway.log.errors > 0) code = code || 1;
  }
  return code;
}

/** The Redis to measure key policies on, or why there is none. */
async function redisPlan(): Promise<{ url: string | null; note: string | null; pid: number | null }> {
  // The bench gateway inherits REDIS_URL: then its own store already is Redis.
  if (process.env.REDIS_URL) return { url: null, note: null, pid: null };
  const ping = await redisAnswers(DEFAULT_REDIS_URL);
  if (ping.ok) return { url: DEFAULT_REDIS_URL, note: null, pid: ping.pid };
  const note = `no Redis answered PING at ${DEFAULT_REDIS_URL} (${ping.detail})`;
  print(`note: ${note}; the key-policy section measures the database store only`);
  return { url: null, note, pid: null };
}

/**
 * The four gateways metrics and tracing are compared on (issue 17), started one after another
 * when their section begins (six embedded databases starting at once on two cores is too slow),
 * with a receiver for the tracing one's spans.
 */
async function startObservedGateways(upstream: string): Promise<{ sink: OtlpSink; gateways: Record<ObservabilityVariant, GatewayTarget> }> {
  const sink = await startOtlpSink();
  otlpSink = sink;
  const gateways: Partial<Record<ObservabilityVariant, GatewayTarget>> = {};
  for (const variant of OBSERVABILITY_VARIANTS) {
    const dir = join(workDir, `observability-${variant}`);
    mkdirSync(dir, { recursive: true });
    gateways[variant] = await startGateway({ upstream, workDir: dir, configExtra: PRICING_CONFIG, env: observabilityEnv(variant, sink.url), name: `gateway (${variant})` });
  }
  return { sink, gateways: gateways as Record<ObservabilityVariant, GatewayTarget> };
}

function startRedisGateway(upstream: string, url: string): Promise<GatewayTarget> {
  const dir = join(workDir, 'redis-gateway');
  mkdirSync(dir, { recursive: true });
  return startGateway({ upstream, workDir: dir, configExtra: PRICING_CONFIG, env: { REDIS_URL: url }, name: 'gateway (redis)' });
}

async function measured(
  mode: 'default' | 'quick',
  targets: readonly Target[],
  gateway: GatewayTarget,
  client: LoadClient,
  started: number,
  stores: readonly StoreGateway[],
  redisNote: string | null,
): Promise<number> {
  const quick = mode === 'quick';
  const opts: SuiteOptions = {
    rounds: flags.rounds ? Number(flags.rounds) : 3,
    warmupMs: seconds(flags.warmup, quick ? 0.25 : 1),
    durationMs: seconds(flags.duration, quick ? 0.5 : 4),
    primeMs: quick ? 300 : 1_000,
    afterMs: 5_000,
  };
  const suite = await runSuite(client, targets, gateway, opts, print);
  const kpOpts: KeyPolicyOptions = {
    rounds: opts.rounds,
    warmupMs: quick ? 150 : 400,
    durationMs: quick ? { 1: 500 } : { 1: 2_000, 10: 1_000 },
    connections: quick ? [1] : [1, 10],
    primeMs: quick ? 300 : 400,
    coldPrimeMs: quick ? 700 : 1_000,
    interleavedRounds: quick ? 0 : 15,
    interleavedMs: 300,
  };
  const policies = await runKeyPolicies(client, stores, redisNote, kpOpts, print);
  const { sink, gateways: observed } = await startObservedGateways(targets[0]!.origin);
  const observability = await runObservability(
    client,
    observed,
    sink,
    { rounds: quick ? 1 : 5, warmupMs: quick ? 150 : 400, durationMs: quick ? 500 : 2_000, primeMs: quick ? 300 : 1_500 },
    print,
  );
  const callWal = await runCallWal(client, targets[0]!.origin, join(workDir, 'call-wal'), { rounds: quick ? 1 : opts.rounds, warmupMs: quick ? 150 : 500, durationMs: quick ? 500 : 2_000, primeMs: quick ? 300 : 1_000 }, print);
  const callLog = await runCallLog(
    client,
    { upstream: targets[0]!, bare: targets[1], workDir },
    { rounds: opts.rounds, warmupMs: opts.warmupMs, durationMs: opts.durationMs, primeMs: opts.primeMs },
    print,
  );
  const tokens = await runTokenEstimate(gateway.origin, { durationMs: quick ? 2_000 : 8_000, idleProbes: quick ? 200 : 500 }, print);
  // Last: seeding millions of rows keeps Postgres busy long after, and nothing is measured after it.
  const scale: ScaleResult | null = flags['no-scale']
    ? null
    : await runScale(
        {
          rollupRows: Number(flags['scale-rows'] ?? (quick ? 50_000 : 10_000_000)),
          viewRows: Number(flags['view-rows'] ?? (quick ? 20_000 : 1_000_000)),
        },
        print,
      );
  const summary = summarise(suite, gateway.database);
  const info: RunInfo = {
    mode,
    date: new Date().toISOString(),
    rounds: opts.rounds,
    warmupMs: opts.warmupMs,
    durationMs: opts.durationMs,
    database: gateway.database,
    durationS: Math.round((Date.now() - started) / 1000),
    loadAvgStart: startLoad,
  };
  print(consoleReport(summary, info));
  print(describeCallLog(suite.callLog, suite.gatewayRequests));
  print(keyPoliciesConsole(policies));
  print(observabilityConsole(observability));
  print(callWalConsole(callWal));
  print(callLogConsole(callLog));
  if (scale) print(scaleConsole(scale));
  for (const g of Object.values(observed)) {
    if (g.log.errors > 0) reportGatewayHealth(g, g.child.name);
    await stopChild(g.child, 10_000);
  }

  const out = benchPath(quick ? 'results-quick.json' : 'results.json');
  writeJson(out, {
    ...info,
    machine: machineInfo(),
    settings: { ...opts, scenarios: ['json-1', 'json-50', 'stream-1', ...(suite.cache.available ? ['cache-50'] : [])], order: 'direct, bare, gateway per scenario, per round' },
    cache: suite.cache,
    rss: suite.rss,
    gatewayRequests: suite.gatewayRequests,
    callLog: suite.callLog,
    tokenEstimate: tokens,
    keyPolicies: policies,
    observability,
    callWal,
    callLogAtSpeed: callLog,
    scale,
    gatewayLog: gateway.log,
    medians: summary.medians,
    ratios: summary.ratios,
    goals: summary.goals,
    trials: suite.trials.map((t) => ({ round: t.round, scenario: t.scenario, target: t.target, ...(t.rssPeakMb === undefined ? {} : { rssPeakMb: t.rssPeakMb }), ...t.result })),
  });
  print(`\nwrote ${out}`);
  if (!quick) {
    const readme = benchPath('README.md');
    // A skipped scale section keeps the last one measured (marked as such) instead of vanishing.
    const scaleSection = scale ? scaleMarkdown(scale) : keptSection(readme, SCALE_HEADING);
    updateReadme(readme, `${markdownReport(summary, info, suite)}\n\n${keyPoliciesMarkdown(policies)}\n\n${observabilityMarkdown(observability)}\n\n${callWalMarkdown(callWal)}\n\n${callLogMarkdown(callLog)}${scaleSection ? `\n\n${scaleSection}` : ''}`);
    print(`updated the results section of ${benchPath('README.md')}`);
  }
  if (summary.failures > 0 || policies.failures > 0 || observability.failures > 0 || callWal.failures > 0 || callLog.failures > 0 || policies.settled.some((s) => !s.ok)) return 1;
  if (Object.values(observed).some((g) => g.log.errors > 0)) return 1;
  return flags.strict && [...summary.goals, policies.goal, ...observability.goals, callWal.goal, ...callLog.goals, ...(scale?.goals ?? [])].some((g) => g.verdict === 'not met') ? 1 : 0;
}

function reportGatewayHealth(gateway: GatewayTarget, name = 'gateway'): void {
  const exit = gateway.child.proc.exitCode;
  if (exit !== null && !flags.profile) print(`!! the ${name} exited during the run (code ${exit})\n${gateway.child.tail()}`);
  const { errors, warnings, samples } = gateway.log;
  print(`${name} log: ${errors} error and ${warnings} warning lines${samples.length ? `; first:\n  ${samples.join('\n  ')}` : ''}`);
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  if (!interrupted) print(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
