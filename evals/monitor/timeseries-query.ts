import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../gateway/db/client.ts';
import { controlChart, type ChartOptions, type ChartResult, type DailyPoint } from '../stats/timeseries.ts';
import { scoreSliceConditions, type CallSlice } from './filters.ts';

/**
 * Daily score series from `call_scores` (online evals and feedback) of production calls, one
 * series per route × variant × prompt version × scorer, each with EWMA and CUSUM alarms
 * (stats/timeseries.ts). Days are UTC and by call time. The call's time, route, variant and prompt
 * are read from the score row (score-call-fields.ts): joining a month of `calls` partitions to
 * find them took seconds at a million calls (issue 19).
 */
export interface SeriesQuery extends CallSlice {
  scorer?: string | undefined;
  source?: 'eval' | 'feedback' | 'online' | undefined;
  since: Date;
  until: Date;
  chart?: ChartOptions;
}

export interface Series extends ChartResult {
  route: string | null;
  variant: string | null;
  prompt: string | null;
  scorer: string;
}

export async function scoreSeries(database: Pick<Database, 'db'>, q: SeriesQuery): Promise<Series[]> {
  const extra = [
    ...(q.scorer !== undefined ? [sql`s.scorer = ${q.scorer}`] : []),
    ...(q.source !== undefined ? [sql`s.source = ${q.source}`] : []),
  ];
  const rows = rowsOf<Record<string, unknown>>(
    await database.db.execute(sql`
      select to_char(g.day, 'YYYY-MM-DD') as day, g.route, g.variant, g.prompt, g.scorer, g.n, g.mean, g.sd
      from (
        -- Grouped on the day as a date (cheap to sort), formatted and ordered once per group.
        select (s.call_started_at at time zone 'UTC')::date as day, s.route, s.variant,
          case when s.prompt_name is null then null else s.prompt_name || '@' || s.prompt_version end as prompt, s.scorer,
          count(*)::int as n, avg(s.score)::float8 as mean, coalesce(stddev_samp(s.score), 0)::float8 as sd
        from call_scores s
        where ${scoreSliceConditions(q, q.since, q.until)} and s.score is not null ${extra.length ? sql`and ${sql.join(extra, sql` and `)}` : sql``}
        group by 1, 2, 3, 4, 5
      ) g
      order by 2, 3, 4, 5, 1`),
  );
  const groups = new Map<string, { key: Omit<Series, keyof ChartResult>; points: DailyPoint[] }>();
  for (const r of rows) {
    const key = { route: (r.route as string | null) ?? null, variant: (r.variant as string | null) ?? null, prompt: (r.prompt as string | null) ?? null, scorer: String(r.scorer) };
    const id = JSON.stringify(key);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { key, points: [] }));
    g.points.push({ day: String(r.day), n: Number(r.n), mean: Number(r.mean), sd: Number(r.sd) });
  }
  return [...groups.values()].map((g) => ({ ...g.key, ...controlChart(g.points, q.chart) }));
}
