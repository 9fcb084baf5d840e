/**
 * What metrics and tracing cost per call (issue 17): the same non-streaming chat at 1 connection
 * through four gateway processes started alike — metrics off (SLUICE_METRICS=0), metrics off
 * again (a control: the spread between two identical processes is the noise floor), metrics on
 * (the default), and metrics on with tracing exporting every span over OTLP/HTTP to a receiver
 * in this process. Each round runs every gateway once, in an order rotated per round, so drift
 * does not favour one; the added latency is the median over rounds of the per-round difference.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoadClient } from './load-client.ts';
import { observabilityMicro, readThreadCpuMs, type ObservabilityMicro } from './observability-micro.ts';
import type { LoadResult } from './protocol.ts';
import { readCpuMs } from './rss.ts';
import { median } from './summary.ts';
import type { GatewayTarget } from './targets.ts';
import { jobFor, SCENARIOS } from './workload.ts';

export const METRICS_GOAL_MS = 0.02;
export const TRACING_GOAL_MS = 0.1;

export type ObservabilityVariant = 'off' | 'control' | 'metrics' | 'tracing';
const VARIANTS: readonly ObservabilityVariant[] = ['off', 'control', 'metrics', 'tracing'];
const LABEL: Record<ObservabilityVariant, string> = {
  off: 'metrics off, tracing off',
  control: 'same, second process',
  metrics: 'metrics on',
  tracing: 'metrics + tracing (OTLP)',
};

/** Gateway environment per variant; `otlp` is the receiver's base URL. */
export function observabilityEnv(variant: ObservabilityVariant, otlp: string): Record<string, string> {
  switch (variant) {
    case 'off':
    case 'control':
      return { SLUICE_METRICS: '0' };
    case 'metrics':
      return { SLUICE_METRICS: '1' };
    case 'tracing':
      // The default protocol (http/protobuf) and batch settings: what an operator gets.
      return { SLUICE_METRICS: '1', OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_SERVICE_NAME: 'sluice-bench' };
  }
}

export const OBSERVABILITY_VARIANTS = VARIANTS;

