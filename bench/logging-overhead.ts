/**
 * What call logging costs: two gateways on the same fake upstream, one logging every call
 * (to Postgres when DATABASE_URL is set, else PGlite), one with `logging.enabled: false`,
 * measured in one run with the targets alternating (on, off, on, off, …) at 50 connections.
 * Usage: node --import tsx bench/logging-overhead.ts [--rounds 3] [--duration 4]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopAll } from './children.ts';
import { LoadClient } from './load-client.ts';
import { startGateway, startUpstream } from './targets.ts';
import { jobFor, SCENARIOS } from './workload.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '4' } } });
const rounds = Number(values.rounds);
const durationMs = Number(values.duration) * 1000;
const scenario = SCENARIOS.find((s) => s.key === 'json-50')!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const workOn = mkdtempSync(join(tmpdir(), 'sluice-logon-'));
const workOff = mkdtempSync(join(tmpdir(), 'sluice-logoff-'));
try {
  const upstream = await startUpstream();
  const [on, off] = await Promise.all([
    startGateway({ upstream: upstream.origin, workDir: workOn }),
    startGateway({ upstream: upstream.origin, workDir: workOff, configExtra: ['logging: { enabled: false }'] }),
  ]);
  const load = await LoadClient.start();
  const rps: Record<'on' | 'off', number[]> = { on: [], off: [] };
  const p50: Record<'on' | 'off', number[]> = { on: [], off: [] };
  for (const [name, target] of [['on', on], ['off', off]] as const) {
    await load.run(jobFor(target.origin, scenario, { warmupMs: 1000, durationMs: 1000 }));
    void name;
  }
  for (let round = 1; round <= rounds; round++) {
    for (const [name, target] of [['on', on], ['off', off]] as const) {
      const r = await load.run(jobFor(target.origin, scenario, { warmupMs: 1000, durationMs }));
      rps[name].push(r.rps);
      p50[name].push(r.latency.p50 ?? Number.NaN);
      console.log(`round ${round}  logging ${name.padEnd(3)} ${Math.round(r.rps).toLocaleString('en-US').padStart(7)} req/s  p50 ${(r.latency.p50 ?? 0).toFixed(3)} ms  errors ${r.errors + r.non2xx}`);
    }
  }
  const ratio = median(rps.on) / median(rps.off);
  console.log(
    `\nlogging on ${Math.round(median(rps.on))} req/s vs off ${Math.round(median(rps.off))} req/s: ` +
      `logging costs ${((1 - ratio) * 100).toFixed(1)}% of throughput (goal < 10%); p50 ${median(p50.on).toFixed(3)} vs ${median(p50.off).toFixed(3)} ms; ` +
      `database: ${on.database}`,
  );
  await load.close();
} finally {
  await stopAll();
  rmSync(workOn, { recursive: true, force: true });
  rmSync(workOff, { recursive: true, force: true });
}
