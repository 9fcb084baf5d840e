/**
 * Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and ranks functions and modules by
 * self time, optionally only inside a time window so start-up (tsx compiling, migrations) does
 * not drown the request path.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What V8's CPU profiler writes (`.cpuprofile`), the part the bench reads. */
export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  module: string;
  selfMs: number;
  /** Share of busy (non-idle) time in the window. */
  pct: number;
  /** The heaviest call path into it (callers, nearest first), so a native or library hot spot can be traced to our code. */
  via: string[];
}

export interface ProfileSummary {
  file: string;
  windowMs: number;
  busyMs: number;
  idleMs: number;
  /** false when the window did not overlap the profile and the whole profile was used. */
  windowed: boolean;
  functions: HotSpot[];
  modules: Array<{ module: string; selfMs: number; pct: number }>;
}

/** The main-thread profile `node --cpu-prof` wrote for pid (CPU.<date>.<time>.<pid>.<tid>.<seq>). */
export function findProfile(dir: string, pid: number): string | undefined {
  const mine = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(pid));
  const main = mine.find((f) => f.split('.')[4] === '0');
  const pick = main ?? mine.sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  return pick === undefined ? undefined : join(dir, pick);
}

/** Package name for node_modules code, repo-relative path for ours, node:… for core. */
export function moduleOf(url: string, root: string): string {
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return url;
  if (url.startsWith('wasm://')) return '(WebAssembly: PGlite)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? path);
  }
  return path.startsWith(root) ? relative(root, path) : path;
}

function whereOf(frame: CallFrame, root: string): string {
  if (frame.url === '') return '';
  const path = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  const nm = path.lastIndexOf('/node_modules/');
  const short = nm >= 0 ? path.slice(nm + '/node_modules/'.length) : path.startsWith(root) ? relative(root, path) : path;
  // tsx's generated JavaScript for a .ts file has other line numbers than the source: name the file only.
  return short.endsWith('.ts') ? short : `${short}:${frame.lineNumber + 1}`;
}

/**
 * window: [from, to] in microseconds of CLOCK_MONOTONIC, the clock both V8's profile
 * timestamps and process.hrtime use on Linux.
 */
export function summariseProfile(file: string, root: string, window?: { fromUs: number; toUs: number }, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const overlaps = window !== undefined && window.fromUs < profile.endTime && window.toUs > profile.startTime;
  const from = overlaps ? window.fromUs : Number.NEGATIVE_INFINITY;
  const to = overlaps ? window.toUs : Number.POSITIVE_INFINITY;

  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t < from || t > to) continue;
    // A sample stands for the time until the next one.
    const dt = deltas[i + 1] ?? 0;
    const id = samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }

  const fns = new Map<string, HotSpot & { paths: Map<string, number> }>();
  const mods = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id);
    if (!frame) continue;
    totalUs += us;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = frame.functionName || '(anonymous)';
    const where = whereOf(frame, root);
    const module = frame.url === '' ? name : moduleOf(frame.url, root);
    const key = `${name}@${where}`;
    const spot = fns.get(key) ?? { name, where, module, selfMs: 0, pct: 0, via: [], paths: new Map<string, number>() };
    spot.selfMs += us / 1000;
    const path = callersOf(id, parentOf, byId, root).join('\n');
    spot.paths.set(path, (spot.paths.get(path) ?? 0) + us);
    fns.set(key, spot);
    mods.set(module, (mods.get(module) ?? 0) + us / 1000);
  }
  const busyMs = (totalUs - idleUs) / 1000;
  const pct = (ms: number): number => (busyMs > 0 ? Math.round((ms / busyMs) * 1000) / 10 : 0);
  const functions = [...fns.values()]
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top)
    .map(({ paths, ...f }) => ({
      ...f,
      selfMs: Math.round(f.selfMs * 10) / 10,
      pct: pct(f.selfMs),
      via: ([...paths.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '').split('\n').filter(Boolean),
    }));
  const modules = [...mods.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([module, ms]) => ({ module, selfMs: Math.round(ms * 10) / 10, pct: pct(ms) }));
  return {
    file,
    windowMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleUs / 1000),
    windowed: overlaps,
    functions,
    modules,
  };
}

function callersOf(id: number, parentOf: ReadonlyMap<number, number>, byId: ReadonlyMap<number, CallFrame>, root: string, depth = 4): string[] {
  const out: string[] = [];
  for (let cur = parentOf.get(id); cur !== undefined && out.length < depth; cur = parentOf.get(cur)) {
    const frame = byId.get(cur);
    if (!frame || frame.functionName === '(root)') break;
    out.push(`${frame.functionName || '(anonymous)'} ${whereOf(frame, root)}`.trim());
  }
  return out;
}
