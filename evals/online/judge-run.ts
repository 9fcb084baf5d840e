import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../../gateway/db/client.ts';
import type { Logger } from '../../gateway/logger.ts';
import { contextOf, questionOf, type EvalItem } from '../datasets/item.ts';
import type { GatewayClient } from '../gateway-client.ts';
import { resolveScorerSpec, type ResolvedScorer } from '../job.ts';
import { gatewayJudge } from '../run/judge-client.ts';
import { runPool } from '../run/pool.ts';
import { withRetry, type RetryOptions } from '../run/retry.ts';
import { getRun, heartbeat, updateRun } from '../run/store.ts';
import { fieldsOfCallRow } from '../monitor/score-call-fields.ts';
import type { ScoreResult, ScorerContext } from '../scorers/types.ts';
import { callScores } from '../schema.ts';
import { onlineJobSchema, type OnlineJobSummary } from './judge-job.ts';
import { readLoggedCalls, type LoggedCall } from './logged-calls.ts';
import { itemOfLogged } from './online-scoring.ts';

/**
 * The worker's half of online judge scoring: for each call of the job, read it back from the
 * call log, run the job's scorers with the judge client eval runs use (through the gateway, so
 * judge calls are logged, priced and cached), and write `call_scores` rows with source
 * `online`. Idempotent: pairs already scored (an earlier try of a re-claimed job) are skipped
 * before any judge is asked, and the unique partial index drops a row written twice anyway.
 */
export interface OnlineRunDeps {
  database: Pick<Database, 'db'>;
  client: GatewayClient;
  logger: Logger;
  /** Calls scored at once within the job. */
  concurrency?: number;
  /** How long to wait for calls the call log has not written yet. */
  logWaitMs?: number;
  retry?: RetryOptions;
  heartbeatMs?: number;
}

/** Seed of judge and sampling calls (eval jobs default to the same). */
const SEED = 42;

/** Fields of a logged request that a re-ask must not copy: the target, the stream, the tags. */
const NOT_RESENT = new Set(['model', 'messages', 'stream', 'stream_options', 'n', 'temperature', 'seed', 'metadata', 'prompt', 'user']);

type Row = typeof callScores.$inferInsert;

/** Runs an online scoring job whose row this worker has claimed; records its summary on the row. */
export async function executeOnlineRun(runId: string, deps: OnlineRunDeps): Promise<OnlineJobSummary | null> {
  const { database } = deps;
  const row = await getRun(database, runId);
  if (!row) return null;
  const progress = { done: 0, total: 0 };
  // Judge calls can take a while: the heartbeat keeps another worker from re-claiming the job.
  const beat = setInterval(() => void heartbeat(database, runId, progress).catch(() => {}), deps.heartbeatMs ?? 10_000);
  beat.unref();
  try {
    const job = onlineJobSchema.parse(row.job);
    const scorers = job.scorers.map((spec, i) => resolveScorerSpec(spec, ['scorers', String(i)]));
    const done = await scoredPairs(database, job.calls, scorers);
    const todo = job.calls.filter((id) => scorers.some((s) => !done.has(`${id}\u0000${s.key}`)));
    const logged = await readLoggedCalls(database, todo, deps.logWaitMs === undefined ? {} : { waitMs: deps.logWaitMs });
    const summary: OnlineJobSummary = { calls: job.calls.length, scored: job.calls.length - todo.length, failed: 0 };
    progress.total = job.calls.length;
    const judge = gatewayJudge(deps.client, { runId, seed: SEED, ...(deps.retry ? { retry: deps.retry } : {}) });
    await runPool(todo, deps.concurrency ?? 4, async (id) => {
      progress.done++;
      const call = logged.get(id);
      const item = call ? itemOfLogged(call) : null;
      if (!call || !item) {
        summary.failed++;
        deps.logger.warn('online scoring: call not scorable from the log', { call_id: id, reason: call ? 'no chat answer' : 'not in the call log' });
        return;
      }
      const ctx: ScorerContext = { judge: (req) => judge(req, id), sample: resampler(call, runId, deps) };
      const rows = await scoreCall(call, item, scorers.filter((s) => !done.has(`${id}\u0000${s.key}`)), ctx);
      try {
        await database.db
          .insert(callScores)
          .values(rows)
          .onConflictDoNothing({ target: [callScores.callId, callScores.scorer], where: sql`source = 'online'` });
        summary.scored++;
      } catch (err) {
        summary.failed++;
        deps.logger.error('online scores could not be written', { call_id: id, err: String(err) });
      }
    });
    await updateRun(database, runId, { status: 'succeeded', finishedAt: new Date(), summary: { ...summary }, progress: { done: summary.calls, total: summary.calls }, error: null });
    return summary;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    deps.logger.warn('online scoring job failed', { run_id: runId, error: message });
    await updateRun(database, runId, { status: 'failed', finishedAt: new Date(), error: message }).catch(() => {});
    return null;
  } finally {
    clearInterval(beat);
  }
}

