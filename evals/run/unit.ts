import { contextOf, questionOf, type EvalItem } from '../datasets/item.ts';
import type { GatewayClient } from '../gateway-client.ts';
import type { ResolvedScorer, Target } from '../job.ts';
import type { JudgeReply, JudgeRequest, ScoreResult, ScorerContext } from '../scorers/types.ts';
import { withRetry, type RetryOptions } from './retry.ts';

/** One item under one target (or, for a score-only item, under the pseudo-target `dataset`). */
export interface Unit {
  item: EvalItem;
  position: number;
  target: Target | null;
}

export const DATASET_TARGET = 'dataset';

export interface UnitScore extends ScoreResult {
  scorer: string;
}

export interface UnitResult {
  itemId: string;
  target: string;
  output: string | null;
  callId: string | null;
  latencyMs: number | null;
  costUsd: number | null;
  scores: UnitScore[];
  called: boolean;
  callError: string | null;
}

export interface UnitDeps {
  runId: string;
  seed: number;
  temperature: number;
  client: GatewayClient | null;
  judge: ((req: JudgeRequest, item: string) => Promise<JudgeReply>) | null;
  scorers: readonly ResolvedScorer[];
  retry?: RetryOptions;
  /** The context the gateway retrieved for a call (RAG routes), for items without their own. */
  recordedContext?: (callId: string) => Promise<string | null>;
}

/** Scorers that read the context; only they make a run wait for the recorded one. */
const NEEDS_CONTEXT = new Set(['groundedness', 'faithfulness', 'hallucination']);

/** The chat request for an item under a target: seeded, temperature 0 by default, tagged. */
export function requestFor(item: EvalItem, target: Target, deps: Pick<UnitDeps, 'runId' | 'seed' | 'temperature'>, extra: Record<string, unknown> = {}) {
  const messages = item.messages ?? (item.input !== undefined ? [{ role: 'user', content: item.input }] : []);
  const variables: Record<string, unknown> = { ...item.variables };
  const context = contextOf(item);
  if (target.context_variable && context !== null && variables[target.context_variable] === undefined) variables[target.context_variable] = context;
  const body: Record<string, unknown> = {
    model: target.model,
    messages,
    temperature: deps.temperature,
    seed: deps.seed,
    ...target.params,
    ...extra,
    metadata: { sluice_eval_run: deps.runId, sluice_eval_item: item.item_id, sluice_eval_target: target.name },
  };
  if (target.prompt && Object.keys(variables).length > 0) body.prompt = { variables };
  const headers: Record<string, string> = { 'x-sluice-subject': `eval:${item.item_id}` };
  if (target.prompt) headers['x-sluice-prompt'] = target.prompt;
  return { body, headers };
}

const inRange = (r: ScoreResult): ScoreResult =>
  r.score === null || (Number.isFinite(r.score) && r.score >= 0 && r.score <= 1)
    ? r
    : { ...r, score: null, reason: `scorer returned ${r.score}, outside [0, 1]` };

export async function runUnit(unit: Unit, deps: UnitDeps): Promise<UnitResult> {
  const { item, target } = unit;
  const base = { itemId: item.item_id, target: target?.name ?? DATASET_TARGET };
  let output: string | null;
  let callId: string | null = null;
  let latencyMs: number | null = item.latency_ms ?? null;
  let costUsd: number | null = item.cost_usd ?? null;
  let callError: string | null = null;

  if (target === null) {
    output = item.output ?? null;
  } else if (!deps.client) {
    output = null;
    callError = 'no gateway to call the target';
  } else {
    const { body, headers } = requestFor(item, target, deps);
    const client = deps.client;
    const r = await withRetry(() => client.chat(body, headers), deps.retry);
    output = r.ok ? r.text : null;
    callId = r.callId;
    latencyMs = r.latencyMs;
    costUsd = r.costUsd;
    if (!r.ok) callError = `target call failed after ${r.attempts} tries: HTTP ${r.status}: ${r.error ?? 'error'}`;
    else if (r.text === null) callError = 'the target returned no text';
  }

  if (output === null) {
    const reason = callError ?? 'no output';
    return { ...base, output, callId, latencyMs, costUsd, called: target !== null, callError, scores: deps.scorers.map((s) => ({ scorer: s.key, score: null, reason })) };
  }

  const client = deps.client;
  const judge = deps.judge;
  const ctx: ScorerContext = {
    judge: judge ? (req) => judge(req, item.item_id) : null,
    sample:
      target && client
        ? async (n, temperature) => {
            const out: string[] = [];
            for (let i = 1; i <= n; i++) {
              const { body, headers } = requestFor(item, target, deps, { temperature, seed: deps.seed + i });
              const r = await withRetry(() => client.chat(body, headers), deps.retry);
              if (!r.ok || r.text === null) throw new Error(`sample ${i}: HTTP ${r.status}: ${r.error ?? 'no text'}`);
              out.push(r.text);
            }
            return out;
          }
        : null,
  };
  let context = contextOf(item);
  if (context === null && callId && deps.recordedContext && deps.scorers.some((s) => NEEDS_CONTEXT.has(s.name))) {
    context = await deps.recordedContext(callId);
  }
  const input = { item, output, question: questionOf(item), context, latencyMs, costUsd };
  const scores: UnitScore[] = [];
  for (const s of deps.scorers) {
    let r: ScoreResult;
    try {
      r = inRange(await s.scorer.score(input, s.options, ctx));
    } catch (err) {
      r = { score: null, reason: `scorer ${s.name} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    scores.push({ scorer: s.key, ...r });
  }
  return { ...base, output, callId, latencyMs, costUsd, called: target !== null, callError: null, scores };
}
