import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { scoreSliceConditions, sliceConditions, type CallSlice } from '../monitor/filters.ts';
import { quantileUpperRank } from './sequential.ts';
import type { Guard, GuardData, MeanArm } from './types.ts';

type Db = Pick<Database, 'db'>['db'];

/** The two arms of a rollout: which production calls each one is (monitor/filters.ts). */
export interface Arms {
  control: CallSlice;
  candidate: CallSlice;
}

export interface ArmWindow {
  /** The rollout's start: guards see everything since. */
  since: Date;
  /** The current step's start: advancing needs min_samples in the step. */
  stepSince: Date;
  until: Date;
  /** Confidence of the latency guard's control quantile bound. */
  confidence: number;
}

export interface ArmsData {
  totalCounts: { control: number; candidate: number };
  stepCounts: { control: number; candidate: number };
  guards: Array<GuardData | null>;
  /** Up to five candidate call ids that show each guard's metric at its worst. */
  examples: string[];
}

const FAILED = sql`c.status in ('upstream_error', 'gateway_error')`;
/** A client's own bad request or a client that left is no evidence about either arm. */
const COUNTED = sql`c.status not in ('client_error', 'client_aborted')`;
const OK = sql`c.status = 'ok'`;

async function one<T>(db: Db, query: SQL): Promise<T> {
  return rowsOf<T>(await db.execute(query))[0]!;
}

async function counts(db: Db, slice: CallSlice, w: ArmWindow): Promise<{ n: number; step: number; errors: number }> {
  const r = await one<{ n: number; step: number; errors: number }>(
    db,
    sql`select count(*)::int as n,
               count(*) filter (where c.started_at >= ${w.stepSince.toISOString()}::timestamptz)::int as step,
               count(*) filter (where ${FAILED})::int as errors
        from calls c where ${sliceConditions(slice, w.since, w.until)} and ${COUNTED}`,
  );
  return { n: Number(r.n), step: Number(r.step), errors: Number(r.errors) };
}

async function meanArm(db: Db, from: SQL, value: SQL, where: SQL): Promise<MeanArm> {
  const r = await one<{ n: number; s: number | null; ss: number | null }>(
    db,
    sql`select count(*)::int as n, sum(${value})::float8 as s, sum(${value} * ${value})::float8 as ss from ${from} where ${where}`,
  );
  return { n: Number(r.n), sum: Number(r.s ?? 0), sumSq: Number(r.ss ?? 0) };
}

/**
 * Online scores only: one per call (evals and feedback would weigh some calls twice). Read from
 * `call_scores` alone, through the call fields copied onto each score (monitor/score-call-fields.ts).
 */
function scoreArm(db: Db, scorer: string, slice: CallSlice, w: ArmWindow): Promise<MeanArm> {
  return meanArm(
    db,
    sql`call_scores s`,
    sql`s.score`,
    sql`${scoreSliceConditions(slice, w.since, w.until)} and s.scorer = ${scorer} and s.source = 'online' and s.score is not null`,
  );
}

function costArm(db: Db, slice: CallSlice, w: ArmWindow): Promise<MeanArm> {
  return meanArm(db, sql`calls c`, sql`(c.cost_micros / 1e6)`, sql`${sliceConditions(slice, w.since, w.until)} and ${OK} and c.cost_micros is not null`);
}

/**
 * Latency on exceedances: the control's p95 upper confidence bound (an order statistic), and
 * how many candidate calls took longer than max_ratio × that bound (sequential.ts).
 */
async function latencyData(db: Db, arms: Arms, w: ArmWindow, maxRatio: number): Promise<GuardData> {
  const q = 0.95;
  const p95 = (slice: CallSlice) =>
    one<{ n: number; p: number | null }>(
      db,
      sql`select count(*)::int as n, percentile_cont(${q}) within group (order by c.latency_ms)::float8 as p
          from calls c where ${sliceConditions(slice, w.since, w.until)} and ${OK}`,
    );
  const [control, candidate] = await Promise.all([p95(arms.control), p95(arms.candidate)]);
  const controlN = Number(control.n);
  let exceed = 0;
  if (controlN > 0 && Number(candidate.n) > 0) {
    const rank = quantileUpperRank(controlN, q, w.confidence);
    const bound = await one<{ v: number }>(
      db,
      sql`select c.latency_ms::float8 as v from calls c where ${sliceConditions(arms.control, w.since, w.until)} and ${OK}
          order by c.latency_ms offset ${rank - 1} limit 1`,
    );
    const limit = maxRatio * Number(bound.v);
    const r = await one<{ k: number }>(
      db,
      sql`select count(*)::int as k from calls c where ${sliceConditions(arms.candidate, w.since, w.until)} and ${OK} and c.latency_ms > ${limit}`,
    );
    exceed = Number(r.k);
  }
  return {
    kind: 'quantile_ratio',
    quantile: q,
    controlQuantile: Number(control.p ?? 0),
    candidateQuantile: Number(candidate.p ?? 0),
    controlN,
    candidateExceed: { n: Number(candidate.n), events: exceed },
  };
}

/** Candidate calls that show a guard's metric at its worst (evidence links). */
async function worstCandidateCalls(db: Db, guards: readonly Guard[], arms: Arms, w: ArmWindow): Promise<string[]> {
  const score = guards.find((g) => g.metric.startsWith('score:'));
  const query = score
    ? sql`select s.call_id as id from call_scores s where ${scoreSliceConditions(arms.candidate, w.since, w.until)} and s.scorer = ${score.metric.slice(6)} and s.source = 'online' order by s.score asc, s.call_started_at desc limit 5`
    : sql`select c.id from calls c where ${sliceConditions(arms.candidate, w.since, w.until)} and ${COUNTED} order by (${FAILED}) desc, c.latency_ms desc limit 5`;
  return rowsOf<{ id: string }>(await db.execute(query)).map((r) => r.id);
}

/** Everything one look needs, read from the call log for both arms over the same window. */
export async function readArms(database: Pick<Database, 'db'>, guards: readonly Guard[], arms: Arms, w: ArmWindow): Promise<ArmsData> {
  const db = database.db;
  const [c, k] = await Promise.all([counts(db, arms.control, w), counts(db, arms.candidate, w)]);
  const data: Array<GuardData | null> = [];
  for (const g of guards) {
    if (g.metric === 'error_rate') {
      data.push({ kind: 'rate_increase', control: { n: c.n, events: c.errors }, candidate: { n: k.n, events: k.errors } });
    } else if (g.metric === 'cost_per_call_usd') {
      const [control, candidate] = await Promise.all([costArm(db, arms.control, w), costArm(db, arms.candidate, w)]);
      data.push({ kind: 'mean_ratio', control, candidate });
    } else if (g.metric === 'latency_p95_ms') {
      data.push(await latencyData(db, arms, w, g.max_ratio ?? 1.5));
    } else if (g.metric.startsWith('score:')) {
      const scorer = g.metric.slice('score:'.length);
      const [control, candidate] = await Promise.all([scoreArm(db, scorer, arms.control, w), scoreArm(db, scorer, arms.candidate, w)]);
      data.push({ kind: 'mean_drop', control, candidate });
    } else {
      data.push(null);
    }
  }
  return {
    totalCounts: { control: c.n, candidate: k.n },
    stepCounts: { control: c.step, candidate: k.step },
    guards: data,
    examples: await worstCandidateCalls(db, guards, arms, w),
  };
}
