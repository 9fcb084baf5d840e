/**
 * `--profile`: the gateway runs under `--cpu-prof`; load goes through it (non-stream and stream,
 * 50 connections), then it is stopped so V8 writes the profile, and the self time inside the
 * load window is ranked. Numbers measured under the profiler are not the benchmark's numbers,
 * so this mode writes no results.
 */
import type { LoadClient } from './load-client.ts';
import type { LoadResult } from './protocol.ts';
import type { GatewayTarget } from './targets.ts';
import { probeCache } from './suite.ts';
import { CACHE_SCENARIO, jobFor, SCENARIOS, type Scenario } from './workload.ts';
import type { ProfileSummary } from './cpu-profile.ts';

export interface ProfileLoad {
  window: { fromUs: number; toUs: number };
  /** Each phase with its own window (CLOCK_MONOTONIC µs), to slice the profile by scenario. */
  results: Array<{ label: string; fromUs: number; toUs: number; result: LoadResult }>;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

export async function runProfileLoad(load: LoadClient, gateway: GatewayTarget, phaseMs: number, print: (l: string) => void): Promise<ProfileLoad> {
  const json50 = SCENARIOS.find((s) => s.key === 'json-50')!;
  const stream50: Scenario = { key: 'stream-1', label: 'stream, 50 conns', connections: 50, stream: true, cache: false };
  const json1 = SCENARIOS.find((s) => s.key === 'json-1')!;
  print('priming the gateway (not in the profile window)…');
  await load.run(jobFor(gateway.origin, json50, { warmupMs: 0, durationMs: 2_000 }));
  await load.run(jobFor(gateway.origin, stream50, { warmupMs: 0, durationMs: 1_000 }));
  const cache = await probeCache(gateway);
  const phases: Array<readonly [Scenario, number]> = cache.available
    ? [[json50, 0.4], [stream50, 0.25], [json1, 0.15], [CACHE_SCENARIO, 0.2]]
    : [[json50, 0.5], [stream50, 0.3], [json1, 0.2]];
  if (!cache.available) print(`cache-hit path: ${cache.detail}`);
  const fromUs = nowUs();
  const results: ProfileLoad['results'] = [];
  for (const [s, share] of phases) {
    const from = nowUs();
    const result = await load.run(jobFor(gateway.origin, s, { warmupMs: 0, durationMs: Math.round(phaseMs * share) }));
    results.push({ label: s.label, fromUs: from, toUs: nowUs(), result });
    print(`  ${s.label.padEnd(21)} ${Math.round(result.rps).toLocaleString('en-US').padStart(7)} req/s  p50 ${result.latency.p50.toFixed(3)}  p99 ${result.latency.p99.toFixed(3)} ms (under the profiler)`);
  }
  return { window: { fromUs, toUs: nowUs() }, results };
}

export function printProfile(summary: ProfileSummary, print: (l: string) => void): void {
  const busyPct = summary.windowMs > 0 ? Math.round((summary.busyMs / summary.windowMs) * 100) : 0;
  print('');
  print(`profile: ${summary.file}`);
  print(
    `${summary.windowed ? 'load window' : 'whole profile (load window not found in it)'}: ${summary.windowMs} ms sampled, ` +
      `${summary.busyMs} ms busy (${busyPct}%), ${summary.idleMs} ms idle; shares below are of busy time`,
  );
  print('');
  print('top self-time functions:');
  summary.functions.forEach((f, i) => {
    print(`  ${String(i + 1).padStart(2)}. ${f.selfMs.toFixed(1).padStart(8)} ms ${f.pct.toFixed(1).padStart(5)}%  ${f.name.slice(0, 40).padEnd(40)} ${f.where}`);
    if (f.via.length) print(`${' '.repeat(27)}via ${f.via.join(' ← ')}`);
  });
  print('');
  print('self time by module:');
  for (const m of summary.modules) print(`  ${m.selfMs.toFixed(1).padStart(8)} ms ${m.pct.toFixed(1).padStart(5)}%  ${m.module}`);
}
