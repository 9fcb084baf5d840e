/**
 * Long tasks on the gateway's main thread (issue 20 item 2: nothing on the request thread may
 * run longer than ~1 ms at a time). Profiles the gateway's main thread at a fine sampling
 * interval during the load only (bench/prof-probe.mjs, preloaded, started and stopped by
 * SIGUSR2), drives load at 1 or 50 connections, and splits the profile's samples into tasks: a
 * task is a run of consecutive non-idle samples that enter the thread through the same native
 * entry (the frame below V8's root: a timer, a socket read, a microtask drain); an idle sample or
 * a change of entry ends it. GC samples belong to the task they interrupt. For each task longer
 * than --min-ms it names what took the time (the heaviest frames of our code and of libraries).
 *
 *   node --import tsx bench/long-tasks.ts [--mode postgres|embedded] [--conns 1] [--duration 4]
 *     [--interval-us 100] [--min-ms 1] [--env K=V] [--profile FILE (analyse only)]
 *
 * Sampling costs the gateway time (more at 100 µs), so its durations are upper bounds; they are
 * for comparing before/after, not the benchmark's latency figures.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { REPO_ROOT, stopAll, stopChild } from './children.ts';
import { moduleOf } from './cpu-profile.ts';
import { PRICING_CONFIG } from './key-policies.ts';
import type { CallFrame, CpuProfile } from './cpu-profile.ts';
import { LoadClient } from './load-client.ts';
import { startGateway, startUpstream } from './targets.ts';
import { jobFor, SCENARIOS } from './workload.ts';

export interface LongTask {
  startUs: number;
  durationMs: number;
  entry: string;
  gcMs: number;
  /** Heaviest frames by self time inside the task: "name (module) ms". */
  top: string[];
  /** The innermost frame of our own code (gateway/…) on the heaviest stack. */
  ours: string;
}

export interface TaskSummary {
  windowMs: number;
  busyMs: number;
  tasks: number;
  over1: number;
  over2: number;
  over5: number;
  maxMs: number;
  p99Ms: number;
  long: LongTask[];
  /** Long tasks grouped by `ours` (their own-code frame): count, total and max ms. */
  groups: Array<{ key: string; count: number; totalMs: number; maxMs: number }>;
}

const label = (f: CallFrame, root: string): string => `${f.functionName || '(anonymous)'} (${moduleOf(f.url, root)})`;

/**
 * capUs: the most one sample may count for. The profiler's time deltas are wall time: on a shared
 * machine a thread descheduled between two samples would make a task look long that did not
 * compute for that long, so each sample counts at most capUs (2× the interval by default).
 */
export function longTasks(file: string, window: { fromUs: number; toUs: number } | undefined, minMs: number, capUs = Number.POSITIVE_INFINITY, root = REPO_ROOT): TaskSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const rootId = profile.nodes.find((n) => n.callFrame.functionName === '(root)')?.id;
  // The entry of a sample: its ancestor right below (root).
  const entryOf = new Map<number, number>();
  const entry = (id: number): number => {
    const hit = entryOf.get(id);
    if (hit !== undefined) return hit;
    let cur = id;
    for (let p = parentOf.get(cur); p !== undefined && p !== rootId; p = parentOf.get(cur)) cur = p;
    entryOf.set(id, cur);
    return cur;
  };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const from = window?.fromUs ?? Number.NEGATIVE_INFINITY;
  const to = window?.toUs ?? Number.POSITIVE_INFINITY;
  const durations: number[] = [];
  const long: LongTask[] = [];
  let busyUs = 0;
  let windowUs = 0;
  let cur: { start: number; us: number; entry: number; gcUs: number; self: Map<number, number> } | null = null;
  const end = (): void => {
    if (!cur) return;
    const ms = cur.us / 1000;
    durations.push(ms);
    if (ms > minMs) {
      const heavy = [...cur.self.entries()].sort((a, b) => b[1] - a[1]);
      // Our own frame: walk up from the heaviest non-GC sample until a gateway/ frame.
      let ours = '';
      for (const [id] of heavy) {
        for (let p: number | undefined = id; p !== undefined && !ours; p = parentOf.get(p)) {
          const f = byId.get(p)!;
          if (f.url.includes('/gateway/')) ours = `${f.functionName || '(anonymous)'} (${moduleOf(f.url, root)})`;
        }
        if (ours) break;
      }
      const byName = new Map<string, number>();
      for (const [id, us] of cur.self) {
        const k = label(byId.get(id)!, root);
        byName.set(k, (byName.get(k) ?? 0) + us);
      }
      long.push({
        startUs: cur.start,
        durationMs: Math.round(ms * 100) / 100,
        entry: label(byId.get(cur.entry)!, root),
        gcMs: Math.round(cur.gcUs / 10) / 100,
        top: [...byName.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([k, us]) => `${k} ${(us / 1000).toFixed(2)}`),
        ours: ours || '(no gateway frame)',
      });
    }
    cur = null;
  };
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t < from || t > to) {
      end();
      continue;
    }
    const dt = Math.min(deltas[i + 1] ?? 0, capUs);
    windowUs += dt;
    const id = samples[i]!;
    const f = byId.get(id)!;
    if (f.functionName === '(idle)') {
      end();
      continue;
    }
    busyUs += dt;
    const gc = f.functionName === '(garbage collector)';
    const e: number = gc ? (cur?.entry ?? entry(id)) : entry(id);
    if (cur && cur.entry !== e) end();
    cur ??= { start: t, us: 0, entry: e, gcUs: 0, self: new Map() };
    cur.us += dt;
    if (gc) cur.gcUs += dt;
    cur.self.set(id, (cur.self.get(id) ?? 0) + dt);
  }
  end();
  const sorted = [...durations].sort((a, b) => a - b);
  const groups = new Map<string, { key: string; count: number; totalMs: number; maxMs: number }>();
  for (const l of long) {
    const key = `${l.entry} → ${l.ours}`;
    const g = groups.get(key) ?? { key, count: 0, totalMs: 0, maxMs: 0 };
    g.count++;
    g.totalMs += l.durationMs;
    g.maxMs = Math.max(g.maxMs, l.durationMs);
    groups.set(key, g);
  }
  return {
    windowMs: Math.round(windowUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    tasks: durations.length,
    over1: durations.filter((d) => d > 1).length,
    over2: durations.filter((d) => d > 2).length,
    over5: durations.filter((d) => d > 5).length,
    maxMs: Math.round((sorted.at(-1) ?? 0) * 100) / 100,
    p99Ms: Math.round((sorted[Math.floor(sorted.length * 0.99)] ?? 0) * 100) / 100,
    long: long.sort((a, b) => b.durationMs - a.durationMs),
    groups: [...groups.values()].sort((a, b) => b.totalMs - a.totalMs).map((g) => ({ ...g, totalMs: Math.round(g.totalMs * 10) / 10 })),
  };
}

