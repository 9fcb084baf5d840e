/**
 * What a key's policies cost per call (issue 16): the same non-streaming chat sent with a key
 * without any policy and with a key carrying a budget, an rpm and a tpm limit, at 1 (and in the
 * default run 10) connections. A key with limits takes its rate limits and reserves its worst
 * case in the shared limit store before the upstream call and settles after — with the default
 * `governance.leases`, a slice of its (large) limits at a time, serving calls from it in memory
 * (the run prints how many calls were leased); a key without never touches the store. Measured on the bench gateway's own store (Postgres
 * with DATABASE_URL, else the embedded PGlite) and, when Redis answers a PING, on a second
 * gateway started with REDIS_URL. The added latency is the median over rounds of (policy key −
 * plain key) on the same gateway, the two measured back to back in alternating order.
 */
import { Redis } from 'ioredis';
import { Pool, request } from 'undici';
import type { LoadClient } from './load-client.ts';
import type { LoadResult } from './protocol.ts';
import { readCpuMs } from './rss.ts';
import { ADMIN_KEY, type GatewayTarget } from './targets.ts';
import { medianInterval } from './summary.ts';
import { jobFor, MODEL, requestFor, SCENARIOS, type Scenario } from './workload.ts';

/** Config lines every bench gateway gets, so a call costs something and a budget reserves. */
export const PRICING_CONFIG = [`pricing: { overrides: { '${MODEL}': { input: 1, output: 1 } } }`];

/** Far above anything the bench spends or sends: nothing is ever refused. */
const POLICY = { budget: { usd: 1e6, period: 'day' }, rate_limits: { rpm: 1e9, tpm: 2e9 } } as const;

export const REDIS_GOAL_MS = 0.1;

/** The gateway's default Redis key prefix for limits (governance/redis-limits.ts). */
const REDIS_PREFIX = 'sluice:limits:';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Whether a Redis answers PING at `url` within a second, and its server's pid when it runs on
 * this machine (its CPU per request is then read from /proc like the gateway's).
 */
export async function redisAnswers(url: string): Promise<{ ok: boolean; detail: string; pid: number | null }> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const pong = await Promise.race([redis.ping(), new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no answer in 1 s')), 1_000))]);
    if (pong !== 'PONG') return { ok: false, detail: `answered ${pong}`, pid: null };
    const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
    const local = ['127.0.0.1', 'localhost', '::1'].includes(redis.options.host ?? '') && Number.isInteger(pid) && readCpuMs(pid) !== null;
    return { ok: true, detail: 'PONG', pid: local ? pid : null };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err), pid: null };
  } finally {
    redis.disconnect();
  }
}

/**
 * Deletes what the run left in Redis under the key's subject (its budget's hash lives until the
 * period ends, a day); reservation records expire on their own.
 */
