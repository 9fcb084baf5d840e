/**
 * Presents a run: the console table, bench/results.json (every trial, medians, ratios, machine)
 * and the marked results section of bench/README.md.
 */
import { cpus, loadavg, release, totalmem } from 'node:os';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { SuiteResult } from './suite.ts';
import { describeCallLog, gatewayEntry } from './targets.ts';
import type { Medians, Summary, TargetName } from './summary.ts';
import { CACHE_SCENARIO, SCENARIOS } from './workload.ts';

export interface RunInfo {
  mode: 'default' | 'quick';
  date: string;
  rounds: number;
  warmupMs: number;
  durationMs: number;
  database: string;
  durationS: number;
  /** 1-minute load average when the run started (other work on the machine). */
  loadAvgStart: number;
}

export function machineInfo(): Record<string, unknown> {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    totalMemMb: Math.round(totalmem() / 2 ** 20),
    platform: process.platform,
    kernel: release(),
    arch: process.arch,
    node: process.version,
    /** Other work on the machine skews every number; recorded so a noisy run can be recognised. */
    loadAvg1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

const TARGET_ORDER: TargetName[] = ['direct', 'bare', 'gateway'];
const TARGET_LABEL: Record<TargetName, string> = { direct: 'direct upstream', bare: 'bare proxy', gateway: 'gateway' };

interface Row {
  scenario: string;
  target: string;
  cells: string[];
}

const HEAD = ['req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'TTFB p50', 'TTFB p90', 'TTFB p99', 'CPU µs/req', 'failures'];

function rows(summary: Summary): Row[] {
  const out: Row[] = [];
  for (const s of [...SCENARIOS, CACHE_SCENARIO]) {
    const byTarget = summary.medians[s.key];
    if (!byTarget) continue;
    for (const t of TARGET_ORDER) {
      const m: Medians | undefined = byTarget[t];
      if (!m) continue;
      const ttfb = s.stream ? [m.ttfbP50, m.ttfbP90, m.ttfbP99].map((x) => x.toFixed(3)) : ['', '', ''];
      out.push({
        scenario: s.label,
        target: TARGET_LABEL[t],
        cells: [
          m.rps.toLocaleString('en-US'),
          m.p50.toFixed(3),
          m.p90.toFixed(3),
          m.p99.toFixed(3),
          ...ttfb,
          Number.isFinite(m.cpuUsPerRequest) ? String(m.cpuUsPerRequest) : 'n/a',
          String(m.failures),
        ],
      });
    }
  }
  return out;
}

export function consoleReport(summary: Summary, info: RunInfo): string {
  const table = rows(summary);
  const w0 = Math.max(8, ...table.map((r) => r.scenario.length));
  const w1 = Math.max(6, ...table.map((r) => r.target.length));
  const widths = HEAD.map((h, i) => Math.max(h.length, ...table.map((r) => r.cells[i]?.length ?? 0)));
  const fmtRow = (a: string, b: string, cells: readonly string[]): string =>
    `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')}`;
  const lines = [
    '',
    `medians of ${info.rounds} rounds × ${info.durationMs / 1000} s (+${info.warmupMs / 1000} s warm-up); latency = whole response, TTFB = first body byte`,
    fmtRow('scenario', 'target', HEAD),
    ...table.map((r) => fmtRow(r.scenario, r.target, r.cells)),
    '',
    'goals:',
    ...summary.goals.map((g) => `  [${g.verdict === 'met' ? ' met ' : g.verdict === 'n/a' ? ' n/a ' : 'NOT MET'}] ${g.goal}: ${g.measured}`),
  ];
  lines.push('', `upstream connections opened during the trials (a proxy that reuses its pool opens ~0): ${reuse(summary)}`);
  if (summary.failures > 0) lines.push('', `!! ${summary.failures} failed requests (transport errors, non-2xx or truncated streams) — see results.json`);
  return lines.join('\n');
}

function reuse(summary: Summary): string {
  const parts: string[] = [];
  for (const s of [...SCENARIOS, CACHE_SCENARIO]) {
    const byTarget = summary.medians[s.key];
    if (!byTarget) continue;
    const cells = (['bare', 'gateway'] as const)
      .map((t) => byTarget[t] && `${t} ${byTarget[t].upstreamConnections} per ${byTarget[t].upstreamRequests.toLocaleString('en-US')} upstream requests`)
      .filter(Boolean);
    if (cells.length) parts.push(`${s.label}: ${cells.join(', ')}`);
  }
  return parts.join('; ');
}

export function markdownReport(summary: Summary, info: RunInfo, suite: SuiteResult): string {
  const m = machineInfo();
  const lines = [
    `Last run: ${info.date} · \`npm run bench\`${info.mode === 'quick' ? ' -- --quick' : ''} · ${info.rounds} rounds × ${info.durationMs / 1000} s (+${info.warmupMs / 1000} s warm-up) · ` +
      `${String(m.cpus)} × ${String(m.cpuModel)} · Node ${process.version} · gateway ${gatewayEntry().endsWith('.js') ? 'compiled (dist/)' : 'from TypeScript (tsx)'}, database: ${info.database} · ${info.durationS} s in all · ` +
      `load average ${info.loadAvgStart} at start, ${String(m.loadAvg1m)} at end`,
    '',
    `| scenario | target | ${HEAD.join(' | ')} |`,
    `|---|---|${HEAD.map(() => '--:').join('|')}|`,
    ...rows(summary).map((r) => `| ${r.scenario} | ${r.target} | ${r.cells.join(' | ')} |`),
    '',
    '| goal | measured | verdict |',
    '|---|---|---|',
    ...summary.goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.verdict === 'met' ? '**met**' : g.verdict === 'n/a' ? 'n/a' : '**not met**'} |`),
    '',
    `Ratios (median of per-round pairs): gateway/bare throughput at 50 conns ${summary.ratios.throughputGatewayOverBare50}, ` +
      `gateway/direct ${summary.ratios.throughputGatewayOverDirect50}; CPU per request gateway/bare at 50 conns ` +
      `${summary.ratios.cpuPerRequestGatewayOverBare50}; p50 overhead at 1 conn gateway ${summary.ratios.p50OverheadGatewayMs} ms, ` +
      `bare ${summary.ratios.p50OverheadBareMs} ms; stream TTFB overhead gateway ${summary.ratios.ttfbOverheadGatewayMs} ms, ` +
      `bare ${summary.ratios.ttfbOverheadBareMs} ms; stream total overhead gateway ${summary.ratios.streamTotalOverheadGatewayMs} ms.`,
    `Upstream connections opened: ${reuse(summary)}.`,
    `Call log (\`/healthz\` after the pause): ${describeCallLog(suite.callLog, suite.gatewayRequests).replace(/^call log: /, '')}.`,
    `Gateway RSS after each second of the ${suite.rss.afterSamplesMb.length} s pause: ${suite.rss.afterSamplesMb.join(', ')} MB.`,
  ];
  return lines.join('\n');
}

/** Written through a temporary file so a crash never leaves half a JSON file. */
export function writeJson(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

const START = '<!-- results:start -->';
const END = '<!-- results:end -->';

/** Replaces what is between the markers; appends a results section when they are missing. */
/**
 * The part of the current results block that starts at `heading` (to the block's end), for a
 * section this run skipped (`--no-scale`): kept, marked as not re-run, rather than dropped.
 */
export function keptSection(path: string, heading: string): string {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const a = text.indexOf(heading);
  const b = text.indexOf(END);
  if (a < 0 || b < a || text.indexOf(START) > a) return '';
  const kept = text.slice(a, b).trimEnd();
  if (kept.includes('*Not re-run')) return kept;
  const [first, ...rest] = kept.split('\n');
  return [first, '', '*Not re-run in the latest default run (`--no-scale`): kept from an earlier run, whose date is given below or in git history.*', ...rest].join('\n');
}

export function updateReadme(path: string, section: string): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# sluice benchmark\n';
  const block = `${START}\n${section}\n${END}`;
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const next = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n## Results\n\n${block}\n`;
  writeFileSync(path, next);
}
