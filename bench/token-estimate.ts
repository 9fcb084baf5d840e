/**
 * Token estimates under hostile input (issue 14): js-tiktoken is quadratic in a run without
 * spaces, and 40K letters in `/v1/messages/count_tokens` once held the event loop for two
 * minutes. Two measurements:
 *
 * 1. In this process: the estimator (gateway/cost/estimate-tokens.ts) on a 200K-character run
 *    without spaces next to 200K characters of English prose, and plain js-tiktoken on short
 *    runs for scale (its time grows 4× per doubling).
 * 2. Against a running gateway: `/healthz` latency, sequential, idle and then while one, then
 *    CONCURRENCY, clients keep sending count_tokens requests with such a run (and, to compare,
 *    CONCURRENCY with the prose): the run must cost the gateway about what prose of its size does.
 *
 * Part of `npm run bench` (run.ts); alone: node --import tsx bench/token-estimate.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { createTokenEstimator } from '../gateway/cost/estimate-tokens.ts';
import { loadEncoding } from '../gateway/cost/tokenizer.ts';
import { prose, runWithoutSpaces } from '../test/helpers/text-samples.ts';
import { stopAll } from './children.ts';
import { Histogram, type LatencySummary } from './histogram.ts';
import { ADMIN_KEY, startGateway, startUpstream } from './targets.ts';

const CHARS = 200_000;
const MODEL = 'claude-sonnet-4-5';
/** Clients sending count_tokens at once in the loaded phases (the gateway has 2 cores to share). */
const CONCURRENCY = 4;

export interface TokenEstimateOptions {
  /** How long count_tokens load runs while /healthz is measured. */
  durationMs: number;
  /** /healthz requests measured on the idle gateway. */
  idleProbes: number;
}

export interface TokenEstimateReport {
  chars: number;
  model: string;
  estimator: { runMs: number; proseMs: number; runTokens: number; proseTokens: number };
  /** Plain js-tiktoken, one encode call: prose of the same size, and short runs (quadratic). */
  plainTiktoken: { proseMs: number; runs: Array<{ chars: number; ms: number }> };
  healthz: { idle: LatencySummary };
  /** Clients sending count_tokens with the run (1, then CONCURRENCY), then with the prose. */
  underRun: [LoadPhase, LoadPhase];
  underProse: LoadPhase;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => x.toFixed(x < 10 ? 2 : 1);

function timeMedian(fn: () => number, rounds: number): { ms: number; value: number } {
  const times: number[] = [];
  let value = 0;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    value = fn();
    times.push(performance.now() - start);
  }
  return { ms: median(times), value };
}

function measureEstimator(): Pick<TokenEstimateReport, 'estimator' | 'plainTiktoken'> {
  const run = runWithoutSpaces(CHARS);
  const text = prose(CHARS);
  const estimate = (content: string) => () => createTokenEstimator(MODEL).prompt([{ role: 'user', content }]);
  estimate(text)(); // loads the rank file (~1 s) outside the measurement
  const r = timeMedian(estimate(run), 9);
  const p = timeMedian(estimate(text), 9);
  const enc = loadEncoding('cl100k_base');
  const plainProse = timeMedian(() => enc.encode(text, [], []).length, 3);
  const runs = [1_000, 2_000, 4_000].map((chars) => {
    const short = runWithoutSpaces(chars, 3);
    return { chars, ms: timeMedian(() => enc.encode(short, [], []).length, 1).ms };
  });
  return {
    estimator: { runMs: r.ms, proseMs: p.ms, runTokens: r.value, proseTokens: p.value },
    plainTiktoken: { proseMs: plainProse.ms, runs },
  };
}

async function probeHealthz(origin: string, dispatcher: Agent, until: () => boolean): Promise<LatencySummary> {
  const h = new Histogram();
  while (!until()) {
    const start = performance.now();
    const res = await request(`${origin}/healthz`, { dispatcher });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`/healthz answered ${res.statusCode}`);
    h.record(performance.now() - start);
  }
  return h.summary();
}

interface LoadPhase {
  clients: number;
  healthz: LatencySummary;
  countTokens: { completed: number; failed: number; latency: LatencySummary };
}

