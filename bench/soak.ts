/**
 * `--soak`: steady load at 50 connections through the gateway, a line every window (RSS and
 * latency), and a verdict on whether RSS keeps growing — the leak check the short run cannot do.
 */
import type { LoadClient } from './load-client.ts';
import type { LoadResult } from './protocol.ts';
import { readRssMb, RssSampler } from './rss.ts';
import { GOALS } from './summary.ts';
import { callLogCounters, describeCallLog, type CallLogCounters, type GatewayTarget } from './targets.ts';
import { jobFor, SCENARIOS } from './workload.ts';

export interface SoakOptions {
  durationMs: number;
  windowMs: number;
  primeMs: number;
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
}

export interface SoakResult {
  rows: SoakRow[];
  result: LoadResult;
  peakMb: number | null;
  afterMb: number | null;
  growthMb: number | null;
  /** Least-squares slope of RSS over the second half, MB per minute. */
  slopeMbPerMin: number | null;
  verdict: string;
  ok: boolean;
  callLog: CallLogCounters | null;
}

export async function runSoak(load: LoadClient, gateway: GatewayTarget, opts: SoakOptions, print: (l: string) => void): Promise<SoakResult> {
  const json50 = SCENARIOS.find((s) => s.key === 'json-50')!;
  print(`soak: ${opts.durationMs / 60_000} min at 50 connections through the gateway, a line every ${opts.windowMs / 1000} s`);
  await load.run(jobFor(gateway.origin, json50, { warmupMs: 0, durationMs: opts.primeMs }));
  const sampler = new RssSampler(gateway.child.pid, 500);
  sampler.start();
  const rows: SoakRow[] = [];
  print(`  ${'t'.padStart(6)}  ${'req/s'.padStart(8)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}  ${'RSS MB'.padStart(8)}  ${'log queue'.padStart(9)}  failures`);
  const result = await load.run(jobFor(gateway.origin, json50, { warmupMs: 0, durationMs: opts.durationMs, windowMs: opts.windowMs }), (w) => {
    const rssMb = readRssMb(gateway.child.pid);
    void callLogCounters(gateway).then((log) => {
      const row = { at: w.at, rps: w.rps, p50: w.latency.p50, p99: w.latency.p99, failures: w.errors + w.non2xx, rssMb, queued: log?.queued ?? null };
      rows.push(row);
      print(
        `  ${`${row.at}s`.padStart(6)}  ${Math.round(row.rps).toLocaleString('en-US').padStart(8)}  ${row.p50.toFixed(3).padStart(8)}  ` +
          `${row.p99.toFixed(3).padStart(8)}  ${String(row.rssMb ?? 'n/a').padStart(8)}  ${String(row.queued ?? 'n/a').padStart(9)}  ${row.failures}`,
      );
    });
  });
  const peakMb = sampler.stop();
  await new Promise((r) => setTimeout(r, 5_000));
  const afterMb = readRssMb(gateway.child.pid);
  const callLog = await callLogCounters(gateway);
  print(describeCallLog(callLog, Object.values(result.statusCounts).reduce((a, b) => a + b, 0)) + ' (soak job only; priming not counted)');

  rows.sort((a, b) => a.at - b.at);
  const rss = rows.map((r) => r.rssMb).filter((x): x is number => x !== null);
  const first = rss[0];
  const last = rss.at(-1);
  const growthMb = first !== undefined && last !== undefined ? Math.round((last - first) * 10) / 10 : null;
  const half = rows.slice(Math.floor(rows.length / 2)).filter((r) => r.rssMb !== null);
  const slopeMbPerMin = half.length >= 3 ? Math.round(slope(half.map((r) => [r.at / 60, r.rssMb!] as const)) * 100) / 100 : null;
  const growing = growthMb !== null && first !== undefined && (growthMb > Math.max(10, first * 0.1) || (slopeMbPerMin ?? 0) > 1);
  const ok = !growing && peakMb !== null && peakMb <= GOALS.rssMb && result.errors + result.non2xx === 0;
  const verdict =
    growthMb === null
      ? 'RSS not measurable here (no /proc)'
      : `${growing ? 'RSS GROWS' : 'RSS flat'}: ${first} MB after the first window → ${last} MB at the end (${growthMb >= 0 ? '+' : ''}${growthMb} MB, ` +
        `second-half slope ${slopeMbPerMin ?? 'n/a'} MB/min), peak ${peakMb} MB (goal ≤ ${GOALS.rssMb}), ${afterMb} MB 5 s after; ` +
        `${result.errors + result.non2xx} failed requests`;
  return { rows, result, peakMb, afterMb, growthMb, slopeMbPerMin, verdict, ok, callLog };
}

function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
