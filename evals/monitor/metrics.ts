import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { scoreSliceConditions, sliceConditions, type CallSlice } from './filters.ts';

/** A monitor metric over one window: its value (null with no samples), how many samples, examples. */
export interface MetricValue {
  value: number | null;
  samples: number;
  /** Up to five call ids that show the metric at its worst (errors, lowest scores, slowest). */
  examples: string[];
}

/** One bucket of a metric's series: where it starts, its value, its samples. */
export interface MetricBucket {
  start: Date;
  value: number;
  samples: number;
}

export type MonitorMetric = 'error_rate' | 'latency_p95_ms' | 'cost_per_call_usd' | `score:${string}`;

const EXAMPLES = 5;

/**
 * What each metric reads, once, for both the window value and the bucketed series:
 * - error_rate: calls that failed upstream or in the gateway, over calls that reached the
 *   pipeline (a client's own bad request or a client that left is neither);
 * - latency_p95_ms: the 95th percentile of whole-call latency of successful calls;
 * - cost_per_call_usd: mean cost of successful priced calls;
 * - score:<scorer>: mean of that scorer's scores (online, eval or feedback) on calls in the window.
 * `worst` picks the example calls: the ones that show the metric at its worst. Scores are read
 * from `call_scores` alone, through the call fields copied onto them (score-call-fields.ts).
 */
interface MetricSql {
  from: SQL;
  /** The slice's conditions on `from`. */
  slice: typeof sliceConditions;
  /** The call's id and start time in `from`. */
  id: SQL;
  time: SQL;
  filter: SQL;
  value: SQL;
  worst: { filter: SQL; order: SQL };
}

const ON_CALLS = { from: sql`calls c`, slice: sliceConditions, id: sql`c.id`, time: sql`c.started_at` } as const;

function metricSql(metric: MonitorMetric): MetricSql {
  if (metric === 'error_rate') {
    const failed = sql`c.status in ('upstream_error', 'gateway_error')`;
    return {
      ...ON_CALLS,
      filter: sql`c.status not in ('client_error', 'client_aborted')`,
      value: sql`(count(*) filter (where ${failed}))::float8 / nullif(count(*), 0)`,
      worst: { filter: failed, order: sql`c.started_at desc` },
    };
  }
  if (metric === 'latency_p95_ms') {
    const ok = sql`c.status = 'ok'`;
    return { ...ON_CALLS, filter: ok, value: sql`percentile_cont(0.95) within group (order by c.latency_ms)::float8`, worst: { filter: ok, order: sql`c.latency_ms desc` } };
  }
  if (metric === 'cost_per_call_usd') {
    const priced = sql`c.status = 'ok' and c.cost_micros is not null`;
    return { ...ON_CALLS, filter: priced, value: sql`(avg(c.cost_micros) / 1e6)::float8`, worst: { filter: priced, order: sql`c.cost_micros desc` } };
  }
  const scored = sql`s.scorer = ${metric.slice('score:'.length)} and s.score is not null`;
  return {
    from: sql`call_scores s`,
    slice: scoreSliceConditions,
    id: sql`s.call_id`,
    time: sql`s.call_started_at`,
    filter: scored,
    value: sql`avg(s.score)::float8`,
    worst: { filter: scored, order: sql`s.score asc, s.call_started_at desc` },
  };
}

/** Computes `metric` over production calls of `slice` started in [since, until). */
export async function computeMetric(database: Pick<Database, 'db'>, metric: MonitorMetric, slice: CallSlice, since: Date, until: Date): Promise<MetricValue> {
  const m = metricSql(metric);
  const where = m.slice(slice, since, until);
  const [row] = rowsOf<{ n: number; v: number | null }>(
    await database.db.execute(sql`select count(*)::int as n, ${m.value} as v from ${m.from} where ${where} and ${m.filter}`),
  );
  const examples = rowsOf<{ id: string }>(
    await database.db.execute(sql`select ${m.id} as id from ${m.from} where ${where} and ${m.worst.filter} order by ${m.worst.order} limit ${EXAMPLES}`),
  ).map((r) => r.id);
  const samples = Number(row?.n ?? 0);
  return { value: samples === 0 || row?.v == null ? null : Number(row.v), samples, examples };
}

/**
 * `metric` per consecutive bucket of `bucketMs` (aligned to the epoch) in [since, until): the
 * observations of the EWMA and CUSUM detectors. Buckets with no samples are absent.
 */
export async function computeMetricBuckets(
  database: Pick<Database, 'db'>,
  metric: MonitorMetric,
  slice: CallSlice,
  since: Date,
  until: Date,
  bucketMs: number,
): Promise<MetricBucket[]> {
  const m = metricSql(metric);
  const bucket = sql`floor(extract(epoch from ${m.time}) / ${bucketMs / 1000})::bigint`;
  const rows = rowsOf<{ b: number | string; n: number; v: number | null }>(
    await database.db.execute(sql`
      select ${bucket} as b, count(*)::int as n, ${m.value} as v
      from ${m.from} where ${m.slice(slice, since, until)} and ${m.filter} group by 1 order by 1`),
  );
  return rows.filter((r) => r.v !== null).map((r) => ({ start: new Date(Number(r.b) * bucketMs), value: Number(r.v), samples: Number(r.n) }));
}
