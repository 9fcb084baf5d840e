import { createHash } from 'node:crypto';
import type { CallEvents, CallFinished } from '../../gateway/calls/call-events.ts';
import type { CallRecord } from '../../gateway/calls/record.ts';
import { estimateRecordBytes } from '../../gateway/calls/record-size.ts';
import type { Database } from '../../gateway/db/client.ts';
import type { Logger } from '../../gateway/logger.ts';
import { completionText, extractContext } from '../datasets/context.ts';
import { contextOf, questionOf, type ChatMessage, type EvalItem } from '../datasets/item.ts';
import type { ResolvedScorer } from '../job.ts';
import { fieldsOfRecord } from '../monitor/score-call-fields.ts';
import type { EvalQueue } from '../queue/types.ts';
import { callScores } from '../schema.ts';
import { startJudgeEnqueuer, type JudgeEnqueuerOptions, type JudgeStats } from './judge-enqueue.ts';
import type { QueuedScorer } from './judge-job.ts';

/**
 * Online scoring (DESIGN §4.6): calls of a route with `online_scoring: {sample, scorers}` are
 * scored as they finish, off the request path. A CallFinished listener decides in O(1) whether
 * the call is sampled (deterministically, by a hash of its id: the same call is always in or
 * out, whichever instance sees it) and queues what the scorers need; a worker drains the queue
 * between requests (setImmediate), runs the deterministic scorers in-process and writes
 * `call_scores` rows with source `online`. When the queue is full (by count, or by the bytes of
 * the records it holds) the call is shed and counted — scoring falls behind, requests never
 * wait, and memory stays bounded whatever the bodies' size. Scorers that call a model (judge,
 * sampling) are not run here: the call's id goes to the job queue (judge-enqueue.ts) and a worker
 * scores it from the call log (judge-run.ts), into the same table with the same source.
 */
export interface OnlineScoringRoute {
  sample: number;
  /** Deterministic scorers, run in this process. */
  scorers: readonly ResolvedScorer[];
  /** Scorers that call a model, run by a worker through the job queue. */
  queued: readonly QueuedScorer[];
}

export interface OnlineScoringOptions {
  database: Pick<Database, 'db'>;
  /** Per route: what to score (see resolveOnlineScoring). */
  routes: ReadonlyMap<string, OnlineScoringRoute>;
  logger: Logger;
  /** Where judge jobs go; required when a route has scorers that call a model. */
  queue?: Pick<EvalQueue, 'submit'>;
  /** Batching and bounds of judge jobs (judge-enqueue.ts). */
  judge?: Pick<JudgeEnqueuerOptions, 'maxBatch' | 'flushMs' | 'maxBacklog' | 'orphanAfterMs'>;
  /** Most calls waiting to be scored; beyond it new ones are shed. */
  maxQueued?: number;
  /** Most estimated bytes of records waiting (bodies included); beyond it new ones are shed. */
  maxQueuedBytes?: number;
  /** Calls scored per turn of the event loop (each turn yields to requests). */
  batchSize?: number;
}

/** In-process counters (calls), then the judge jobs' (calls, see JudgeStats). */
export interface OnlineScoringStats extends JudgeStats {
  sampled: number;
  scored: number;
  shed: number;
  failed: number;
  queued: number;
  queued_bytes: number;
}

export interface OnlineScoring {
  stats(): OnlineScoringStats;
  /** Resolves once every queued call has been scored and written (and judge jobs handed over). */
  drained(): Promise<void>;
  /** Unsubscribes, waits for what is queued here, and queues the judge jobs still waiting. */
  stop(): Promise<void>;
}

interface Pending {
  record: Readonly<CallRecord>;
  route: OnlineScoringRoute;
  bytes: number;
}

/** Whether `callId` falls in a `sample` fraction: md5 of the id, first 32 bits, below the fraction. */
export function sampledCall(callId: string, sample: number): boolean {
  if (sample >= 1) return true;
  if (sample <= 0) return false;
  const h = createHash('md5').update(`online:${callId}`).digest().readUInt32BE(0);
  return h < Math.floor(sample * 2 ** 32);
}

/** A finished call as the scorers need it: from its record here, from the call log in a worker. */
export interface ScorableCall {
  id: string;
  request: unknown;
  response: unknown;
  rag: unknown;
  latencyMs: number;
  costMicros: number | null;
}

