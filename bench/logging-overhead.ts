/**
 * What call logging costs (issue 20 item 1): two gateways on the same fake upstream, one
 * logging every call (to Postgres when DATABASE_URL is set, else PGlite; write-ahead log and
 * payloads on, the defaults), one with `logging.enabled: false`, measured in one run with the
 * targets alternating. Two goals:
 * - throughput with logging ÷ without ≥ 0.85, non-stream at 50 connections (median of the
 *   per-round ratios);
 * - p99 with logging − p99 of the upstream called directly ≤ 1 ms, non-stream at 1 connection
 *   (median of the per-round differences; the upstream is timed in the same rounds).
 * Usage: node --import tsx bench/logging-overhead.ts [--rounds 3] [--duration 4] [--warmup 1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopAll } from './children.ts';
import { LoadClient } from './load-client.ts';
import { startGateway, startUpstream } from './targets.ts';
import { jobFor, SCENARIOS } from './workload.ts';

const RATIO_GOAL = 0.85;
const P99_GOAL_MS = 1;

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '4' }, warmup: { type: 'string', default: '1' } },
});
const rounds = Number(values.rounds);
const durationMs = Number(values.duration) * 1000;
const warmupMs = Number(values.warmup) * 1000;
const json50 = SCENARIOS.find((s) => s.key === 'json-50')!;
const json1 = SCENARIOS.find((s) => s.key === 'json-1')!;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const load1 = loadavg()[0]!;

const workOn = mkdtempSync(join(tmpdir(), 'sluice-logon-'));
const workOff = mkdtempSync(join(tmpdir(), 'sluice-logoff-'));
try {
  const upstream = await startUpstream();
  const [on, off] = await Promise.all([
    startGateway({ upstream: upstream.origin, workDir: workOn }),
    startGateway({ upstream: upstream.origin, workDir: workOff, configExtra: ['logging: { enabled: false }'] }),
  ]);
  const targets = { on: on.origin, off: off.origin, direct: upstream.origin } as const;
  const load = await LoadClient.start();
  for (const origin of Object.values(targets)) {
    await load.run(jobFor(origin, json50, { warmupMs: 0, durationMs: 1000 }));
  }
  const ratios: number[] = [];
  const p99Over: number[] = [];
  const rps: Record<'on' | 'off', number[]> = { on: [], off: [] };
  for (let round = 1; round <= rounds; round++) {
    const r50: Record<string, number> = {};
    for (const name of round % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const r = await load.run(jobFor(targets[name], json50, { warmupMs, durationMs }));
      r50[name] = r.rps;
      rps[name].push(r.rps);
      console.log(`round ${round}  50 conns  logging ${name.padEnd(3)} ${Math.round(r.rps).toLocaleString('en-US').padStart(7)} req/s  p50 ${r.latency.p50.toFixed(3)} ms  errors ${r.errors + r.non2xx}`);
    }
    ratios.push(r50.on! / r50.off!);
    const p99: Record<string, number> = {};
    for (const name of round % 2 ? (['on', 'direct'] as const) : (['direct', 'on'] as const)) {
      const r = await load.run(jobFor(targets[name], json1, { warmupMs, durationMs }));
      p99[name] = r.latency.p99;
      console.log(`round ${round}  1 conn    ${name === 'on' ? 'logging on' : 'direct    '}  p50 ${r.latency.p50.toFixed(3)} ms  p99 ${r.latency.p99.toFixed(3)} ms  errors ${r.errors + r.non2xx}`);
    }
    p99Over.push(p99.on! - p99.direct!);
  }
  const ratio = median(ratios);
  const over = median(p99Over);
  console.log(
    `\nlogging on ${Math.round(median(rps.on))} req/s vs off ${Math.round(median(rps.off))} req/s at 50 conns: ×${ratio.toFixed(3)} ` +
      `(goal ≥ ${RATIO_GOAL}: ${ratio >= RATIO_GOAL ? 'met' : 'not met'}); p99 at 1 conn ${over >= 0 ? '+' : ''}${over.toFixed(3)} ms over direct ` +
      `(goal ≤ ${P99_GOAL_MS} ms: ${over <= P99_GOAL_MS ? 'met' : 'not met'}); database: ${on.database}; ` +
      `load average ${load1.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end`,
  );
  await load.close();
} finally {
  await stopAll();
  rmSync(workOn, { recursive: true, force: true });
  rmSync(workOff, { recursive: true, force: true });
}
