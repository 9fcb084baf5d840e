import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { sliceConditions, type CallSlice } from './filters.ts';

/** A monitor metric over one window: its value (null with no samples), how many samples, examples. */
export interface MetricValue {
  value: number | null;
  samples: number;
  /** Up to five call ids that show the metric at its worst (errors, lowest scores, slowest). */
  examples: string[];
}

export type MonitorMetric = 'error_rate' | 'latency_p95_ms' | 'cost_per_call_usd' | `score:${string}`;

const EXAMPLES = 5;

/**
 * Computes `metric` over production calls of `slice` started in [since, until). What counts:
 * - error_rate: calls that failed upstream or in the gateway, over calls that reached the
 *   pipeline (a client's own bad request or a client that left is neither);
 * - latency_p95_ms: the 95th percentile of whole-call latency of successful calls;
 * - cost_per_call_usd: mean cost of successful priced calls;
 * - score:<scorer>: mean of that scorer's scores (online, eval or feedback) on calls in the window.
 */
export async function computeMetric(database: Pick<Database, 'db'>, metric: MonitorMetric, slice: CallSlice, since: Date, until: Date): Promise<MetricValue> {
  const where = sliceConditions(slice, since, until);
  if (metric === 'error_rate') {
    const [row] = rowsOf<{ n: number; errors: number }>(
      await database.db.execute(sql`
        select count(*)::int as n, count(*) filter (where c.status in ('upstream_error', 'gateway_error'))::int as errors
        from calls c where ${where} and c.status not in ('client_error', 'client_aborted')`),
    );
    const examples = rowsOf<{ id: string }>(
      await database.db.execute(sql`
        select c.id from calls c where ${where} and c.status in ('upstream_error', 'gateway_error')
        order by c.started_at desc limit ${EXAMPLES}`),
    ).map((r) => r.id);
    const n = Number(row?.n ?? 0);
    return { value: n === 0 ? null : Number(row!.errors) / n, samples: n, examples };
  }
  if (metric === 'latency_p95_ms') {
    const [row] = rowsOf<{ n: number; p95: number | null }>(
      await database.db.execute(sql`
        select count(*)::int as n, percentile_cont(0.95) within group (order by c.latency_ms)::float8 as p95
        from calls c where ${where} and c.status = 'ok'`),
    );
    const examples = rowsOf<{ id: string }>(
      await database.db.execute(sql`select c.id from calls c where ${where} and c.status = 'ok' order by c.latency_ms desc limit ${EXAMPLES}`),
    ).map((r) => r.id);
    return { value: row?.p95 == null ? null : Number(row.p95), samples: Number(row?.n ?? 0), examples };
  }
  if (metric === 'cost_per_call_usd') {
    const [row] = rowsOf<{ n: number; mean: number | null }>(
      await database.db.execute(sql`
        select count(*)::int as n, (avg(c.cost_micros) / 1e6)::float8 as mean
        from calls c where ${where} and c.status = 'ok' and c.cost_micros is not null`),
    );
    const examples = rowsOf<{ id: string }>(
      await database.db.execute(sql`
        select c.id from calls c where ${where} and c.status = 'ok' and c.cost_micros is not null order by c.cost_micros desc limit ${EXAMPLES}`),
    ).map((r) => r.id);
    return { value: row?.mean == null ? null : Number(row.mean), samples: Number(row?.n ?? 0), examples };
  }
  const scorer = metric.slice('score:'.length);
  const [row] = rowsOf<{ n: number; mean: number | null }>(
    await database.db.execute(sql`
      select count(*)::int as n, avg(s.score)::float8 as mean
      from calls c join call_scores s on s.call_id = c.id
      where ${where} and s.scorer = ${scorer} and s.score is not null`),
  );
  const examples = rowsOf<{ id: string }>(
    await database.db.execute(sql`
      select c.id from calls c join call_scores s on s.call_id = c.id
      where ${where} and s.scorer = ${scorer} and s.score is not null order by s.score asc, c.started_at desc limit ${EXAMPLES}`),
  ).map((r) => r.id);
  return { value: row?.mean == null ? null : Number(row.mean), samples: Number(row?.n ?? 0), examples };
}

/** One bucket of a metric's series: where it starts, its value, its samples. */
export interface MetricBucket {
  start: Date;
  value: number;
  samples: number;
}

/**
 * `metric` per consecutive bucket of `bucketMs` (aligned to the epoch) in [since, until): the
 * observations of the EWMA detector. Buckets with no samples are absent.
 */
export async function computeMetricBuckets(
  database: Pick<Database, 'db'>,
  metric: MonitorMetric,
  slice: CallSlice,
  since: Date,
  until: Date,
  bucketMs: number,
): Promise<MetricBucket[]> {
  const where = sliceConditions(slice, since, until);
  const seconds = bucketMs / 1000;
  const bucket = sql`floor(extract(epoch from c.started_at) / ${seconds})::bigint`;
  let rows: Array<{ b: number | string; n: number; v: number | null }>;
  if (metric === 'error_rate') {
    rows = rowsOf(
      await database.db.execute(sql`
        select ${bucket} as b, count(*)::int as n,
          (count(*) filter (where c.status in ('upstream_error', 'gateway_error')))::float8 / count(*) as v
        from calls c where ${where} and c.status not in ('client_error', 'client_aborted') group by 1 order by 1`),
    );
  } else if (metric === 'latency_p95_ms') {
    rows = rowsOf(
      await database.db.execute(sql`
        select ${bucket} as b, count(*)::int as n, percentile_cont(0.95) within group (order by c.latency_ms)::float8 as v
        from calls c where ${where} and c.status = 'ok' group by 1 order by 1`),
    );
  } else if (metric === 'cost_per_call_usd') {
    rows = rowsOf(
      await database.db.execute(sql`
        select ${bucket} as b, count(*)::int as n, (avg(c.cost_micros) / 1e6)::float8 as v
        from calls c where ${where} and c.status = 'ok' and c.cost_micros is not null group by 1 order by 1`),
    );
  } else {
    const scorer = metric.slice('score:'.length);
    rows = rowsOf(
      await database.db.execute(sql`
        select ${bucket} as b, count(*)::int as n, avg(s.score)::float8 as v
        from calls c join call_scores s on s.call_id = c.id
        where ${where} and s.scorer = ${scorer} and s.score is not null group by 1 order by 1`),
    );
  }
  return rows
    .filter((r) => r.v !== null)
    .map((r) => ({ start: new Date(Number(r.b) * bucketMs), value: Number(r.v), samples: Number(r.n) }));
}