/** `clients` clients send count_tokens with `content` in a loop; /healthz is timed meanwhile. */
async function underCountTokens(origin: string, content: string, clients: number, durationMs: number, dispatcher: Agent): Promise<LoadPhase> {
  const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }] });
  const headers = { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY, 'anthropic-version': '2023-06-01' };
  const latency = new Histogram();
  let completed = 0;
  let failed = 0;
  let stop = false;
  const client = async (): Promise<void> => {
    while (!stop) {
      const start = performance.now();
      const res = await request(`${origin}/v1/messages/count_tokens`, { method: 'POST', headers, body, dispatcher });
      const json = (await res.body.json()) as { input_tokens?: unknown };
      if (res.statusCode === 200 && typeof json.input_tokens === 'number') {
        completed++;
        latency.record(performance.now() - start);
      } else failed++;
    }
  };
  const running = Array.from({ length: clients }, client);
  // Let the clients get going before /healthz is measured against them.
  await new Promise((r) => setTimeout(r, 300));
  const deadline = performance.now() + durationMs;
  const healthz = await probeHealthz(origin, dispatcher, () => performance.now() >= deadline);
  stop = true;
  await Promise.all(running);
  return { clients, healthz, countTokens: { completed, failed, latency: latency.summary() } };
}

export async function runTokenEstimate(origin: string, opts: TokenEstimateOptions, print: (line: string) => void): Promise<TokenEstimateReport> {
  print('');
  print(`token estimates (issue 14): ${CHARS.toLocaleString('en-US')} characters, ${MODEL} (cl100k_base)`);
  const local = measureEstimator();
  const { estimator: e, plainTiktoken: t } = local;
  print(`  estimator, run without spaces   ${ms(e.runMs).padStart(7)} ms  → ${e.runTokens.toLocaleString('en-US')} tokens (estimate)`);
  print(`  estimator, English prose        ${ms(e.proseMs).padStart(7)} ms  → ${e.proseTokens.toLocaleString('en-US')} tokens (estimate)`);
  print(
    `  plain js-tiktoken: prose ${ms(t.proseMs)} ms; runs without spaces ${t.runs.map((r) => `${r.chars.toLocaleString('en-US')} chars ${ms(r.ms)} ms`).join(', ')}`,
  );

  const dispatcher = new Agent({ connections: CONCURRENCY + 2 });
  try {
    let probes = 0;
    const idle = await probeHealthz(origin, dispatcher, () => probes++ >= opts.idleProbes);
    print(`  /healthz idle                          p50 ${ms(idle.p50)} ms  p99 ${ms(idle.p99)} ms  (${idle.count} requests)`);
    const line = (label: string, phase: LoadPhase): void => {
      const { healthz: h, countTokens: c } = phase;
      print(
        `  /healthz under count_tokens, ${label.padEnd(9)} ×${phase.clients}  p50 ${ms(h.p50)} ms  p99 ${ms(h.p99)} ms  max ${ms(h.max)} ms  (${h.count} requests; ` +
          `${c.completed} count_tokens, p50 ${ms(c.latency.p50)} ms, p99 ${ms(c.latency.p99)} ms${c.failed ? `, ${c.failed} FAILED` : ''})`,
      );
    };
    const run = runWithoutSpaces(CHARS, 11);
    const phases: LoadPhase[] = [];
    for (const [label, content, clients] of [
      ['run', run, 1],
      ['run', run, CONCURRENCY],
      ['prose', prose(CHARS), CONCURRENCY],
    ] as const) {
      const phase = await underCountTokens(origin, content, clients, opts.durationMs, dispatcher);
      line(label, phase);
      phases.push(phase);
    }
    return { chars: CHARS, model: MODEL, ...local, healthz: { idle }, underRun: [phases[0]!, phases[1]!], underProse: phases[2]! };
  } finally {
    await dispatcher.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-tokens-'));
  try {
    const upstream = await startUpstream();
    const gateway = await startGateway({ upstream: upstream.origin, workDir });
    const report = await runTokenEstimate(gateway.origin, { durationMs: values.quick ? 2_000 : 8_000, idleProbes: 500 }, console.log);
    if ([...report.underRun, report.underProse].some((p) => p.countTokens.failed > 0)) process.exitCode = 1;
  } finally {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }
}
