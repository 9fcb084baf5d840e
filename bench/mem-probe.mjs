// Preloaded into a gateway by bench/memory.ts (NODE_OPTIONS=--import …/mem-probe.mjs): on
// SIGUSR2 it writes what the process holds to $SLUICE_MEM_PROBE_DIR/probe-<pid>-<n>.json —
// process.memoryUsage(), V8's heap spaces, /proc/self/smaps_rollup and /proc/self/status — and,
// when $SLUICE_MEM_PROBE_DIR/snapshot exists, a heap snapshot of the main thread and of every
// worker thread next to it. Not part of the gateway: only the bench loads it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports, createRequire } from 'node:module';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import workerThreads from 'node:worker_threads';

const dir = process.env.SLUICE_MEM_PROBE_DIR;

/** Mappings holding more than 1 MB resident, largest first: [kB resident, size kB, name]. */
function bigMappings(text) {
  const out = [];
  let cur;
  for (const line of (text ?? '').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      cur = { size: Math.round((parseInt(head[2], 16) - parseInt(head[1], 16)) / 1024), name: head[4] || '[anon]', perms: head[3], rss: 0 };
      out.push(cur);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && cur) cur.rss = Number(rss[1]);
  }
  const buckets = {};
  for (const m of out) {
    const key = m.name !== '[anon]' ? m.name : m.size === 256 ? '[anon 256 kB: V8 heap pages]' : m.size <= 1024 ? '[anon ≤ 1 MB]' : '[anon > 1 MB]';
    const b = (buckets[key] ??= { n: 0, rss: 0, size: 0 });
    b.n++;
    b.rss += m.rss;
    b.size += m.size;
  }
  return {
    big: out.filter((m) => m.rss > 1024).sort((a, b) => b.rss - a.rss).map((m) => [m.rss, m.size, `${m.perms} ${m.name}`]),
    buckets: Object.entries(buckets).filter(([, b]) => b.rss > 512).sort((a, b) => b[1].rss - a[1].rss),
  };
}
// Flags set at run time, as the gateway could set them itself (experiments: bench/memory.ts --runtime-flags).
if (process.env.SLUICE_MEM_PROBE_V8FLAGS) for (const f of process.env.SLUICE_MEM_PROBE_V8FLAGS.split(' ')) if (f) v8.setFlagsFromString(f);
if (dir && workerThreads.isMainThread) {
  const require = createRequire(import.meta.url);
  const wt = require('node:worker_threads');
  const workers = new Set();
  const Original = wt.Worker;
  // Track worker threads so their heaps can be snapshotted too (they are not reachable otherwise).
  wt.Worker = class TrackedWorker extends Original {
    constructor(...args) {
      super(...args);
      const name = String(args[0]).split('/').pop();
      workers.add({ worker: this, name });
      this.once('exit', () => {
        for (const w of workers) if (w.worker === this) workers.delete(w);
      });
    }
  };
  syncBuiltinESMExports();
  // GC pauses since the previous probe, by kind (PerformanceObserver 'gc': main thread, wall time).
  const KINDS = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  let gc = {};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = KINDS[e.detail?.kind ?? e.kind] ?? 'other';
      const g = (gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0, over1: 0 });
      g.count++;
      g.totalMs += e.duration;
      g.maxMs = Math.max(g.maxMs, e.duration);
      if (e.duration > 1) g.over1++;
    }
  }).observe({ entryTypes: ['gc'] });
  let n = 0;
  process.on('SIGUSR2', () => {
    const gcSince = gc;
    gc = {};
    const seq = ++n;
    const read = (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return null;
      }
    };
    const out = {
      pid: process.pid,
      seq,
      at: Date.now(),
      memoryUsage: process.memoryUsage(),
      heap: v8.getHeapStatistics(),
      spaces: v8.getHeapSpaceStatistics(),
      smapsRollup: read('/proc/self/smaps_rollup'),
      status: read('/proc/self/status'),
      workers: [...workers].map((w) => w.name),
      gc: gcSince,
      mappings: bigMappings(read('/proc/self/smaps')),
      snapshots: [],
    };
    const snap = existsSync(join(dir, 'snapshot'));
    void (async () => {
      if (snap) {
        out.snapshots.push(v8.writeHeapSnapshot(join(dir, `heap-${process.pid}-${seq}-main.heapsnapshot`)));
        let i = 0;
        for (const w of workers) {
          const file = join(dir, `heap-${process.pid}-${seq}-w${i++}-${w.name.replace(/[^\w.-]/g, '_')}.heapsnapshot`);
          try {
            await pipeline(await w.worker.getHeapSnapshot(), createWriteStream(file));
            out.snapshots.push(file);
          } catch (err) {
            out.snapshots.push(`${file}: ${String(err)}`);
          }
        }
      }
      writeFileSync(join(dir, `probe-${process.pid}-${seq}.json`), JSON.stringify(out));
    })();
  });
}
