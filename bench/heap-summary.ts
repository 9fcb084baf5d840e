/**
 * Summarises a V8 .heapsnapshot (v8.writeHeapSnapshot, bench/memory.ts --snapshot): self size
 * by node type and constructor, the largest single objects with their retained size (dominator
 * tree), and retained size grouped by the module whose closures/contexts dominate the memory.
 * `--diff A B` compares two snapshots of one process (bench/soak.ts --snapshot): what grew from
 * A to B by constructor (self size and count), by constructor's outermost instances (retained),
 * and by retainer group (the first --depth steps of the dominator path from the root), largest
 * growth first.
 *
 *   node --import tsx bench/heap-summary.ts FILE.heapsnapshot [--top 25]
 *   node --import tsx bench/heap-summary.ts --diff A.heapsnapshot B.heapsnapshot [--top 25] [--depth 3]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
  locations?: number[];
}

const MB = 1024 * 1024;
const mb = (n: number): string => (n / MB).toFixed(2);

/** Bytes and object count under one key. */
interface Tally {
  size: number;
  count: number;
}

function add(map: Map<string, Tally>, key: string, size: number): void {
  const cur = map.get(key);
  if (cur) {
    cur.size += size;
    cur.count++;
  } else map.set(key, { size, count: 1 });
}

/** What diff compares: the tallies of one snapshot, keyed so that the same thing matches across snapshots. */
interface Tallies {
  file: string;
  nodes: number;
  total: number;
  byCtor: Map<string, Tally>;
  retByCtor: Map<string, Tally>;
  groups: Map<string, Tally>;
}

export function summarise(file: string, top: number): string[] {
  return analyse(file, top, 3).lines;
}

