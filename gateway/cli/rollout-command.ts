import { parseArgs } from 'node:util';
import { createRollouts, type Rollouts } from '../../evals/index.ts';
import { PromptStore } from '../../prompts/index.ts';
import type { SluiceEnv } from '../config/env.ts';
import { loadConfig } from '../config/load.ts';
import type { Database } from '../db/client.ts';
import { toGatewayError } from '../errors/gateway-error.ts';
import { silentLogger } from '../logger.ts';
import { RouteWeightsStore } from '../routing/weights-store.ts';
import { dataAccess, throughServerNote } from './data-access.ts';
import type { CliIo } from './io.ts';
import { ServerRequestError, type ServerClient } from './server-client.ts';

export const ROLLOUT_USAGE = `usage: sluice rollout start route NAME --variant V [options]
       sluice rollout start prompt NAME@LABEL --version N [options]
       sluice rollout status route NAME | prompt NAME@LABEL
       sluice rollout abort route NAME | prompt NAME@LABEL
options: --steps 5,25,50,100  --step-seconds 300  --min-samples 100  --confidence 0.95
         --guard METRIC=TOLERANCE (repeat; score:<scorer>=max_drop, error_rate=max_increase,
         latency_p95_ms=max_ratio, cost_per_call_usd=max_ratio)  --notify CHANNEL (repeat)`;

interface RolloutView {
  kind: string;
  target: string;
  candidate: string;
  control: string;
  state: string;
  step: number;
  steps: number[];
  percent: number;
  weights: Record<string, number>;
  started_at: string;
  ended_at: string | null;
  incident: string | null;
  evidence: Array<{ at: string; metric: string; control: number | null; candidate: number | null; delta: number | null; p_value: number | null; decision: string }>;
}

/** Start, status and abort, through the owning server or on the database. */
interface RolloutAdmin {
  start(kind: 'route' | 'prompt', target: string, body: Record<string, unknown>): Promise<RolloutView>;
  status(kind: 'route' | 'prompt', target: string): Promise<RolloutView>;
  abort(kind: 'route' | 'prompt', target: string): Promise<RolloutView>;
}

const path = (kind: 'route' | 'prompt', target: string): string => {
  if (kind === 'route') return `/api/routes/${encodeURIComponent(target)}/rollout`;
  const [name, label] = target.split('@') as [string, string];
  return `/api/prompts/${encodeURIComponent(name)}/labels/${encodeURIComponent(label)}/rollout`;
};

function throughServer(server: ServerClient): RolloutAdmin {
  return {
    start: (kind, target, body) => server.request('PUT', path(kind, target), body),
    status: (kind, target) => server.request('GET', path(kind, target)),
    abort: (kind, target) => server.request('DELETE', path(kind, target)),
  };
}

/** On the database: weights and splits are written with their NOTIFY, so running servers follow. */
function direct(database: Database, env: SluiceEnv): RolloutAdmin {
  const config = loadConfig(env.vars);
  const rollouts: Rollouts = createRollouts({
    database,
    routes: config.routes,
    weights: new RouteWeightsStore({ database, routes: config.routes }),
    prompts: new PromptStore(database),
    channels: Object.keys(config.notifications),
    logger: silentLogger,
    clock: Date.now,
    intervalMs: config.monitoring.interval_seconds * 1000,
  });
  const split = (target: string) => target.split('@') as [string, string];
  const view = (v: Promise<unknown>) => v as Promise<RolloutView>;
  return {
    start: (kind, target, body) => view(kind === 'route' ? rollouts.startRoute(target, body, 'cli') : rollouts.startPrompt(...split(target), body, 'cli')),
    status: (kind, target) => view(rollouts.get(kind, target)),
    abort: (kind, target) => view(rollouts.abort(kind, target, 'cli')),
  };
}

const num = (v: number | null): string => (v === null ? '-' : Number(v.toPrecision(4)).toString());

function describe(v: RolloutView): string {
  const weights = Object.entries(v.weights)
    .map(([k, w]) => `${k} ${num(w)}%`)
    .join(', ');
  const lines = [
    `${v.kind} ${v.target}: ${v.candidate} vs control ${v.control} — ${v.state}, step ${v.step + 1}/${v.steps.length} (${num(v.percent)}%)`,
    `weights: ${weights}`,
    `started ${v.started_at}${v.ended_at ? `, ended ${v.ended_at}` : ''}${v.incident ? `, incident ${v.incident}` : ''}`,
  ];
  const recent = v.evidence.slice(-8);
  if (recent.length > 0) {
    const rows = [['at', 'metric', 'control', 'candidate', 'delta', 'p', 'decision'], ...recent.map((e) => [e.at.slice(11, 19), e.metric, num(e.control), num(e.candidate), num(e.delta), num(e.p_value), e.decision])];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    lines.push(...rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()));
  }
  return lines.join('\n') + '\n';
}

