/**
 * Where a gateway's memory goes (issue 20 item 3): starts the gateway on Postgres and/or its
 * embedded PGlite with bench/mem-probe.mjs preloaded, and reads what it holds idle (after
 * start-up) and in the middle of a short 50-connection load: process.memoryUsage(), V8's heap
 * spaces, /proc/<pid>/smaps_rollup and the peak RSS sampled every 100 ms. With --snapshot it
 * also writes heap snapshots of the main thread and of each worker thread (summarise them with
 * bench/heap-summary.ts).
 *
 *   node --import tsx bench/memory.ts [--mode postgres|embedded|both] [--duration 5] [--rounds 1]
 *     [--snapshot] [--node-options="--max-semi-space-size=4"] [--runtime-flags=--optimize-for-size]
 *     [--env SLUICE_HEAP=default] [--config-extra "logging: { enabled: false }"] [--out DIR] [--conns 50]
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { REPO_ROOT, stopAll, stopChild } from './children.ts';
import { PRICING_CONFIG } from './key-policies.ts';
import { LoadClient } from './load-client.ts';
import { readCpuMs, RssSampler } from './rss.ts';
import { callLogCounters, startGateway, startUpstream, type GatewayTarget } from './targets.ts';
import { jobFor, SCENARIOS } from './workload.ts';

export interface Probe {
  memoryUsage: NodeJS.MemoryUsage;
  spaces: Array<{ space_name: string; space_size: number; space_used_size: number }>;
  smapsRollup: string | null;
  status: string | null;
  workers: string[];
  snapshots: string[];
  gc: Record<string, { count: number; totalMs: number; maxMs: number; over1: number }>;
}

const MB = 1024 * 1024;
const mb = (n: number): number => Math.round((n / MB) * 10) / 10;

export function rollup(text: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of (text ?? '').matchAll(/^(\w+):\s+(\d+) kB/gm)) out[m[1]!] = Math.round((Number(m[2]) / 1024) * 10) / 10;
  return out;
}

export async function probe(g: GatewayTarget, dir: string): Promise<Probe> {
  const pid = g.child.pid;
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const fresh = readdirSync(dir).filter((f) => f.startsWith(`probe-${pid}-`) && !before.has(f));
    if (fresh.length) return JSON.parse(readFileSync(join(dir, fresh[0]!), 'utf8')) as Probe;
    if (Date.now() > deadline) throw new Error('no probe answer');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function describe(label: string, p: Probe, peakRss: number | null): Record<string, unknown> {
  const r = rollup(p.smapsRollup);
  const threads = /^Threads:\s+(\d+)/m.exec(p.status ?? '')?.[1];
  const spaces = Object.fromEntries(p.spaces.map((s) => [s.space_name, `${mb(s.space_used_size)}/${mb(s.space_size)}`]));
  return {
    label,
    rss: r.Rss,
    peakRss,
    anon: r.Anonymous,
    fileBacked: r.Rss !== undefined && r.Anonymous !== undefined ? Math.round((r.Rss - r.Anonymous) * 10) / 10 : undefined,
    heapUsed: mb(p.memoryUsage.heapUsed),
    heapTotal: mb(p.memoryUsage.heapTotal),
    external: mb(p.memoryUsage.external),
    arrayBuffers: mb(p.memoryUsage.arrayBuffers),
    threads: threads ? Number(threads) : undefined,
    workers: p.workers,
    spaces,
    snapshots: p.snapshots,
    gc: Object.fromEntries(Object.entries(p.gc ?? {}).map(([k, g]) => [k, `${g.count}× total ${g.totalMs.toFixed(1)} ms, max ${g.maxMs.toFixed(2)} ms, ${g.over1} > 1 ms`])),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'both' },
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '1' },
      conns: { type: 'string', default: '50' },
      snapshot: { type: 'boolean', default: false },
      'node-options': { type: 'string', default: '' },
      'runtime-flags': { type: 'string', default: '' },
      env: { type: 'string', multiple: true, default: [] },
      'config-extra': { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
    },
  });
  const outDir = resolve(values.out ?? mkdtempSync(join(tmpdir(), 'sluice-mem-')));
  mkdirSync(outDir, { recursive: true });
  if (values.snapshot) writeFileSync(join(outDir, 'snapshot'), '');
  else if (existsSync(join(outDir, 'snapshot'))) rmSync(join(outDir, 'snapshot'));
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-memwork-'));
  const dbName = `sluice_bench_mem_${process.pid}`;
  const admin = postgres(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} });
  const results: Array<Record<string, unknown>> = [];
  try {
    const upstream = await startUpstream();
    const client = await LoadClient.start();
    const modes = values.mode === 'both' ? ['postgres', 'embedded'] : [values.mode];
    for (const mode of modes) {
      let databaseUrl: string | null = null;
      if (mode === 'postgres') {
        await admin.unsafe(`drop database if exists ${dbName}`);
        await admin.unsafe(`create database ${dbName}`);
        const u = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
        u.pathname = `/${dbName}`;
        databaseUrl = u.toString();
      }
      const dir = join(workDir, mode);
      mkdirSync(dir, { recursive: true });
      const g = await startGateway({
        upstream: upstream.origin,
        workDir: dir,
        configExtra: [...PRICING_CONFIG, ...values['config-extra']],
        databaseUrl,
        name: `gateway (${mode})`,
        env: {
          SLUICE_MEM_PROBE_DIR: outDir,
          SLUICE_MEM_PROBE_V8FLAGS: values['runtime-flags'],
          ...Object.fromEntries(values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(REPO_ROOT, 'bench/mem-probe.mjs')} ${values['node-options']}`.trim(),
        },
      });
      await new Promise((r) => setTimeout(r, 1_000));
      results.push({ mode, ...describe('idle after start', await probe(g, outDir), null) });
      const s = { ...SCENARIOS.find((x) => x.key === 'json-50')!, connections: Number(values.conns) };
      for (let round = 1; round <= Number(values.rounds); round++) {
        const durationMs = Number(values.duration) * 1000;
        const sampler = new RssSampler(g.child.pid, 100);
        const cpu0 = readCpuMs(g.child.pid);
        sampler.start();
        let queue: unknown = null;
        const mid = new Promise<Probe>((res, rej) =>
          setTimeout(() => {
            void callLogCounters(g).then((c) => (queue = c && { queued: c.queued, queuedBytes: (c as { queuedBytes?: number }).queuedBytes, spooled: c.spooled }));
            probe(g, outDir).then(res, rej);
          }, 500 + durationMs * 0.75),
        );
        const r = await client.run(jobFor(g.origin, s, { warmupMs: 500, durationMs }));
        const peak = sampler.stop();
        const cpu1 = readCpuMs(g.child.pid);
        const p = await mid;
        results.push({
          mode,
          ...describe(`under ${s.connections}-conn load, round ${round}`, p, peak),
          rps: Math.round(r.rps),
          p50: r.latency.p50,
          p99: r.latency.p99,
          cpuUsPerReq: cpu0 !== null && cpu1 !== null ? Math.round(((cpu1 - cpu0) * 1000) / (r.requests * ((durationMs + 500) / durationMs))) : null,
          failures: r.errors + r.non2xx,
          callLog: queue,
        });
      }
      await new Promise((r) => setTimeout(r, 2_000));
      results.push({ mode, ...describe('idle 2 s after load', await probe(g, outDir), null) });
      await stopChild(g.child, 15_000);
      if (mode === 'postgres') await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    }
    await client.close();
  } finally {
    await stopAll();
    await admin.end({ timeout: 1 }).catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  }
  for (const r of results) console.log(JSON.stringify(r));
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2));
  console.log(`out: ${outDir}`);
}

// Only when run as a script: bench/soak.ts imports the probe helpers above.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