async function forgetInRedis(url: string, keyId: string): Promise<number> {
  const redis = new Redis(url, { connectTimeout: 1_000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*key:${keyId}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length) deleted += await redis.del(...found);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export interface StoreGateway {
  /** 'pglite' | 'postgres' | 'redis' — where this gateway keeps budgets and rate limits. */
  store: string;
  gateway: GatewayTarget;
  /** For a Redis store: its URL, so the run's keys can be removed afterwards. */
  redisUrl?: string | undefined;
  /** The store's server process on this machine (Redis), for its CPU per request. */
  serverPid?: number | null | undefined;
}

export interface KeyPolicyOptions {
  rounds: number;
  warmupMs: number;
  /** Measured period per trial, per connection count. */
  durationMs: Record<number, number>;
  connections: number[];
  /** Unrecorded load per key and connection count before round 1. */
  primeMs: number;
  /**
   * Extra unrecorded load per key on a gateway that served no request before this section (the
   * Redis one), so its JIT is about as warm as the bench gateway's after the suite.
   */
  coldPrimeMs: number;
  /**
   * Rounds of the interleaved estimate at 1 connection (one request at a time, the three keys in
   * turn on one connection), each `interleavedMs` per key; 0 rounds: none.
   */
  interleavedRounds?: number | undefined;
  interleavedMs?: number | undefined;
}

/** policy − plain and control − plain p50 per round of interleaved requests, as median [95% interval] over rounds. */
export interface InterleavedEstimate {
  store: string;
  rounds: number;
  requests: number;
  added: { value: number; lo: number; hi: number };
  noise: { value: number; lo: number; hi: number };
}

/** `control` is a second plain key: control − plain, paired like policy − plain, is the noise floor. */
type KeyKind = 'plain' | 'control' | 'policy';
const KINDS: readonly KeyKind[] = ['plain', 'control', 'policy'];

interface CreatedKey {
  id: string;
  key: string;
}

export interface KeyPolicyTrial {
  round: number;
  connections: number;
  store: string;
  key: KeyKind;
  cpuUsPerRequest: number | null;
  /** CPU of the store's server process (Redis) per request, µs; null when not on this machine. */
  storeCpuUsPerRequest: number | null;
  result: LoadResult;
}

export interface KeyPolicyRow {
  connections: number;
  store: string;
  key: KeyKind;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number | null;
  storeCpuUsPerRequest: number | null;
  failures: number;
}

export interface KeyPolicyDelta {
  connections: number;
  store: string;
  /** Median over rounds of policy p50 − plain p50, ms. */
  addedP50Ms: number;
  /** The same for the control key (control − plain): what a difference of nothing measures. */
  noiseP50Ms: number;
  addedP99Ms: number;
  /** Median over rounds of policy CPU µs/req − plain, the gateway process only. */
  addedCpuUs: number | null;
  /** Throughput with the policy ÷ without, median over rounds. */
  rpsRatio: number;
}

export interface KeyPolicySettled {
  store: string;
  reservedUsd: number | null;
  spentUsd: number | null;
  reservationsOpen: number | null;
  storeErrors: number | null;
  refused: number | null;
  /** Calls served from a lease and calls that asked the store themselves (governance/leases.ts), and leases taken. */
  leases: { taken: number; leased: number; direct: number } | null;
  ok: boolean;
}

export interface KeyPolicyResult {
  options: KeyPolicyOptions;
  /** Wall time of the whole section, s. */
  durationS: number;
  stores: string[];
  /** Why Redis was not measured, when it was not. */
  redisNote: string | null;
  rows: KeyPolicyRow[];
  deltas: KeyPolicyDelta[];
  settled: KeyPolicySettled[];
  interleaved: InterleavedEstimate[];
  goal: { goal: string; measured: string; verdict: 'met' | 'not met' | 'not shown' | 'n/a' };
  failures: number;
  trials: KeyPolicyTrial[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const signed = (x: number, digits = 3): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(digits)}` : 'n/a');
const KEY_LABEL: Record<KeyKind, string> = { plain: 'no policy', control: 'no policy (control)', policy: 'budget + rpm + tpm' };

async function adminJson(gateway: GatewayTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await request(`${gateway.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path} answered HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function createKey(gateway: GatewayTarget, kind: KeyKind): Promise<CreatedKey> {
  const body = kind === 'policy' ? { name: 'bench-policy', ...POLICY } : { name: `bench-${kind}` };
  const k = await adminJson(gateway, 'POST', '/api/keys', body);
  if (typeof k.id !== 'string' || typeof k.key !== 'string') throw new Error(`POST /api/keys did not return id and key: ${JSON.stringify(k).slice(0, 300)}`);
  return { id: k.id, key: k.key };
}

async function governance(gateway: GatewayTarget): Promise<Record<string, number> | null> {
  try {
    const res = await request(`${gateway.origin}/healthz`);
    const body = (await res.body.json()) as { governance?: Record<string, number> };
    return body.governance ?? null;
  } catch {
    return null;
  }
}

/** Settles run on the call-finished event, off the response path: wait (≤ 5 s) until none is open. */
async function settledState(sg: StoreGateway, key: CreatedKey): Promise<KeyPolicySettled> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const gov = await governance(sg.gateway);
    const view = await adminJson(sg.gateway, 'GET', `/api/keys/${key.id}`);
    const spend = (view.spend as { key?: { reserved_usd?: number; spent_usd?: number } | null } | undefined)?.key;
    const reservedUsd = typeof spend?.reserved_usd === 'number' ? spend.reserved_usd : null;
    const spentUsd = typeof spend?.spent_usd === 'number' ? spend.spent_usd : null;
    const reservationsOpen = gov?.reservations_open ?? null;
    const storeErrors = gov?.store_errors ?? null;
    const refused = gov ? (gov.refused_budget ?? 0) + (gov.refused_rate ?? 0) : null;
    const ok = reservedUsd === 0 && (spentUsd ?? 0) > 0 && reservationsOpen === 0 && storeErrors === 0 && refused === 0;
    const leases = gov && typeof gov.leases_taken === 'number' ? { taken: gov.leases_taken, leased: gov.calls_leased ?? 0, direct: gov.calls_direct ?? 0 } : null;
    if (ok || Date.now() > deadline) return { store: sg.store, reservedUsd, spentUsd, reservationsOpen, storeErrors, refused, leases, ok };
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runKeyPolicies(
  load: LoadClient,
  gateways: readonly StoreGateway[],
  redisNote: string | null,
  opts: KeyPolicyOptions,
  print: (line: string) => void,
): Promise<KeyPolicyResult> {
  const started = Date.now();
  const base = SCENARIOS.find((s) => s.key === 'json-1')!;
  const keys = await Promise.all(
    gateways.map(async (g) => ({ plain: await createKey(g.gateway, 'plain'), control: await createKey(g.gateway, 'control'), policy: await createKey(g.gateway, 'policy') })),
  );
  const jobOf = (g: number, kind: KeyKind, connections: number, timing: { warmupMs: number; durationMs: number }) => {
    const s: Scenario = { ...base, connections };
    const job = jobFor(gateways[g]!.gateway.origin, s, timing);
    return { ...job, headers: { ...job.headers, authorization: `Bearer ${keys[g]![kind].key}` } };
  };

  print('');
  print(
    `key policies (issue 16): non-stream chat, a key without a policy vs one with budget ($${POLICY.budget.usd.toExponential(0)}/${POLICY.budget.period}) + rpm + tpm; ` +
      `stores: ${gateways.map((g) => g.store).join(', ')}${redisNote ? ` (redis: ${redisNote})` : ''}`,
  );
  let failures = 0;
  const bad = (r: LoadResult): number => r.errors + r.non2xx + r.badBodies;
  for (const connections of opts.connections) {
    for (let g = 0; g < gateways.length; g++) {
      for (const kind of KINDS) {
        const cold = g > 0 && connections === opts.connections[0] ? opts.coldPrimeMs : 0;
        const r = await load.run(jobOf(g, kind, connections, { warmupMs: 0, durationMs: opts.primeMs + cold }));
        failures += bad(r);
      }
    }
  }

  const trials: KeyPolicyTrial[] = [];
  for (const connections of opts.connections) {
    const timing = { warmupMs: opts.warmupMs, durationMs: opts.durationMs[connections] ?? 1_000 };
    for (let round = 1; round <= opts.rounds; round++) {
      // Rotate which key goes first, so a drift within the round does not always favour one.
      const order = KINDS.map((_, i) => KINDS[(i + round) % KINDS.length]!);
      for (let g = 0; g < gateways.length; g++) {
        const sg = gateways[g]!;
        for (const kind of order) {
          const serverPid = sg.serverPid ?? null;
          const cpuBefore = readCpuMs(sg.gateway.child.pid);
          const storeBefore = serverPid === null ? null : readCpuMs(serverPid);
          const result = await load.run(jobOf(g, kind, connections, timing));
          const cpuAfter = readCpuMs(sg.gateway.child.pid);
          const storeAfter = serverPid === null ? null : readCpuMs(serverPid);
          const n = Object.values(result.statusCounts).reduce((a, b) => a + b, 0);
          const perRequest = (a: number | null, b: number | null): number | null => (a !== null && b !== null && n > 0 ? Math.round(((b - a) * 1000) / n) : null);
          const cpuUsPerRequest = perRequest(cpuBefore, cpuAfter);
          const storeCpuUsPerRequest = perRequest(storeBefore, storeAfter);
          failures += bad(result);
          trials.push({ round, connections, store: sg.store, key: kind, cpuUsPerRequest, storeCpuUsPerRequest, result });
          const flag = bad(result) > 0 ? `  !! errors ${result.errors} non-2xx ${result.non2xx} (${result.firstError ?? ''})` : '';
          print(
            `  round ${round}  ${String(connections).padStart(2)} conn  ${sg.store.padEnd(8)} ${KEY_LABEL[kind].padEnd(18)} ${Math.round(result.rps).toLocaleString('en-US').padStart(6)} req/s` +
              `  p50 ${ms(result.latency.p50)}  p99 ${ms(result.latency.p99)}${cpuUsPerRequest === null ? '' : `  cpu ${cpuUsPerRequest} µs/req`}` +
              `${storeCpuUsPerRequest === null ? '' : `  ${sg.store} cpu ${storeCpuUsPerRequest} µs/req`}${flag}`,
          );
        }
      }
    }
  }

  const rows: KeyPolicyRow[] = [];
  const deltas: KeyPolicyDelta[] = [];
  for (const connections of opts.connections) {
    for (const sg of gateways) {
      const of = (kind: KeyKind) => trials.filter((t) => t.connections === connections && t.store === sg.store && t.key === kind);
      for (const kind of KINDS) {
        const ts = of(kind);
        const cpus = ts.map((t) => t.cpuUsPerRequest).filter((x): x is number => x !== null);
        const storeCpus = ts.map((t) => t.storeCpuUsPerRequest).filter((x): x is number => x !== null);
        rows.push({
          connections,
          store: sg.store,
          key: kind,
          rps: Math.round(median(ts.map((t) => t.result.rps))),
          p50: r3(median(ts.map((t) => t.result.latency.p50))),
          p99: r3(median(ts.map((t) => t.result.latency.p99))),
          cpuUsPerRequest: cpus.length ? Math.round(median(cpus)) : null,
          storeCpuUsPerRequest: storeCpus.length ? Math.round(median(storeCpus)) : null,
          failures: ts.reduce((a, t) => a + bad(t.result), 0),
        });
      }
      const plain = of('plain');
      const policy = of('policy');
      const pairs = plain.map((p) => [p, policy.find((q) => q.round === p.round)!] as const);
      const controls = plain.map((p) => [p, of('control').find((q) => q.round === p.round)!] as const);
      const cpuPairs = pairs.filter(([p, q]) => p.cpuUsPerRequest !== null && q.cpuUsPerRequest !== null);
      deltas.push({
        connections,
        store: sg.store,
        addedP50Ms: r3(median(pairs.map(([p, q]) => q.result.latency.p50 - p.result.latency.p50))),
        noiseP50Ms: r3(median(controls.map(([p, q]) => q.result.latency.p50 - p.result.latency.p50))),
        addedP99Ms: r3(median(pairs.map(([p, q]) => q.result.latency.p99 - p.result.latency.p99))),
        addedCpuUs: cpuPairs.length ? Math.round(median(cpuPairs.map(([p, q]) => q.cpuUsPerRequest! - p.cpuUsPerRequest!))) : null,
        rpsRatio: Math.round(median(pairs.map(([p, q]) => q.result.rps / p.result.rps)) * 1000) / 1000,
      });
    }
  }

  const interleaved: InterleavedEstimate[] = [];
  if ((opts.interleavedRounds ?? 0) > 0) {
    for (let g = 0; g < gateways.length; g++) {
      const est = await interleavedAt1(gateways[g]!, keys[g]!, opts.interleavedRounds!, opts.interleavedMs ?? 300);
      interleaved.push(est);
      print(`  interleaved, 1 conn, ${est.store}: policy − plain p50 ${interval(est.added)} ms, control − plain ${interval(est.noise)} ms (${est.rounds} rounds, ${est.requests.toLocaleString('en-US')} requests)`);
    }
  }

  const settled = await Promise.all(gateways.map((g, i) => settledState(g, keys[i]!.policy)));
  for (let i = 0; i < gateways.length; i++) {
    const url = gateways[i]!.redisUrl;
    if (url) await forgetInRedis(url, keys[i]!.policy.id).catch((err: unknown) => print(`  note: could not remove the run's Redis keys: ${String(err)}`));
  }
  const redis1 = deltas.find((d) => d.store === 'redis' && d.connections === 1);
  const redisInterleaved = interleaved.find((e) => e.store === 'redis');
  // With the interleaved estimate, its interval decides: met only if its upper end is within the goal.
  const goal = {
    goal: `Redis: budget + rate limit add ≤ ${REDIS_GOAL_MS} ms p50 at 1 conn`,
    measured: redisInterleaved
      ? `${interval(redisInterleaved.added)} ms interleaved (noise floor, control − plain: ${interval(redisInterleaved.noise)} ms); back-to-back trials ${redis1 ? `${signed(redis1.addedP50Ms)} ms (noise ${signed(redis1.noiseP50Ms)})` : 'n/a'}`
      : redis1
        ? `${signed(redis1.addedP50Ms)} ms (noise floor, control − plain: ${signed(redis1.noiseP50Ms)} ms)`
        : `n/a${redisNote ? ` (${redisNote})` : ''}`,
    verdict: (redisInterleaved
      ? redisInterleaved.added.hi <= REDIS_GOAL_MS
        ? 'met'
        : redisInterleaved.added.lo > REDIS_GOAL_MS
          ? 'not met'
          : 'not shown'
      : redis1
        ? redis1.addedP50Ms <= REDIS_GOAL_MS
          ? 'met'
          : 'not met'
        : 'n/a') as 'met' | 'not met' | 'not shown' | 'n/a',
  };
  return { options: opts, durationS: Math.round((Date.now() - started) / 1000), stores: gateways.map((g) => g.store), redisNote, rows, deltas, interleaved, settled, goal, failures, trials };
}

const HEAD = ['conns', 'store', 'key', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'store CPU µs/req', 'failures'];

function tableRows(r: KeyPolicyResult): string[][] {
  return r.rows.map((row) => [
    String(row.connections),
    row.store,
    KEY_LABEL[row.key],
    row.rps.toLocaleString('en-US'),
    ms(row.p50),
    ms(row.p99),
    row.cpuUsPerRequest === null ? 'n/a' : String(row.cpuUsPerRequest),
    row.storeCpuUsPerRequest === null ? '' : String(row.storeCpuUsPerRequest),
    String(row.failures),
  ]);
}

function deltaText(d: KeyPolicyDelta): string {
  return (
    `${d.store} at ${d.connections} conn${d.connections === 1 ? '' : 's'}: p50 ${signed(d.addedP50Ms)} ms (noise ${signed(d.noiseP50Ms)}), p99 ${signed(d.addedP99Ms)} ms` +
    `${d.addedCpuUs === null ? '' : `, CPU ${signed(d.addedCpuUs, 0)} µs/req`}, throughput ×${d.rpsRatio}`
  );
}

function settledText(s: KeyPolicySettled): string {
  return (
    `${s.store}: reserved $${s.reservedUsd ?? 'n/a'}, spent $${s.spentUsd ?? 'n/a'}, ${s.reservationsOpen ?? 'n/a'} reservations open, ` +
    `${s.storeErrors ?? 'n/a'} store errors, ${s.refused ?? 'n/a'} refused` +
    `${s.leases ? `, ${s.leases.leased.toLocaleString('en-US')} calls served from ${s.leases.taken.toLocaleString('en-US')} leases, ${s.leases.direct.toLocaleString('en-US')} asked the store` : ''}` +
    `${s.ok ? '' : ' — NOT SETTLED CLEANLY'}`
  );
}

export function keyPoliciesConsole(r: KeyPolicyResult): string {
  const body = tableRows(r);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const o = r.options;
  const lines = [
    '',
    `key policies: medians of ${o.rounds} rounds × ${o.connections.map((c) => `${(o.durationMs[c] ?? 0) / 1000} s at ${c} conn`).join(', ')} (+${o.warmupMs / 1000} s warm-up), non-stream chat`,
    fmt(HEAD),
    ...body.map(fmt),
    `added by the policies (median of per-round pairs, same gateway): ${r.deltas.map(deltaText).join('; ')}`,
    ...r.interleaved.map((e) => `interleaved at 1 conn, ${e.store}: policy − plain p50 ${interval(e.added)} ms, control − plain ${interval(e.noise)} ms (${e.rounds} rounds)`),
    `  [${r.goal.verdict === 'met' ? ' met ' : r.goal.verdict === 'n/a' ? ' n/a ' : r.goal.verdict === 'not shown' ? 'NOT SHOWN' : 'NOT MET'}] ${r.goal.goal}: ${r.goal.measured}`,
    ...(r.redisNote ? [`  redis not measured: ${r.redisNote}`] : []),
    `budgets after the run: ${r.settled.map(settledText).join('; ')}`,
    `(key-policy section: ${r.durationS} s)`,
  ];
  if (r.failures > 0) lines.push(`!! ${r.failures} failed requests in the key-policy trials`);
  return lines.join('\n');
}

export function keyPoliciesMarkdown(r: KeyPolicyResult): string {
  const o = r.options;
  return [
    `**Key policies (issue 16)** — ${o.rounds} rounds × ${o.connections.map((c) => `${(o.durationMs[c] ?? 0) / 1000} s at ${c} conn`).join(', ')} (+${o.warmupMs / 1000} s warm-up), ` +
      `non-stream chat, a key without a policy vs a key with a budget and rpm + tpm limits (nothing refused); each store on its own gateway process${r.redisNote ? `; Redis not measured: ${r.redisNote}` : ''}:`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|--:|---|---|${HEAD.slice(3).map(() => '--:').join('|')}|`,
    ...tableRows(r).map((row) => `| ${row.join(' | ')} |`),
    '',
    `Added by the policies (median of per-round pairs on the same gateway): ${r.deltas.map(deltaText).join('; ')}. ` +
      (r.interleaved.length
        ? `Interleaved at 1 connection (one request at a time, the three keys in turn on one connection, median over rounds of the per-round p50 difference, 95% order-statistic interval): ${r.interleaved.map((e) => `${e.store}: policy − plain ${interval(e.added)} ms, control − plain ${interval(e.noise)} ms (${e.rounds} rounds, ${e.requests.toLocaleString('en-US')} requests)`).join('; ')}. `
        : '') +
      `Goal "${r.goal.goal}": ${r.goal.measured}, **${r.goal.verdict}**. ` +
      `Budgets after the run: ${r.settled.map(settledText).join('; ')}.`,
  ].join('\n');
}

const interval = (e: { value: number; lo: number; hi: number }): string => `${signed(e.value)} [${signed(e.lo)}, ${signed(e.hi)}]`;

/**
 * The added p50 at 1 connection with the machine's drift taken out: one request at a time on one
 * connection, the three keys in turn (the order rotated every cycle), so whatever else the
 * machine does lands on all three alike. Each round gives a p50 per key; the estimate is the
 * median over rounds of (policy − plain), with its order-statistic 95% interval, next to
 * (control − plain), which has nothing to find.
 */
async function interleavedAt1(sg: StoreGateway, keys: Record<KeyKind, CreatedKey>, rounds: number, perKeyMs: number): Promise<InterleavedEstimate> {
  const base = SCENARIOS.find((s) => s.key === 'json-1')!;
  const { headers, body } = requestFor(base);
  const pool = new Pool(sg.gateway.origin, { connections: 1 });
  const one = async (kind: KeyKind): Promise<number | null> => {
    const t0 = performance.now();
    try {
      const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { ...headers, authorization: `Bearer ${keys[kind].key}` }, body });
      await res.body.text();
      return res.statusCode === 200 ? performance.now() - t0 : null;
    } catch {
      return null;
    }
  };
  const added: number[] = [];
  const noise: number[] = [];
  let requests = 0;
  try {
    const warmEnd = performance.now() + 300;
    for (let i = 0; performance.now() < warmEnd; i++) await one(KINDS[i % KINDS.length]!);
    for (let round = 0; round < rounds; round++) {
      const got: Record<KeyKind, number[]> = { plain: [], control: [], policy: [] };
      const end = performance.now() + perKeyMs * KINDS.length;
      for (let cycle = 0; performance.now() < end; cycle++) {
        for (let j = 0; j < KINDS.length; j++) {
          const kind = KINDS[(j + cycle) % KINDS.length]!;
          const ms = await one(kind);
          if (ms !== null) got[kind].push(ms);
          requests++;
        }
      }
      added.push(median(got.policy) - median(got.plain));
      noise.push(median(got.control) - median(got.plain));
    }
  } finally {
    await pool.close();
  }
  const summary = (xs: number[]) => {
    const ci = medianInterval(xs);
    return { value: r3(median(xs)), lo: r3(ci?.lo ?? Number.NaN), hi: r3(ci?.hi ?? Number.NaN) };
  };
  return { store: sg.store, rounds, requests, added: summary(added), noise: summary(noise) };
}