/** `--guard score:groundedness=0.05` → the tolerance its metric takes. */
function guardOf(spec: string): Record<string, unknown> {
  const at = spec.lastIndexOf('=');
  const metric = spec.slice(0, at);
  const value = Number(spec.slice(at + 1));
  if (at <= 0 || !Number.isFinite(value)) throw new UsageError(`--guard '${spec.slice(0, 100)}': expected METRIC=NUMBER`);
  const key = metric.startsWith('score:') ? 'max_drop' : metric === 'error_rate' ? 'max_increase' : 'max_ratio';
  return { metric, [key]: value };
}

class UsageError extends Error {}

function body(values: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const number = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number`);
    return n;
  };
  if (values.variant !== undefined) out.variant = values.variant;
  if (values.version !== undefined) out.version = number('version', values.version as string);
  if (values.steps !== undefined) out.steps = (values.steps as string).split(',').map((s) => number('steps', s.trim()));
  for (const [flag, field] of [['step-seconds', 'step_seconds'], ['min-samples', 'min_samples'], ['confidence', 'confidence']] as const) {
    const v = number(flag, values[flag] as string | undefined);
    if (v !== undefined) out[field] = v;
  }
  if (values.guard !== undefined) out.guards = (values.guard as string[]).map(guardOf);
  if (values.notify !== undefined) out.notify = values.notify;
  return out;
}

/** `sluice rollout start|status|abort route NAME | prompt NAME@LABEL`. Returns the exit code. */
export async function rolloutCommand(argv: readonly string[], env: SluiceEnv, io: CliIo): Promise<number> {
  let action: string | undefined;
  let kind: 'route' | 'prompt';
  let target: string;
  let payload: Record<string, unknown> = {};
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        variant: { type: 'string' },
        version: { type: 'string' },
        steps: { type: 'string' },
        'step-seconds': { type: 'string' },
        'min-samples': { type: 'string' },
        confidence: { type: 'string' },
        guard: { type: 'string', multiple: true },
        notify: { type: 'string', multiple: true },
      },
    });
    const [a, k, t, ...extra] = positionals;
    action = a;
    if (action !== 'start' && action !== 'status' && action !== 'abort') throw new UsageError(action === undefined ? 'name an action' : `unknown action '${action.slice(0, 100)}'`);
    if (k !== 'route' && k !== 'prompt') throw new UsageError(`say what to roll out: route NAME or prompt NAME@LABEL`);
    if (t === undefined || extra.length > 0) throw new UsageError(`give exactly one ${k === 'route' ? 'route name' : 'NAME@LABEL'}`);
    if (k === 'prompt' && !/^[^@]+@[^@]+$/.test(t)) throw new UsageError(`'${t.slice(0, 100)}' is not NAME@LABEL`);
    kind = k;
    target = t;
    if (action === 'start') {
      if (kind === 'route' && values.variant === undefined) throw new UsageError('a route rollout needs --variant');
      if (kind === 'prompt' && values.version === undefined) throw new UsageError('a prompt rollout needs --version');
      payload = body(values);
    } else if (Object.values(values).some((v) => v !== undefined)) {
      throw new UsageError(`${action} takes no options`);
    }
  } catch (err) {
    io.err(`sluice rollout: ${(err as Error).message}\n${ROLLOUT_USAGE}\n`);
    return 2;
  }
  const access = await dataAccess(env, `rollout ${action}`);
  if (access.kind === 'server') {
    io.err(throughServerNote(access.server));
    return run(throughServer(access.server));
  }
  return access.withDatabase((database) => run(direct(database, env)));

  async function run(admin: RolloutAdmin): Promise<number> {
    try {
      const v = action === 'start' ? await admin.start(kind, target, payload) : action === 'status' ? await admin.status(kind, target) : await admin.abort(kind, target);
      io.out(describe(v));
      return 0;
    } catch (err) {
      const status = err instanceof ServerRequestError ? err.status : toGatewayError(err).status;
      if (status >= 400 && status < 500) {
        io.err(`sluice rollout: ${(err as Error).message}\n`);
        return 1;
      }
      throw err;
    }
  }
}
