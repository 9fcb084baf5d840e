import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { driftMetric, PSI_THRESHOLDS, type DriftMetric } from '../stats/drift.ts';
import { scoreSliceConditions, sliceConditions, type CallSlice } from './filters.ts';

/**
 * Drift of production traffic between a reference window and a current one: input and output
 * tokens, latency, cost and every scorer's scores, each by PSI and two-sample KS
 * (stats/drift.ts). Each window reads at most MAX_ROWS calls (the most recent).
 */
export const MAX_ROWS = 20_000;

export interface DriftQuery extends CallSlice {
  scorer?: string | undefined;
  current: { since: Date; until: Date };
  reference: { since: Date; until: Date };
}

export interface DriftReport {
  object: 'eval.drift';
  current: { since: string; until: string };
  reference: { since: string; until: string };
  thresholds: typeof PSI_THRESHOLDS;
  metrics: Record<'input_tokens' | 'output_tokens' | 'latency_ms' | 'cost_usd', DriftMetric>;
  scores: Record<string, DriftMetric>;
}

const METRICS = {
  input_tokens: sql`c.input_tokens::float8`,
  output_tokens: sql`c.output_tokens::float8`,
  latency_ms: sql`c.latency_ms::float8`,
  cost_usd: sql`(c.cost_micros / 1e6)::float8`,
} as const;

async function window(database: Pick<Database, 'db'>, q: DriftQuery, w: { since: Date; until: Date }) {
  const calls = rowsOf<Record<string, number | null>>(
    await database.db.execute(sql`
      select ${METRICS.input_tokens} as input_tokens, ${METRICS.output_tokens} as output_tokens, ${METRICS.latency_ms} as latency_ms, ${METRICS.cost_usd} as cost_usd
      from calls c where ${sliceConditions(q, w.since, w.until)} and c.status = 'ok' order by c.started_at desc limit ${MAX_ROWS}`),
  );
  // Scores carry their call's time and slice (score-call-fields.ts): no join to `calls`.
  const scores = rowsOf<{ scorer: string; score: number }>(
    await database.db.execute(sql`
      select s.scorer, s.score::float8 as score from call_scores s
      where ${scoreSliceConditions(q, w.since, w.until)} and s.score is not null ${q.scorer !== undefined ? sql`and s.scorer = ${q.scorer}` : sql``}
      order by s.call_started_at desc limit ${MAX_ROWS}`),
  );
  const column = (k: keyof typeof METRICS) => calls.map((r) => r[k]).filter((v): v is number => v !== null && v !== undefined).map(Number);
  const byScorer = new Map<string, number[]>();
  for (const s of scores) {
    const list = byScorer.get(s.scorer) ?? [];
    list.push(Number(s.score));
    byScorer.set(s.scorer, list);
  }
  return { column, byScorer };
}

export async function driftReport(database: Pick<Database, 'db'>, q: DriftQuery): Promise<DriftReport> {
  const [ref, cur] = await Promise.all([window(database, q, q.reference), window(database, q, q.current)]);
  const metrics = Object.fromEntries((Object.keys(METRICS) as Array<keyof typeof METRICS>).map((k) => [k, driftMetric(ref.column(k), cur.column(k))])) as DriftReport['metrics'];
  const scorers = [...new Set([...ref.byScorer.keys(), ...cur.byScorer.keys()])].sort();
  const scores = Object.fromEntries(scorers.map((s) => [s, driftMetric(ref.byScorer.get(s) ?? [], cur.byScorer.get(s) ?? [])]));
  const iso = (w: { since: Date; until: Date }) => ({ since: w.since.toISOString(), until: w.until.toISOString() });
  return { object: 'eval.drift', current: iso(q.current), reference: iso(q.reference), thresholds: PSI_THRESHOLDS, metrics, scores };
}