function print(s: TaskSummary, top: number): void {
  console.log(
    `window ${s.windowMs} ms, busy ${s.busyMs} ms, ${s.tasks} tasks; > 1 ms: ${s.over1}, > 2 ms: ${s.over2}, > 5 ms: ${s.over5}; p99 ${s.p99Ms} ms, max ${s.maxMs} ms`,
  );
  console.log('long tasks by entry → own frame (count, total ms, max ms):');
  for (const g of s.groups.slice(0, top)) console.log(`  ${String(g.count).padStart(5)}  ${g.totalMs.toFixed(1).padStart(8)}  ${g.maxMs.toFixed(2).padStart(7)}  ${g.key}`);
  console.log('longest:');
  for (const l of s.long.slice(0, top)) console.log(`  ${l.durationMs.toFixed(2).padStart(7)} ms  gc ${l.gcMs.toFixed(2)}  ${l.entry} → ${l.ours}\n             ${l.top.join(' · ')}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'postgres' },
      conns: { type: 'string', default: '1' },
      duration: { type: 'string', default: '4' },
      'interval-us': { type: 'string', default: '100' },
      'min-ms': { type: 'string', default: '1' },
      'cap-us': { type: 'string' },
      top: { type: 'string', default: '15' },
      env: { type: 'string', multiple: true, default: [] },
      profile: { type: 'string' },
    },
  });
  const minMs = Number(values['min-ms']);
  const capUs = Number(values['cap-us'] ?? 2 * Number(values['interval-us']));
  if (values.profile) return print(longTasks(values.profile, undefined, minMs, capUs), Number(values.top));
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-longtasks-'));
  const profDir = join(workDir, 'prof');
  mkdirSync(profDir);
  const dbName = `sluice_bench_lt_${process.pid}`;
  const admin = postgres(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} });
  try {
    let databaseUrl: string | null = null;
    if (values.mode === 'postgres') {
      await admin.unsafe(`drop database if exists ${dbName}`);
      await admin.unsafe(`create database ${dbName}`);
      const u = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
      u.pathname = `/${dbName}`;
      databaseUrl = u.toString();
    }
    const upstream = await startUpstream();
    const client = await LoadClient.start();
    const g = await startGateway({
      upstream: upstream.origin,
      workDir,
      configExtra: PRICING_CONFIG,
      databaseUrl,
      env: {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(REPO_ROOT, 'bench/prof-probe.mjs')}`.trim(),
        SLUICE_PROF_DIR: profDir,
        SLUICE_PROF_INTERVAL_US: values['interval-us'],
        ...Object.fromEntries(values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      },
    });
    const s = { ...SCENARIOS.find((x) => x.key === 'json-1')!, connections: Number(values.conns) };
    await client.run(jobFor(g.origin, s, { warmupMs: 0, durationMs: 1_500 }));
    const pid = g.child.pid;
    const waitFor = async (name: string): Promise<void> => {
      for (let i = 0; i < 200 && !existsSync(join(profDir, name)); i++) await new Promise((r) => setTimeout(r, 50));
    };
    process.kill(pid, 'SIGUSR2');
    await waitFor(`${pid}.started`);
    const r = await client.run(jobFor(g.origin, s, { warmupMs: 0, durationMs: Number(values.duration) * 1000 }));
    process.kill(pid, 'SIGUSR2');
    await waitFor(`${pid}-1.cpuprofile`);
    await new Promise((res) => setTimeout(res, 200));
    await stopChild(g.child, 30_000);
    await client.close();
    const file = join(profDir, `${pid}-1.cpuprofile`);
    if (!existsSync(file)) throw new Error('no profile written');
    console.log(`${values.mode}, ${s.connections} conn(s), ${Math.round(r.rps)} req/s, p99 ${r.latency.p99} ms, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; profile ${file}`);
    print(longTasks(file, undefined, minMs, capUs), Number(values.top));
  } finally {
    await stopAll();
    if (values.mode === 'postgres') await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end({ timeout: 1 }).catch(() => {});
    if (!process.env.KEEP_PROFILE) rmSync(workDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