/** The dataset item a logged call makes: its messages, answer, injected context, latency and cost. */
export function itemOfLogged(call: ScorableCall): EvalItem | null {
  const output = completionText(call.response);
  if (output === null) return null;
  const request = (call.request ?? {}) as Record<string, unknown>;
  const messages = Array.isArray(request.messages) ? (request.messages as ChatMessage[]) : undefined;
  const context = extractContext(call.rag, call.request, call.response);
  return {
    item_id: call.id,
    ...(messages ? { messages } : {}),
    output,
    ...(context ? { context } : {}),
    latency_ms: call.latencyMs,
    ...(call.costMicros === null ? {} : { cost_usd: call.costMicros / 1e6 }),
  };
}

export function itemOfCall(record: Readonly<CallRecord>): EvalItem | null {
  const { id, requestBody: request, responseBody: response, rag, latencyMs, costMicros } = record;
  return itemOfLogged({ id, request, response, rag, latencyMs, costMicros });
}

const NO_JUDGE_STATS: JudgeStats = { judge_enqueued: 0, judge_shed: 0, judge_scored: 0, judge_failed: 0, judge_backlog: 0 };

export function startOnlineScoring(events: CallEvents, opts: OnlineScoringOptions): OnlineScoring {
  const maxQueued = opts.maxQueued ?? 1000;
  const maxQueuedBytes = opts.maxQueuedBytes ?? 32 * 1024 * 1024;
  let queuedBytes = 0;
  const batchSize = opts.batchSize ?? 20;
  const queue: Pending[] = [];
  const stats = { sampled: 0, scored: 0, shed: 0, failed: 0 };
  let draining: Promise<void> | null = null;
  const needsQueue = [...opts.routes.values()].some((r) => r.queued.length > 0);
  if (needsQueue && !opts.queue) throw new Error('online scoring: scorers that call a model need the job queue');
  const judge = needsQueue && opts.queue ? startJudgeEnqueuer({ database: opts.database, queue: opts.queue, logger: opts.logger, ...opts.judge }) : undefined;

  const unsubscribe = events.onFinished((event: CallFinished) => {
    const { record } = event;
    if (record.status !== 'ok' || record.shadow || record.route === null) return;
    // Eval traffic (targets, judges, samples) is not production traffic, and scoring a judge's
    // own calls with that judge would never end.
    if (record.metadata?.sluice_eval_run !== undefined) return;
    const route = opts.routes.get(record.route);
    if (!route || !sampledCall(record.id, route.sample)) return;
    stats.sampled++;
    if (route.queued.length > 0 && judge && completionText(record.responseBody) !== null) judge.offer(record.id, record.route, route.queued);
    if (route.scorers.length === 0) return;
    const bytes = estimateRecordBytes(record);
    if (queue.length >= maxQueued || queuedBytes + bytes > maxQueuedBytes) {
      stats.shed++;
      return;
    }
    queuedBytes += bytes;
    queue.push({ record, route, bytes });
    draining ??= drain().finally(() => {
      draining = null;
    });
  });

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      // Yield first: the listener runs on the request's finish, the scoring never does.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = queue.splice(0, batchSize);
      for (const p of batch) queuedBytes -= p.bytes;
      const rows = batch.flatMap((p) => scoreCall(p));
      if (rows.length === 0) continue;
      try {
        await opts.database.db.insert(callScores).values(rows).onConflictDoNothing();
        stats.scored += batch.length;
      } catch (err) {
        stats.failed += batch.length;
        opts.logger.error('online scores could not be written', { calls: batch.length, err: String(err) });
      }
    }
  }

  function scoreCall({ record, route }: Pending): Array<typeof callScores.$inferInsert> {
    const item = itemOfCall(record);
    if (!item) return [];
    const input = {
      item,
      output: item.output!,
      question: questionOf(item),
      context: contextOf(item),
      latencyMs: record.latencyMs,
      costUsd: record.costMicros === null ? null : record.costMicros / 1e6,
    };
    // From the record, not the log: the call's row may land after its scores (the writer batches).
    const call = fieldsOfRecord(record);
    const rows: Array<typeof callScores.$inferInsert> = [];
    for (const s of route.scorers) {
      let result;
      try {
        result = s.scorer.score(input, s.options, { judge: null, sample: null });
      } catch (err) {
        result = { score: null, reason: `scorer failed: ${(err as Error).message}` };
      }
      if (result instanceof Promise) continue; // deterministic scorers only (checked at start)
      rows.push({
        callId: record.id,
        scorer: s.key,
        score: result.score,
        reason: result.reason ?? null,
        source: 'online',
        details: result.details ?? null,
        ...call,
      });
    }
    return rows;
  }

  return {
    stats: () => ({ ...stats, queued: queue.length, queued_bytes: queuedBytes, ...(judge?.stats() ?? NO_JUDGE_STATS) }),
    drained: async () => {
      while (draining) await draining;
      await judge?.tick();
    },
    async stop() {
      unsubscribe();
      while (draining) await draining;
      await judge?.stop();
    },
  };
}
