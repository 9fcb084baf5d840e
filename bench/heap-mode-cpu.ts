/**
 * What SLUICE_HEAP costs in CPU (issue 20): the gateway built in this process (buildGateway, as
 * the server does; the fake upstream in its own process), driven by sequential in-process
 * `app.fetch` calls, timed with process.cpuUsage() (all threads: GC helpers count), which other
 * processes on a busy machine disturb far less than throughput does. Also counts GCs.
 *
 *   SLUICE_HEAP=compact|default [BENCH_V8_FLAGS='--flag …'] node --import tsx bench/heap-mode-cpu.ts [--calls 3000] [--runs 3]
 * DATABASE_URL: the Postgres database to log to (else an embedded PGlite in a temporary directory).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { parseEnv } from '../gateway/config/env.ts';
import { applyHeapMode } from '../gateway/heap-mode.ts';
import { silentLogger } from '../gateway/logger.ts';
import { buildGateway } from '../gateway/server.ts';
import { stopAll } from './children.ts';
import { PRICING_CONFIG } from './key-policies.ts';
import { startUpstream } from './targets.ts';
import { requestFor, SCENARIOS } from './workload.ts';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '3000' }, runs: { type: 'string', default: '3' } } });
const mode = parseEnv(process.env).SLUICE_HEAP;
applyHeapMode(mode);
// Experiments: more V8 flags set at run time, as applyHeapMode sets its own.
for (const f of (process.env.BENCH_V8_FLAGS ?? '').split(' ')) if (f) setFlagsFromString(f);
const dir = mkdtempSync(join(tmpdir(), 'sluice-heapcpu-'));
const gcs = { minor: 0, major: 0 };
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) {
    const kind = (e as { detail?: { kind?: number } }).detail?.kind;
    if (kind === 1) gcs.minor++;
    else if (kind === 2 || kind === 4) gcs.major++;
  }
}).observe({ entryTypes: ['gc'] });
try {
  const upstream = await startUpstream();
  const config = join(dir, 'sluice.config.yaml');
  writeFileSync(config, ['providers:', `  up: { type: openai-compatible, base_url: ${upstream.origin}/v1, api_key: sk-bench-upstream }`, ...PRICING_CONFIG, ''].join('\n'));
  const env = parseEnv({ ...process.env, SLUICE_CONFIG: config, SLUICE_ADMIN_KEY: 'sk-bench-admin-0123456789', SLUICE_DATA_DIR: join(dir, 'data') });
  const gw = await buildGateway(env, silentLogger);
  const req = requestFor(SCENARIOS.find((s) => s.key === 'json-1')!);
  const call = async (): Promise<void> => {
    const res = await gw.app.fetch(new Request('http://gateway.local/v1/chat/completions', { method: 'POST', headers: req.headers, body: req.body }));
    if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  const n = Number(values.calls);
  for (let i = 0; i < n; i++) await call();
  const per: number[] = [];
  for (let r = 0; r < Number(values.runs); r++) {
    gcs.minor = 0;
    gcs.major = 0;
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await call();
    const c = process.cpuUsage(c0);
    per.push((c.user + c.system) / n);
    console.log(`${mode}${process.env.BENCH_V8_FLAGS ? ` ${process.env.BENCH_V8_FLAGS}` : ''} run ${r + 1}: ${((c.user + c.system) / n).toFixed(0)} µs CPU/call, ${gcs.minor} scavenges, ${gcs.major} major GCs per ${n} calls, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
  }
  per.sort((a, b) => a - b);
  console.log(`${mode}: median ${per[per.length >> 1]!.toFixed(0)} µs CPU/call (load average ${(await import('node:os')).loadavg()[0]!.toFixed(2)})`);
  await gw.close();
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
