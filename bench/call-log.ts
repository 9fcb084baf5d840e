/**
 * The call log at full speed (issue 20): the gateway logging every call to Postgres, the same
 * gateway with `logging.enabled: false`, and the gateway on its embedded PGlite, next to the
 * upstream called directly and the bare pass-through proxy, at 1 and 50 connections, the five
 * targets back to back in an order rotated per round. Reports throughput, p50/p99, RSS under
 * load and CPU per request, and checks the issue's goals:
 *
 *   logging on ÷ off throughput at 50 connections ≥ 0.85 (Postgres)
 *   p99 at 1 connection ≤ 1 ms over direct (Postgres), ≤ 2 ms over direct (embedded)
 *   RSS under 50-connection load ≤ 200 MB (Postgres), ≤ 300 MB (embedded)
 *   embedded throughput ≥ 0.9 × Postgres mode at 50 connections
 *
 * Postgres is DATABASE_URL's server, else 127.0.0.1:5432 when it answers; the section creates a
 * throwaway database there and drops it at the end. Without a Postgres only the embedded figures
 * are measured and the Postgres goals say why.
 *
 * Alone: node --import tsx bench/call-log.ts [--rounds 3] [--duration 4] [--warmup 1] [--heap bounded|small|default]
 * From bench/run.ts: runCallLog(client, { upstream, bare, workDir }, options, print), then
 * callLogConsole(result) and callLogMarkdown(result).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { stopAll, stopChild } from './children.ts';
import { LoadClient } from './load-client.ts';
import { PRICING_CONFIG } from './key-policies.ts';
import { readCpuMs, RssSampler } from './rss.ts';
import { ADMIN_KEY, startBareProxy, startGateway, startUpstream, type GatewayTarget, type Target } from './targets.ts';
import { jobFor, SCENARIOS, type Scenario } from './workload.ts';

export interface CallLogOptions {
  rounds: number;
  warmupMs: number;
  durationMs: number;
  /** Unrecorded load per target and scenario before round 1 (JIT, pools, PGlite's first pages). */
  primeMs: number;
  /** SLUICE_HEAP for every gateway (gateway/heap-mode.ts); unset: the gateway's default. */
  heap?: string | undefined;
}

export type CallLogTargetKey = 'direct' | 'bare' | 'logging on' | 'logging off' | 'embedded';

export interface CallLogRow {
  scenario: string;
  target: CallLogTargetKey;
  rps: number;
  p50: number;
  p99: number;
  /** Largest RSS sampled during the trials (gateways only), MB. */
  rssPeakMb: number | null;
  cpuUsPerRequest: number | null;
  /**
   * Event-loop delay during the trial (gateways only), ms: prom-client's
   * nodejs_eventloop_lag_{p99,max}_seconds, reset by the scrape before the trial. At 1
   * connection the loop is otherwise idle, so the max is the longest single stretch of work.
   */
  loopP99Ms: number | null;
  loopMaxMs: number | null;
  failures: number;
}

export interface CallLogGoal {
  goal: string;
  measured: string;
  verdict: 'met' | 'not met' | 'n/a';
}

export interface CallLogResult {
  options: CallLogOptions;
  postgres: string | null;
  note: string | null;
  rows: CallLogRow[];
  goals: CallLogGoal[];
  failures: number;
}

interface Measured {
  key: CallLogTargetKey;
  target: Target;
}

const MEASURED: readonly Scenario[] = SCENARIOS.filter((s) => s.key === 'json-1' || s.key === 'json-50');
const BENCH_DB = `sluice_bench_calllog_${process.pid}`;

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const fmt = (x: number | null, d = 3): string => (x !== null && Number.isFinite(x) ? x.toFixed(d) : 'n/a');

