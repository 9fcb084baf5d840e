import { randomUUID } from 'node:crypto';
import { CallEvents } from '../calls/call-events.ts';
import { CallTracker, type TrackerDeps } from '../calls/tracker.ts';
import type { AuthenticatedKey } from '../auth/key-store.ts';
import { createPricer } from '../cost/pricing.ts';
import { createTokenEstimator, promptTokenBound } from '../cost/estimate-tokens.ts';
import { silentLogger } from '../logger.ts';
import type { Provider } from '../providers/types.ts';
import type { LimitStore } from '../governance/types.ts';
import { Governor } from './governor.ts';

export interface GovernorBenchResult {
  kind: LimitStore['kind'];
  iterations: number;
  /** Median µs per call on the request path (estimate + admit + reserve), policy key minus plain key. */
  requestPathUs: number;
  /** Median µs per whole call (request path + finish with its settle sent), policy minus plain. */
  wholeCallUs: number;
  /** This process's CPU (user + system) µs per call, policy minus plain: the gateway's own work, whatever the load. */
  cpuUs: number;
}

const PROVIDER = { name: 'up', type: 'openai-compatible' } as Provider;
const MODEL = 'gpt-4o-mini';
/** The bench's chat (bench/workload.ts). */
const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant.' },
  { role: 'user', content: 'Say hello in five words.' },
];

/**
 * The governor's whole per-call work in process (issue 16's ≤ 0.1 ms goal, without HTTP): a
 * call with a key carrying a budget, an rpm and a tpm (and a team with a budget), against a
 * call with a plain key, sequentially (one connection), on `store`. A call is a tracker, the
 * policy checks (estimate, rate limits and reservation), a priced usage and its finish (which
 * fires the settle). Nothing between calls: the next call's store trip queues behind the last
 * settle, the pessimistic case. Rounds alternate plain and policy; medians over rounds.
 */
export async function benchGovernor(store: LimitStore, opts: { iterations?: number; rounds?: number } = {}): Promise<GovernorBenchResult> {
  const iterations = opts.iterations ?? 2_000;
  const rounds = opts.rounds ?? 5;
  const events = new CallEvents();
  const pricer = createPricer({ overrides: { [`up/${MODEL}`]: { input: 1, output: 1 } } });
  const governor = new Governor({ store, pricer, logger: silentLogger, events, clock: Date.now, onStoreError: 'closed', defaultMaxTokens: 4096 });
  const deps: TrackerDeps = { events, pricer, now: () => performance.now(), clock: Date.now };
  const team = { id: randomUUID(), name: 'bench-team', policy: { budget: { usd: 1e6, period: 'month' as const }, rpm: null, tpm: null, models: null, prompts: null } };
  const policyKey: AuthenticatedKey = {
    id: randomUUID(),
    name: 'bench-policy',
    scope: 'inference',
    policy: { budget: { usd: 1e6, period: 'day' }, rpm: 1e9, tpm: 2e9, models: null, prompts: null },
    team,
  };
  const plainKey: AuthenticatedKey = { id: randomUUID(), name: 'bench-plain', scope: 'inference', policy: null, team: null };

  const one = async (key: AuthenticatedKey): Promise<[number, number]> => {
    const t0 = performance.now();
    const call = new CallTracker({ id: randomUUID(), requestId: 'r', endpoint: 'chat.completions', startedAt: new Date(), t0 }, deps);
    call.setKey(key);
    call.setTarget(PROVIDER, MODEL);
    if (governor.governs(key)) {
      const gate = governor.start(call, [{ provider: PROVIDER, model: MODEL }], { promptTokens: promptTokenBound(MESSAGES), exactPromptTokens: () => createTokenEstimator(MODEL).prompt(MESSAGES), maxOutputTokens: null, choices: 1 });
      const limited = await gate.admitted;
      const over = await gate.reserved;
      if (limited ?? over) throw limited ?? over;
    }
    const t1 = performance.now();
    call.price({ inputTokens: 20, outputTokens: 8, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, false, 'chat');
    call.finishOk({ ok: true });
    // The response is handed over here; a tick later the next request arrives.
    await new Promise((r) => setImmediate(r));
    return [t1 - t0, performance.now() - t0];
  };

  const runs = async (key: AuthenticatedKey): Promise<[number, number, number]> => {
    const path: number[] = [];
    const whole: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) {
      const [p, w] = await one(key);
      path.push(p);
      whole.push(w);
    }
    const cpu = process.cpuUsage(cpu0);
    return [median(path), median(whole), (cpu.user + cpu.system) / iterations / 1000];
  };
  // Warm-up: the JIT, the scripts loaded, the counters created.
  await runs(plainKey);
  await runs(policyKey);
  const pathDelta: number[] = [];
  const wholeDelta: number[] = [];
  const cpuDelta: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [policyKey, plainKey] : [plainKey, policyKey];
    const got = new Map<AuthenticatedKey, [number, number, number]>();
    for (const k of order) got.set(k, await runs(k));
    const [pp, pw, pc] = got.get(policyKey)!;
    const [qp, qw, qc] = got.get(plainKey)!;
    pathDelta.push(pp - qp);
    wholeDelta.push(pw - qw);
    cpuDelta.push(pc - qc);
  }
  return { kind: store.kind, iterations, requestPathUs: Math.round(median(pathDelta) * 1000), wholeCallUs: Math.round(median(wholeDelta) * 1000), cpuUs: Math.round(median(cpuDelta) * 1000) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
