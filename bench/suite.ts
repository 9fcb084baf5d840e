/**
 * The measured run: every scenario against every target, targets alternating within a round
 * (direct, bare, gateway, direct, …) and rounds repeated, so slow drift on a shared machine
 * hits all three alike; the report takes medians and per-round paired differences.
 */
import { request } from 'undici';
import type { LoadClient } from './load-client.ts';
import type { LoadResult } from './protocol.ts';
import { readCpuMs, readRssMb, RssSampler } from './rss.ts';
import { callLogCounters, type CallLogCounters, type GatewayTarget, type Target } from './targets.ts';
import { CACHE_SCENARIO, jobFor, requestFor, SCENARIOS, type Scenario, type ScenarioKey } from './workload.ts';

export interface SuiteOptions {
  rounds: number;
  warmupMs: number;
  durationMs: number;
  /** Unrecorded load on every target before round 1, so round 1 is not the JIT's warm-up. */
  primeMs: number;
  /** How long after the last load the gateway's RSS is read again. */
  afterMs: number;
}

export interface Trial {
  round: number;
  scenario: ScenarioKey;
  target: Target['name'];
  result: LoadResult;
  /** Gateway trials: the largest RSS seen while the load ran. */
  rssPeakMb?: number | null;
  /** What the fake upstream saw during the trial: a proxy that reuses connections opens ~none. */
  upstream: { connections: number; requests: number };
  /** CPU time the target process used per answered request (warm-up included), µs. */
  cpuUsPerRequest: number | null;
}

export interface RssReport {
  baselineMb: number | null;
  peakMb: number | null;
  /** Largest RSS per round (gateway trials only), to see growth across rounds. */
  roundPeaksMb: Array<number | null>;
  /** One reading per second after the last load; the last is "after". */
  afterSamplesMb: Array<number | null>;
  afterMb: number | null;
}

export interface SuiteResult {
  trials: Trial[];
  /** Every request the gateway answered (probes, priming, warm-ups, trials). */
  gatewayRequests: number;
  /** /healthz call_log counters after the pause: with logging on, written should reach gatewayRequests. */
  callLog: CallLogCounters | null;
  cache: { available: boolean; detail: string };
  rss: RssReport;
}

const ms = (x: number | null): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : 'n/a');

const line = (round: number, s: Scenario, t: string, trial: Trial): string => {
  const r = trial.result;
  const ttfb = s.stream ? `  ttfb p50 ${ms(r.ttfb.p50)}` : '';
  const cpu = trial.cpuUsPerRequest === null ? '' : `  cpu ${trial.cpuUsPerRequest} µs/req`;
  const bad = r.errors + r.non2xx + r.badBodies > 0 ? `  !! errors ${r.errors} non-2xx ${r.non2xx} bad ${r.badBodies} (${r.firstError ?? ''})` : '';
  return `  round ${round}  ${s.label.padEnd(21)} ${t.padEnd(8)} ${Math.round(r.rps).toLocaleString('en-US').padStart(7)} req/s  p50 ${ms(r.latency.p50)}  p99 ${ms(r.latency.p99)}${ttfb}${cpu}${bad}`;
};

/** Asked on a fresh connection each time, so each reading adds exactly one connection and one request. */
async function upstreamCounters(origin: string): Promise<{ connections: number; requests: number }> {
  const res = await request(`${origin}/__stats`, { headers: { connection: 'close' } });
  return (await res.body.json()) as { connections: number; requests: number };
}

/** The cache path is measured only when the gateway really answers from cache. */
export async function probeCache(gateway: Target): Promise<{ available: boolean; detail: string }> {
  const { headers, body } = requestFor({ stream: false, cache: true });
  let last = '';
  for (let i = 0; i < 2; i++) {
    const res = await request(`${gateway.origin}/v1/chat/completions`, { method: 'POST', headers, body });
    await res.body.text();
    if (res.statusCode !== 200) return { available: false, detail: `n/a (probe answered HTTP ${res.statusCode})` };
    const h = res.headers['x-sluice-cache'];
    last = typeof h === 'string' ? h : '';
  }
  return last === 'hit' ? { available: true, detail: 'x-sluice-cache: hit' } : { available: false, detail: 'n/a (no cache yet)' };
}

export async function runSuite(
  load: LoadClient,
  targets: readonly Target[],
  gateway: GatewayTarget,
  opts: SuiteOptions,
  print: (line: string) => void,
): Promise<SuiteResult> {
  const cache = await probeCache(gateway);
  print(`cache-hit path: ${cache.available ? 'measured' : cache.detail}`);

  let gatewayRequests = 2;
  const answered = (r: LoadResult): number => Object.values(r.statusCounts).reduce((a, b) => a + b, 0);
  print(`priming every target (${opts.primeMs} ms per scenario, not recorded)…`);
  for (const s of SCENARIOS) {
    for (const t of targets) {
      const r = await load.run(jobFor(t.origin, s, { warmupMs: 0, durationMs: opts.primeMs }));
      if (t.name === 'gateway') gatewayRequests += answered(r);
    }
  }

  const upstream = targets.find((t) => t.name === 'direct');
  if (!upstream) throw new Error('the suite needs the direct upstream target');
  const sampler = new RssSampler(gateway.child.pid);
  const rss: RssReport = { baselineMb: readRssMb(gateway.child.pid), peakMb: null, roundPeaksMb: [], afterSamplesMb: [], afterMb: null };
  const trials: Trial[] = [];
  const scenarios = cache.available ? [...SCENARIOS, CACHE_SCENARIO] : SCENARIOS;
  const timing = { warmupMs: opts.warmupMs, durationMs: opts.durationMs };

  for (let round = 1; round <= opts.rounds; round++) {
    let roundPeak: number | null = null;
    for (const s of scenarios) {
      for (const t of s.cache ? targets.filter((x) => x.name === 'gateway') : targets) {
        const isGateway = t.name === 'gateway';
        let trialPeak: number | null = null;
        const before = await upstreamCounters(upstream.origin);
        const cpuBefore = readCpuMs(t.child.pid);
        if (isGateway) sampler.start();
        const result = await load.run(jobFor(t.origin, s, timing));
        const cpuAfter = readCpuMs(t.child.pid);
        if (isGateway) trialPeak = sampler.stop();
        const after = await upstreamCounters(upstream.origin);
        const counted = { connections: after.connections - before.connections - 1, requests: after.requests - before.requests - 1 };
        const n = answered(result);
        const cpuUsPerRequest = cpuBefore !== null && cpuAfter !== null && n > 0 ? Math.round(((cpuAfter - cpuBefore) * 1000) / n) : null;
        const trial: Trial = { round, scenario: s.key, target: t.name, result, upstream: counted, cpuUsPerRequest };
        if (isGateway) {
          gatewayRequests += n;
          trial.rssPeakMb = trialPeak;
          roundPeak = maxOf(roundPeak, trialPeak);
        }
        trials.push(trial);
        print(line(round, s, t.name, trial));
      }
    }
    rss.roundPeaksMb.push(roundPeak);
    rss.peakMb = maxOf(rss.peakMb, roundPeak);
  }

  const seconds = Math.max(1, Math.round(opts.afterMs / 1000));
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.afterSamplesMb.push(readRssMb(gateway.child.pid));
  }
  rss.afterMb = rss.afterSamplesMb.at(-1) ?? null;
  return { trials, gatewayRequests, callLog: await callLogCounters(gateway), cache, rss };
}

function maxOf(a: number | null, b: number | null | undefined): number | null {
  if (b === null || b === undefined) return a;
  return a === null ? b : Math.max(a, b);
}