/** A Postgres to log to: DATABASE_URL's server or the local default, with a fresh database on it. */
async function benchDatabase(): Promise<{ url: string | null; note: string | null; drop: () => Promise<void> }> {
  const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = postgres(base, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${BENCH_DB}`);
    await admin.unsafe(`create database ${BENCH_DB}`);
  } catch (err) {
    await admin.end({ timeout: 1 }).catch(() => {});
    return { url: null, note: `no Postgres at ${redact(base)} (${err instanceof Error ? err.message : String(err)})`, drop: async () => {} };
  }
  const url = new URL(base);
  url.pathname = `/${BENCH_DB}`;
  return {
    url: url.toString(),
    note: null,
    drop: async () => {
      await admin.unsafe(`drop database if exists ${BENCH_DB} with (force)`).catch(() => {});
      await admin.end({ timeout: 1 }).catch(() => {});
    },
  };
}

const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, '//…@');

/**
 * prom-client samples the loop with a 10 ms timer (eventLoopMonitoringPrecision) and Node's
 * histogram records each full interval, so an idle loop reads 10 ms: subtracted here.
 */
const LOOP_SAMPLING_MS = 10;

/** The event-loop delay beyond the sampling interval from a gateway's /metrics (a scrape also resets them), ms. */
async function loopDelay(origin: string): Promise<{ p99: number | null; max: number | null }> {
  try {
    const res = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const text = await res.text();
    const read = (name: string): number | null => {
      const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
      return m ? Math.max(0, Number(m[1]) * 1000 - LOOP_SAMPLING_MS) : null;
    };
    return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') };
  } catch {
    return { p99: null, max: null };
  }
}

async function trial(client: LoadClient, m: Measured, s: Scenario, opts: CallLogOptions, record: boolean): Promise<CallLogRow | null> {
  const pid = m.key === 'direct' || m.key === 'bare' ? null : m.target.child.pid!;
  const sampler = pid === null ? null : new RssSampler(pid);
  const cpuBefore = pid === null ? null : readCpuMs(pid);
  if (pid !== null) await loopDelay(m.target.origin);
  sampler?.start();
  const r = await client.run(jobFor(m.target.origin, s, record ? { warmupMs: opts.warmupMs, durationMs: opts.durationMs } : { warmupMs: 0, durationMs: opts.primeMs }));
  const rssPeakMb = sampler?.stop() ?? null;
  if (!record) return null;
  const cpuAfter = pid === null ? null : readCpuMs(pid);
  const loop = pid === null ? { p99: null, max: null } : await loopDelay(m.target.origin);
  const total = r.requests * ((opts.warmupMs + opts.durationMs) / opts.durationMs);
  return {
    scenario: s.key,
    target: m.key,
    rps: r.rps,
    p50: r.latency.p50 ?? Number.NaN,
    p99: r.latency.p99 ?? Number.NaN,
    rssPeakMb,
    cpuUsPerRequest: cpuBefore !== null && cpuAfter !== null && total > 0 ? ((cpuAfter - cpuBefore) * 1000) / total : null,
    loopP99Ms: loop.p99,
    loopMaxMs: loop.max,
    failures: r.errors + r.non2xx,
  };
}

export async function runCallLog(
  client: LoadClient,
  base: { upstream: Target; bare: Target | undefined; workDir: string },
  opts: CallLogOptions,
  print: (line: string) => void,
): Promise<CallLogResult> {
  print('');
  print('== the call log at full speed (issue 20): logging on / off on Postgres, embedded PGlite, direct, bare proxy');
  const pg = await benchDatabase();
  if (pg.note) print(`note: ${pg.note}; the Postgres goals are not measured`);
  const started: GatewayTarget[] = [];
  const start = async (key: CallLogTargetKey, extra: string[], databaseUrl: string | null): Promise<Measured> => {
    const dir = join(base.workDir, `call-log-${key.replace(/\s/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    const g = await startGateway({
      upstream: base.upstream.origin,
      workDir: dir,
      configExtra: [...PRICING_CONFIG, ...extra],
      databaseUrl,
      name: `gateway (${key})`,
      ...(opts.heap ? { env: { SLUICE_HEAP: opts.heap } } : {}),
    });
    started.push(g);
    return { key, target: g };
  };
  try {
    const targets: Measured[] = [{ key: 'direct', target: base.upstream }];
    if (base.bare) targets.push({ key: 'bare', target: base.bare });
    // One after another: PGlite's first start is heavy, and nothing is measured yet.
    if (pg.url) {
      targets.push(await start('logging on', [], pg.url));
      targets.push(await start('logging off', ['logging: { enabled: false }'], pg.url));
    }
    targets.push(await start('embedded', [], null));
    print(`targets: ${targets.map((t) => `${t.key} ${t.target.origin}`).join(' · ')}`);

    for (const s of MEASURED) for (const t of targets) await trial(client, t, s, opts, false);
    const rows: CallLogRow[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      for (const s of MEASURED) {
        const shift = (round - 1) % targets.length;
        const order = [...targets.slice(shift), ...targets.slice(0, shift)];
        for (const t of order) {
          const row = (await trial(client, t, s, opts, true))!;
          rows.push(row);
          print(
            `round ${round}  ${s.label.padEnd(20)} ${t.key.padEnd(12)} ${Math.round(row.rps).toLocaleString('en-US').padStart(7)} req/s  ` +
              `p50 ${fmt(row.p50)}  p99 ${fmt(row.p99)} ms${row.rssPeakMb === null ? '' : `  RSS ${fmt(row.rssPeakMb, 0)} MB`}${row.failures ? `  FAILURES ${row.failures}` : ''}`,
          );
        }
      }
    }
    const summary = summariseRows(rows);
    return { options: opts, postgres: pg.url ? redact(pg.url) : null, note: pg.note, rows: summary, goals: goalsOf(summary, pg.note), failures: rows.reduce((n, r) => n + r.failures, 0) };
  } finally {
    for (const g of started) await stopChild(g.child, 15_000);
    await pg.drop();
  }
}

/** Medians over rounds per scenario and target; the RSS is the largest seen in any round. */
function summariseRows(rows: CallLogRow[]): CallLogRow[] {
  const out: CallLogRow[] = [];
  for (const s of MEASURED) {
    for (const key of ['direct', 'bare', 'logging on', 'logging off', 'embedded'] as const) {
      const of = rows.filter((r) => r.scenario === s.key && r.target === key);
      if (of.length === 0) continue;
      const rss = of.map((r) => r.rssPeakMb).filter((x): x is number => x !== null);
      const cpu = of.map((r) => r.cpuUsPerRequest).filter((x): x is number => x !== null);
      const loopP99 = of.map((r) => r.loopP99Ms).filter((x): x is number => x !== null);
      const loopMax = of.map((r) => r.loopMaxMs).filter((x): x is number => x !== null);
      out.push({
        scenario: s.key,
        target: key,
        rps: median(of.map((r) => r.rps)),
        p50: median(of.map((r) => r.p50)),
        p99: median(of.map((r) => r.p99)),
        rssPeakMb: rss.length ? Math.max(...rss) : null,
        cpuUsPerRequest: cpu.length ? median(cpu) : null,
        loopP99Ms: loopP99.length ? median(loopP99) : null,
        loopMaxMs: loopMax.length ? median(loopMax) : null,
        failures: of.reduce((n, r) => n + r.failures, 0),
      });
    }
  }
  return out;
}

function goalsOf(rows: CallLogRow[], pgNote: string | null): CallLogGoal[] {
  const at = (scenario: string, target: CallLogTargetKey) => rows.find((r) => r.scenario === scenario && r.target === target);
  const direct1 = at('json-1', 'direct');
  const on1 = at('json-1', 'logging on');
  const on50 = at('json-50', 'logging on');
  const off50 = at('json-50', 'logging off');
  const emb1 = at('json-1', 'embedded');
  const emb50 = at('json-50', 'embedded');
  const rssOn = Math.max(on1?.rssPeakMb ?? 0, on50?.rssPeakMb ?? 0) || null;
  const rssEmb = Math.max(emb1?.rssPeakMb ?? 0, emb50?.rssPeakMb ?? 0) || null;
  const check = (goal: string, value: number | null | undefined, ok: (v: number) => boolean, show: (v: number) => string): CallLogGoal =>
    value === null || value === undefined || !Number.isFinite(value)
      ? { goal, measured: pgNote && goal.includes('Postgres') ? `not measured: ${pgNote}` : 'n/a', verdict: 'n/a' }
      : { goal, measured: show(value), verdict: ok(value) ? 'met' : 'not met' };
  return [
    check('logging on ÷ off throughput, 50 conns, Postgres ≥ 0.85', on50 && off50 ? on50.rps / off50.rps : null, (v) => v >= 0.85, (v) => `${v.toFixed(2)}× (${Math.round(on50!.rps)} vs ${Math.round(off50!.rps)} req/s)`),
    check('p99 over direct, 1 conn, Postgres ≤ 1 ms', on1 && direct1 ? on1.p99 - direct1.p99 : null, (v) => v <= 1, (v) => `+${v.toFixed(3)} ms (${fmt(on1!.p99)} vs ${fmt(direct1!.p99)})`),
    check('RSS under 50-conn load, Postgres ≤ 200 MB', rssOn, (v) => v <= 200, (v) => `${v.toFixed(0)} MB`),
    check('embedded ÷ Postgres throughput, 50 conns ≥ 0.9', emb50 && on50 ? emb50.rps / on50.rps : null, (v) => v >= 0.9, (v) => `${v.toFixed(2)}× (${Math.round(emb50!.rps)} vs ${Math.round(on50!.rps)} req/s)`),
    check('embedded p99 over direct, 1 conn ≤ 2 ms', emb1 && direct1 ? emb1.p99 - direct1.p99 : null, (v) => v <= 2, (v) => `+${v.toFixed(3)} ms (${fmt(emb1!.p99)} vs ${fmt(direct1!.p99)})`),
    check('embedded RSS under load ≤ 300 MB', rssEmb, (v) => v <= 300, (v) => `${v.toFixed(0)} MB`),
    check(
      'flat tails: longest event-loop stall at 1 conn (median over rounds of the max), Postgres ≤ 1 ms',
      on1?.loopMaxMs,
      (v) => v <= 1,
      (v) => `${v.toFixed(2)} ms (p99 ${fmt(on1!.loopP99Ms, 2)} ms; beyond prom-client's 10 ms sampling interval)`,
    ),
    check('flat tails: the same, embedded ≤ 1 ms', emb1?.loopMaxMs, (v) => v <= 1, (v) => `${v.toFixed(2)} ms (p99 ${fmt(emb1!.loopP99Ms, 2)} ms)`),
  ];
}

function table(r: CallLogResult): string[] {
  const lines = ['| scenario | target | req/s | p50 ms | p99 ms | RSS peak MB | CPU µs/req | loop delay p99 / max ms |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const row of r.rows) {
    lines.push(
      `| ${SCENARIOS.find((s) => s.key === row.scenario)!.label} | ${row.target} | ${Math.round(row.rps).toLocaleString('en-US')} | ${fmt(row.p50)} | ${fmt(row.p99)} | ${fmt(row.rssPeakMb, 0)} | ${fmt(row.cpuUsPerRequest, 0)} | ${row.loopP99Ms === null ? 'n/a' : `${fmt(row.loopP99Ms, 2)} / ${fmt(row.loopMaxMs, 2)}`} |`,
    );
  }
  return lines;
}

export function callLogConsole(r: CallLogResult): string {
  const lines = ['', `call log at full speed (issue 20), medians of ${r.options.rounds} rounds; Postgres ${r.postgres ?? `not measured (${r.note})`}`, ...table(r), ''];
  for (const g of r.goals) lines.push(`  ${g.verdict.padEnd(7)} ${g.goal}: ${g.measured}`);
  return lines.join('\n');
}

export function callLogMarkdown(r: CallLogResult): string {
  return [
    '### The call log at full speed (issue 20)',
    '',
    `Medians of ${r.options.rounds} rounds of ${r.options.durationMs / 1000} s per trial; every gateway logs every call except "logging off". RSS is the largest sample (every 200 ms) during that target's trials.`,
    '',
    ...table(r),
    '',
    '| goal | measured | verdict |',
    '|---|---|---|',
    ...r.goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.verdict} |`),
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '4' }, warmup: { type: 'string', default: '1' }, heap: { type: 'string' } },
  });
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-calllog-'));
  try {
    const upstream = await startUpstream();
    const bare = await startBareProxy(upstream.origin);
    const client = await LoadClient.start();
    const result = await runCallLog(
      client,
      { upstream, bare, workDir },
      { rounds: Number(values.rounds), warmupMs: Number(values.warmup) * 1000, durationMs: Number(values.duration) * 1000, primeMs: 1_000, heap: values.heap },
      (line) => console.log(line),
    );
    console.log(callLogConsole(result));
    await client.close();
    return result.failures > 0 ? 1 : 0;
  } finally {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