function analyse(file: string, top: number, depth: number): { lines: string[]; tallies: Tallies } {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const nf = snap.snapshot.meta.node_fields;
  const ef = snap.snapshot.meta.edge_fields;
  const nodeTypes = snap.snapshot.meta.node_types[0];
  const edgeTypes = snap.snapshot.meta.edge_types[0];
  const NF = nf.length;
  const EF = ef.length;
  const iType = nf.indexOf('type');
  const iName = nf.indexOf('name');
  const iSize = nf.indexOf('self_size');
  const iEdges = nf.indexOf('edge_count');
  const eType = ef.indexOf('type');
  const eName = ef.indexOf('name_or_index');
  const eTo = ef.indexOf('to_node');
  const { nodes, edges, strings } = snap;
  const n = nodes.length / NF;
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');

  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += nodes[i * NF + iEdges]! * EF;
    firstEdge[i + 1] = e;
  }
  const typeOf = (i: number): string => nodeTypes[nodes[i * NF + iType]!]!;
  const nameOf = (i: number): string => strings[nodes[i * NF + iName]!]!;
  const sizeOf = (i: number): number => nodes[i * NF + iSize]!;

  // Self size by type/constructor.
  const byCtor = new Map<string, { size: number; count: number }>();
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = typeOf(i);
    const key = t === 'object' || t === 'closure' || t === 'native' || t === 'hidden' || t === 'code' ? `${t}: ${nameOf(i).slice(0, 60)}` : t;
    const s = sizeOf(i);
    total += s;
    const cur = byCtor.get(key) ?? { size: 0, count: 0 };
    cur.size += s;
    cur.count++;
    byCtor.set(key, cur);
  }

  // Dominators (Cooper–Harvey–Kennedy on a post order from the root, node 0), weak edges ignored.
  const order = new Int32Array(n).fill(-1);
  const post: number[] = [];
  {
    const stack: number[] = [0];
    const edgeIdx = new Uint32Array(n);
    const seen = new Uint8Array(n);
    seen[0] = 1;
    edgeIdx[0] = firstEdge[0]!;
    while (stack.length) {
      const v = stack[stack.length - 1]!;
      let pushed = false;
      while (edgeIdx[v]! < firstEdge[v + 1]!) {
        const e = edgeIdx[v]!;
        edgeIdx[v] = e + EF;
        const et = edges[e + eType]!;
        if (et === weak || et === shortcut) continue;
        const w = edges[e + eTo]! / NF;
        if (!seen[w]) {
          seen[w] = 1;
          edgeIdx[w] = firstEdge[w]!;
          stack.push(w);
          pushed = true;
          break;
        }
      }
      if (!pushed) {
        stack.pop();
        order[v] = post.length;
        post.push(v);
      }
    }
  }
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (let v = 0; v < n; v++) {
    if (order[v] === -1) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += EF) {
      const et = edges[e + eType]!;
      if (et === weak || et === shortcut) continue;
      const w = edges[e + eTo]! / NF;
      if (order[w] !== -1) preds[w]!.push(v);
    }
  }
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (order[a]! < order[b]!) a = idom[a]!;
      while (order[b]! < order[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = post.length - 2; k >= 0; k--) {
      const v = post[k]!;
      let d = -1;
      for (const p of preds[v]!) if (idom[p] !== -1) d = d === -1 ? p : intersect(p, d);
      if (d !== -1 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(n);
  for (const v of post) retained[v] = sizeOf(v);
  // A dominator is a DFS ancestor, so it comes later in post order: children are complete first.
  for (const v of post) {
    const d = idom[v]!;
    if (v !== 0) retained[d] = retained[d]! + retained[v]!;
  }
  // Retained by constructor: the outermost node of each constructor (its dominator has another).
  const retByCtor = new Map<string, Tally>();
  for (let v = 1; v < n; v++) {
    if (order[v] === -1) continue;
    const t = typeOf(v);
    if (t !== 'object' && t !== 'closure') continue;
    const name = nameOf(v);
    const d = idom[v]!;
    if (d > 0 && typeOf(d) === t && nameOf(d) === name) continue;
    add(retByCtor, `${t}: ${name.slice(0, 60)}`, retained[v]!);
  }
  // Big single objects: largest retained sizes below the synthetic roots.
  const big: Array<{ i: number; r: number }> = [];
  for (let v = 1; v < n; v++) {
    const t = typeOf(v);
    if (t === 'synthetic' || order[v] === -1) continue;
    if (retained[v]! > 512 * 1024) big.push({ i: v, r: retained[v]! });
  }
  big.sort((a, b) => b.r - a.r);
  // Name each big object by the edge its dominator reaches it through.
  const edgeName = (from: number, to: number): string => {
    for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e += EF) {
      if (edges[e + eTo]! / NF !== to) continue;
      const et = edgeTypes[edges[e + eType]!];
      return et === 'element' || et === 'hidden' ? `[${edges[e + eName]}]` : strings[edges[e + eName]!]!;
    }
    return '?';
  };
  // Retainer groups: every reachable object is counted under the first `depth` non-synthetic
  // steps of its dominator path (root first); element indexes are dropped so keys match across
  // snapshots. Dominators precede what they dominate in reverse post order.
  // Indexes (elements, numbered root categories such as `25 / IdentityMapBase`) vary between snapshots.
  const norm = (e: string): string => (e.startsWith('[') || /^\d+$/.test(e) ? '[]' : e.replace(/^\d+ \/ /, '').slice(0, 30));
  const step = (x: number): string => {
    // Reached from its dominator only through other objects: name it by the edges of its direct
    // retainers, the smallest name, so that the key does not depend on the order of retainers.
    const direct = edgeName(idom[x]!, x);
    const e = direct !== '?' || !preds[x]!.length ? norm(direct) : preds[x]!.map((p) => norm(edgeName(p, x))).sort()[0]!;
    return `${typeOf(x) === 'object' ? nameOf(x).slice(0, 30) : typeOf(x)}.${e}`;
  };
  const level = new Int32Array(n);
  const groupOf: string[] = new Array<string>(n);
  groupOf[0] = '(root)';
  const groups = new Map<string, Tally>();
  for (let k = post.length - 2; k >= 0; k--) {
    const v = post[k]!;
    const d = idom[v]!;
    const synthetic = typeOf(v) === 'synthetic';
    level[v] = level[d]! + (synthetic ? 0 : 1);
    groupOf[v] = synthetic || level[v]! > depth ? groupOf[d]! : groupOf[d] === '(root)' ? step(v) : `${groupOf[d]} → ${step(v)}`;
    add(groups, groupOf[v]!, sizeOf(v));
  }
  const path = (v: number): string => {
    const parts: string[] = [];
    for (let x = v, k = 0; x !== 0 && k < 6; x = idom[x]!, k++) parts.push(`${typeOf(x) === 'object' ? nameOf(x).slice(0, 30) : typeOf(x)}.${edgeName(idom[x]!, x).slice(0, 30)}`);
    return parts.reverse().join(' → ');
  };

  const strs = [...byCtor.entries()].filter(([k]) => k === 'string' || k === 'concatenated string' || k === 'sliced string');
  const lines: string[] = [];
  lines.push(`${file}: ${n.toLocaleString('en-US')} nodes, ${mb(total)} MB self size total; strings ${strs.map(([k, v]) => `${k} ${mb(v.size)} MB`).join(', ')}`);
  lines.push('', `self size by type/constructor (top ${top}):`);
  for (const [k, v] of [...byCtor.entries()].sort((a, b) => b[1].size - a[1].size).slice(0, top)) lines.push(`  ${mb(v.size).padStart(8)} MB  ${String(v.count).padStart(8)}×  ${k}`);
  lines.push('', `retained size by constructor, outermost instances (top ${top}):`);
  for (const [k, v] of [...retByCtor.entries()].sort((a, b) => b[1].size - a[1].size).slice(0, top)) lines.push(`  ${mb(v.size).padStart(8)} MB  ${String(v.count).padStart(8)}×  ${k}`);
  lines.push('', `largest retainers (> 0.5 MB), dominator path:`);
  const shown = new Set<number>();
  for (const { i, r } of big) {
    if (shown.size >= top) break;
    // Skip a node whose dominator is already listed with nearly the same size (a wrapper chain).
    const d = idom[i]!;
    if (shown.has(d) && retained[d]! - r < 64 * 1024) {
      shown.add(i);
      continue;
    }
    shown.add(i);
    lines.push(`  ${mb(r).padStart(8)} MB  ${typeOf(i)} ${nameOf(i).slice(0, 50).replace(/\s+/g, ' ')}  via ${path(i)}`);
  }
  // Largest strings: what source text and maps cost.
  const bigStrings: Array<{ s: number; text: string }> = [];
  for (let i = 0; i < n; i++) {
    const t = typeOf(i);
    if (t !== 'string') continue;
    const s = sizeOf(i);
    if (s > 64 * 1024) bigStrings.push({ s, text: nameOf(i).slice(0, 70).replace(/\s+/g, ' ') });
  }
  bigStrings.sort((a, b) => b.s - a.s);
  const sum = bigStrings.reduce((a, b) => a + b.s, 0);
  lines.push('', `strings > 64 kB: ${bigStrings.length}, ${mb(sum)} MB; largest:`);
  for (const b of bigStrings.slice(0, Math.min(top, 15))) lines.push(`  ${mb(b.s).padStart(8)} MB  ${JSON.stringify(b.text)}`);
  return { lines, tallies: { file, nodes: n, total, byCtor, retByCtor, groups } };
}

/** What grew from snapshot a to snapshot b, largest growth in bytes first (then the largest shrinkage). */
export function diff(fileA: string, fileB: string, top: number, depth: number): string[] {
  // One at a time: a parsed snapshot is several times its file's size.
  const a = analyse(fileA, top, depth).tallies;
  const b = analyse(fileB, top, depth).tallies;
  const lines = [
    `A ${a.file}: ${a.nodes.toLocaleString('en-US')} nodes, ${mb(a.total)} MB`,
    `B ${b.file}: ${b.nodes.toLocaleString('en-US')} nodes, ${mb(b.total)} MB`,
    `B − A: ${(b.nodes - a.nodes).toLocaleString('en-US')} nodes, ${signed(b.total - a.total)} MB`,
  ];
  const section = (title: string, ma: Map<string, Tally>, mbMap: Map<string, Tally>): void => {
    const rows = [...new Set([...ma.keys(), ...mbMap.keys()])].map((k) => {
      const x = ma.get(k) ?? { size: 0, count: 0 };
      const y = mbMap.get(k) ?? { size: 0, count: 0 };
      return { k, x, y, dSize: y.size - x.size, dCount: y.count - x.count };
    });
    const fmt = (r: (typeof rows)[number]): string =>
      `  ${signed(r.dSize).padStart(8)} MB  ${(r.dCount >= 0 ? '+' : '') + r.dCount.toLocaleString('en-US')}×`.padEnd(28) +
      `  (${mb(r.x.size)} → ${mb(r.y.size)} MB, ${r.x.count.toLocaleString('en-US')} → ${r.y.count.toLocaleString('en-US')})  ${r.k}`;
    const grew = rows.filter((r) => r.dSize > 0 || (r.dSize === 0 && r.dCount > 0)).sort((p, q) => q.dSize - p.dSize || q.dCount - p.dCount);
    const shrank = rows.filter((r) => r.dSize < 0).sort((p, q) => p.dSize - q.dSize);
    lines.push('', `${title}: grew (top ${top} of ${grew.length})`);
    for (const r of grew.slice(0, top)) lines.push(fmt(r));
    lines.push(`${title}: shrank (top ${Math.min(top, 10)} of ${shrank.length})`);
    for (const r of shrank.slice(0, Math.min(top, 10))) lines.push(fmt(r));
  };
  section('self size by type/constructor', a.byCtor, b.byCtor);
  section('retained size by constructor, outermost instances', a.retByCtor, b.retByCtor);
  section(`retainer groups (dominator path, depth ${depth}), self size of everything under each`, a.groups, b.groups);
  return lines;
}

function signed(bytes: number): string {
  return `${bytes >= 0 ? '+' : '−'}${mb(Math.abs(bytes))}`;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, diff: { type: 'boolean', default: false }, depth: { type: 'string', default: '3' } },
});
if (values.diff) {
  if (positionals.length !== 2) throw new Error('--diff needs two snapshots: A B');
  console.log(diff(positionals[0]!, positionals[1]!, Number(values.top), Number(values.depth)).join('\n'));
} else for (const f of positionals) console.log(summarise(f, Number(values.top)).join('\n'), '\n');