/** `call \0 scorer` pairs that already have an online score. */
async function scoredPairs(database: Pick<Database, 'db'>, ids: readonly string[], scorers: readonly ResolvedScorer[]): Promise<Set<string>> {
  const rows = await database.db
    .select({ callId: callScores.callId, scorer: callScores.scorer })
    .from(callScores)
    .where(and(inArray(callScores.callId, [...ids]), inArray(callScores.scorer, scorers.map((s) => s.key)), eq(callScores.source, 'online')));
  return new Set(rows.map((r) => `${r.callId}\u0000${r.scorer}`));
}

const inRange = (r: ScoreResult): ScoreResult =>
  r.score === null || (Number.isFinite(r.score) && r.score >= 0 && r.score <= 1) ? r : { ...r, score: null, reason: `scorer returned ${r.score}, outside [0, 1]` };

async function scoreCall(call: LoggedCall, item: EvalItem, scorers: readonly ResolvedScorer[], ctx: ScorerContext): Promise<Row[]> {
  const input = {
    item,
    output: item.output!,
    question: questionOf(item),
    context: contextOf(item),
    latencyMs: call.latencyMs,
    costUsd: call.costMicros === null ? null : call.costMicros / 1e6,
  };
  const fields = fieldsOfCallRow(call);
  const rows: Row[] = [];
  for (const s of scorers) {
    let r: ScoreResult;
    try {
      r = inRange(await s.scorer.score(input, s.options, ctx));
    } catch (err) {
      r = { score: null, reason: `scorer ${s.name} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    const judged = r.judgePromptVersion ? { judge_prompt_version: r.judgePromptVersion, judge_model: r.judgeModel ?? null } : {};
    const details = r.details || r.judgePromptVersion ? { ...r.details, ...judged } : null;
    rows.push({ callId: call.id, scorer: s.key, score: r.score, reason: r.reason ?? null, source: 'online', details, ...fields });
  }
  return rows;
}

/**
 * Sampling scorers re-ask the target that served the call (its provider/model, not the route,
 * whose variant draw could land elsewhere) with the messages the gateway logged. When retrieval
 * injected context that the logged request does not hold (a route without a prompt logs the
 * client's body), the call cannot be re-asked as it was, and the scorer gives null with why.
 */
function resampler(call: LoggedCall, runId: string, deps: Pick<OnlineRunDeps, 'client' | 'retry'>): ScorerContext['sample'] {
  return async (n, temperature) => {
    const request = (call.request ?? {}) as Record<string, unknown>;
    const messages = request.messages;
    if (!call.provider || !call.model || !Array.isArray(messages)) throw new Error('the log does not hold the target and messages to re-ask');
    const injected = (call.rag as { injectedText?: unknown } | null)?.injectedText;
    if (typeof injected === 'string' && injected.trim() && !JSON.stringify(messages).includes(JSON.stringify(injected).slice(1, -1))) {
      throw new Error('the logged request does not hold the context retrieval injected, so it cannot be re-asked as it was');
    }
    const params = Object.fromEntries(Object.entries(request).filter(([k]) => !NOT_RESENT.has(k)));
    const out: string[] = [];
    for (let i = 1; i <= n; i++) {
      const body = { ...params, model: `${call.provider}/${call.model}`, messages, temperature, seed: SEED + i, metadata: { sluice_eval_run: runId, sluice_eval_item: call.id } };
      const r = await withRetry(() => deps.client.chat(body, {}), deps.retry);
      if (!r.ok || r.text === null) throw new Error(`sample ${i}: HTTP ${r.status}: ${r.error ?? 'no text'}`);
      out.push(r.text);
    }
    return out;
  };
}