/** An OTLP/HTTP receiver that accepts every export and counts requests and bytes. */
export interface OtlpSink {
  url: string;
  requests: number;
  bytes: number;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const sink = { requests: 0, bytes: 0 };
  const server: Server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      sink.bytes += chunk.length;
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') sink.requests++;
      res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/x-protobuf') }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(sink, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

export interface ObservabilityOptions {
  rounds: number;
  warmupMs: number;
  durationMs: number;
  /** Unrecorded load per gateway before round 1 (JIT, pools). */
  primeMs: number;
}

interface Trial {
  round: number;
  variant: ObservabilityVariant;
  cpuUsPerRequest: number | null;
  /** The gateway's main thread alone (the event loop that serves requests). */
  mainCpuUsPerRequest: number | null;
  result: LoadResult;
}

export interface ObservabilityRow {
  variant: ObservabilityVariant;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number | null;
  mainCpuUsPerRequest: number | null;
  failures: number;
}

export interface ObservabilityDelta {
  what: string;
  /** Median over rounds of (variant p50 − baseline p50), ms. */
  addedP50Ms: number;
  addedP99Ms: number;
  addedCpuUs: number | null;
  addedMainCpuUs: number | null;
}

export interface ObservabilityResult {
  options: ObservabilityOptions;
  durationS: number;
  rows: ObservabilityRow[];
  /** metrics − off, tracing − metrics, control − off (the noise floor). */
  deltas: { metrics: ObservabilityDelta; tracing: ObservabilityDelta; noise: ObservabilityDelta };
  exported: { requests: number; bytes: number };
  /** The same costs measured in-process: µs of one core per call. */
  micro: ObservabilityMicro;
  goals: Array<{ goal: string; measured: string; verdict: 'met' | 'not met' }>;
  failures: number;
  trials: Trial[];
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const signed = (x: number, digits = 3): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(digits)}` : 'n/a');
const bad = (r: LoadResult): number => r.errors + r.non2xx + r.badBodies;

export async function runObservability(
  load: LoadClient,
  gateways: Readonly<Record<ObservabilityVariant, GatewayTarget>>,
  sink: OtlpSink,
  opts: ObservabilityOptions,
  print: (line: string) => void,
): Promise<ObservabilityResult> {
  const started = Date.now();
  const scenario = SCENARIOS.find((s) => s.key === 'json-1')!;
  const job = (v: ObservabilityVariant, timing: { warmupMs: number; durationMs: number }) => jobFor(gateways[v].origin, scenario, timing);
  print('');
  print(`observability (issue 17): non-stream chat at 1 conn; ${VARIANTS.map((v) => LABEL[v]).join(' · ')}; each its own gateway process`);
  let failures = 0;
  for (const v of VARIANTS) failures += bad(await load.run(job(v, { warmupMs: 0, durationMs: opts.primeMs })));

  const trials: Trial[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]!);
    for (const variant of order) {
      const pid = gateways[variant].child.pid;
      const before = readCpuMs(pid);
      const mainBefore = readThreadCpuMs(pid, pid);
      const result = await load.run(job(variant, { warmupMs: opts.warmupMs, durationMs: opts.durationMs }));
      const after = readCpuMs(pid);
      const mainAfter = readThreadCpuMs(pid, pid);
      const n = Object.values(result.statusCounts).reduce((a, b) => a + b, 0);
      const perRequest = (a: number | null, b: number | null): number | null => (a !== null && b !== null && n > 0 ? Math.round(((b - a) * 1000) / n) : null);
      const cpuUsPerRequest = perRequest(before, after);
      const mainCpuUsPerRequest = perRequest(mainBefore, mainAfter);
      failures += bad(result);
      trials.push({ round, variant, cpuUsPerRequest, mainCpuUsPerRequest, result });
      print(
        `  round ${round}  ${LABEL[variant].padEnd(26)} ${Math.round(result.rps).toLocaleString('en-US').padStart(6)} req/s  p50 ${ms(result.latency.p50)}  p99 ${ms(result.latency.p99)}` +
          `${cpuUsPerRequest === null ? '' : `  cpu ${cpuUsPerRequest} µs/req (main thread ${mainCpuUsPerRequest ?? 'n/a'})`}${bad(result) > 0 ? `  !! ${bad(result)} failed (${result.firstError ?? ''})` : ''}`,
      );
    }
  }

  const of = (v: ObservabilityVariant): Trial[] => trials.filter((t) => t.variant === v);
  const rows: ObservabilityRow[] = VARIANTS.map((variant) => {
    const ts = of(variant);
    const cpus = ts.map((t) => t.cpuUsPerRequest).filter((x): x is number => x !== null);
    const mains = ts.map((t) => t.mainCpuUsPerRequest).filter((x): x is number => x !== null);
    return {
      variant,
      rps: Math.round(median(ts.map((t) => t.result.rps))),
      p50: r3(median(ts.map((t) => t.result.latency.p50))),
      p99: r3(median(ts.map((t) => t.result.latency.p99))),
      cpuUsPerRequest: cpus.length ? Math.round(median(cpus)) : null,
      mainCpuUsPerRequest: mains.length ? Math.round(median(mains)) : null,
      failures: ts.reduce((a, t) => a + bad(t.result), 0),
    };
  });
  const delta = (what: string, v: ObservabilityVariant, base: ObservabilityVariant): ObservabilityDelta => {
    const pairs = of(v).map((t) => [t, of(base).find((b) => b.round === t.round)!] as const);
    const cpu = pairs.filter(([a, b]) => a.cpuUsPerRequest !== null && b.cpuUsPerRequest !== null);
    const main = pairs.filter(([a, b]) => a.mainCpuUsPerRequest !== null && b.mainCpuUsPerRequest !== null);
    return {
      what,
      addedP50Ms: r3(median(pairs.map(([a, b]) => a.result.latency.p50 - b.result.latency.p50))),
      addedP99Ms: r3(median(pairs.map(([a, b]) => a.result.latency.p99 - b.result.latency.p99))),
      addedCpuUs: cpu.length ? Math.round(median(cpu.map(([a, b]) => a.cpuUsPerRequest! - b.cpuUsPerRequest!))) : null,
      addedMainCpuUs: main.length ? Math.round(median(main.map(([a, b]) => a.mainCpuUsPerRequest! - b.mainCpuUsPerRequest!))) : null,
    };
  };
  const deltas = {
    metrics: delta('metrics (metrics on − off)', 'metrics', 'off'),
    tracing: delta('tracing (metrics + tracing − metrics on)', 'tracing', 'metrics'),
    noise: delta('noise floor (second off process − off)', 'control', 'off'),
  };
  // Spans are exported in batches every few seconds: wait for the last batch before counting.
  await new Promise((r) => setTimeout(r, 6_000));
  const exported = { requests: sink.requests, bytes: sink.bytes };
  const micro = await observabilityMicro(sink.url, opts.rounds <= 1);
  const goal = (name: string, d: ObservabilityDelta, limit: number) => ({
    goal: `${name} add ≤ ${limit} ms p50 at 1 conn`,
    measured: `${signed(d.addedP50Ms)} ms (noise floor ${signed(deltas.noise.addedP50Ms)} ms)`,
    verdict: (d.addedP50Ms <= limit ? 'met' : 'not met') as 'met' | 'not met',
  });
  const goals = [goal('metrics', deltas.metrics, METRICS_GOAL_MS), goal('tracing', deltas.tracing, TRACING_GOAL_MS)];
  if (exported.requests === 0) failures++;
  return { options: opts, durationS: Math.round((Date.now() - started) / 1000), rows, deltas, exported, micro, goals, failures, trials };
}

const HEAD = ['gateway', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'main thread µs/req', 'failures'];

function tableRows(r: ObservabilityResult): string[][] {
  return r.rows.map((row) => [LABEL[row.variant], row.rps.toLocaleString('en-US'), ms(row.p50), ms(row.p99), row.cpuUsPerRequest === null ? 'n/a' : String(row.cpuUsPerRequest), row.mainCpuUsPerRequest === null ? 'n/a' : String(row.mainCpuUsPerRequest), String(row.failures)]);
}

function deltaText(d: ObservabilityDelta): string {
  return `${d.what}: p50 ${signed(d.addedP50Ms)} ms, p99 ${signed(d.addedP99Ms)} ms${d.addedCpuUs === null ? '' : `, CPU ${signed(d.addedCpuUs, 0)} µs/req`}${d.addedMainCpuUs === null ? '' : ` (main thread ${signed(d.addedMainCpuUs, 0)})`}`;
}

const exportedText = (r: ObservabilityResult): string =>
  `the tracing gateway exported ${r.exported.requests} OTLP requests (${(r.exported.bytes / 1024).toFixed(0)} KiB) to the receiver`;
const microText = (r: ObservabilityResult): string =>
  `measured in-process (a hot loop), per call: metrics ${r.micro.metricsUs} µs of CPU (Metrics.observe); tracing five spans: ${r.micro.tracingPathUs} µs on the call's path, ` +
  `${r.micro.tracingUs ?? 'n/a'} µs of the serving thread's CPU, ${r.micro.tracingExportUs ?? 'n/a'} µs of the export thread's (SDK spans made, serialised, sent)`;

export function observabilityConsole(r: ObservabilityResult): string {
  const body = tableRows(r);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const o = r.options;
  const lines = [
    '',
    `observability: medians of ${o.rounds} rounds × ${o.durationMs / 1000} s at 1 conn (+${o.warmupMs / 1000} s warm-up), non-stream chat`,
    fmt(HEAD),
    ...body.map(fmt),
    ...Object.values(r.deltas).map((d) => `  ${deltaText(d)}`),
    ...r.goals.map((g) => `  [${g.verdict === 'met' ? ' met ' : 'NOT MET'}] ${g.goal}: ${g.measured}`),
    `  ${exportedText(r)}`,
    `  ${microText(r)}`,
    `(observability section: ${r.durationS} s)`,
  ];
  if (r.failures > 0) lines.push(`!! ${r.failures} failures in the observability trials${r.exported.requests === 0 ? ' (no span reached the receiver)' : ''}`);
  return lines.join('\n');
}

export function observabilityMarkdown(r: ObservabilityResult): string {
  const o = r.options;
  return [
    `**Metrics and tracing (issue 17)** — ${o.rounds} rounds × ${o.durationMs / 1000} s at 1 conn (+${o.warmupMs / 1000} s warm-up), non-stream chat, four gateway processes ` +
      `started alike (the second "off" one measures the noise between identical processes); tracing exports every span over OTLP/HTTP (protobuf) to a local receiver:`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|---|${HEAD.slice(1).map(() => '--:').join('|')}|`,
    ...tableRows(r).map((row) => `| ${row.join(' | ')} |`),
    '',
    `Added (median of per-round differences): ${Object.values(r.deltas).map(deltaText).join('; ')}. ` +
      `${r.goals.map((g) => `Goal "${g.goal}": ${g.measured}, **${g.verdict}**`).join('. ')}. ${exportedText(r)}; ${microText(r)}.`,
  ].join('\n');
}
