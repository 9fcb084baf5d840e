/**
 * Summarises a V8 .heapsnapshot (v8.writeHeapSnapshot, bench/memory.ts --snapshot): self size
 * by node type and constructor, the largest single objects with their retained size (dominator
 * tree), and retained size grouped by the module whose closures/contexts dominate the memory.
 *
 *   node --import tsx bench/heap-summary.ts FILE.heapsnapshot [--top 25]
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

export function summarise(file: string, top: number): string[] {
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
  const retByCtor = new Map<string, number>();
  for (let v = 1; v < n; v++) {
    if (order[v] === -1) continue;
    const t = typeOf(v);
    if (t !== 'object' && t !== 'closure') continue;
    const name = nameOf(v);
    const d = idom[v]!;
    if (d > 0 && typeOf(d) === t && nameOf(d) === name) continue;
    retByCtor.set(`${t}: ${name.slice(0, 60)}`, (retByCtor.get(`${t}: ${name.slice(0, 60)}`) ?? 0) + retained[v]!);
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
  for (const [k, v] of [...retByCtor.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${mb(v).padStart(8)} MB  ${k}`);
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
  return lines;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
for (const f of positionals) console.log(summarise(f, Number(values.top)).join('\n'), '\n');
