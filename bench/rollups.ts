/**
 * Rollups at scale: /api/usage, route stats and the dashboard overview's queries on N logged
 * calls, and the writer's insert statement at that table size.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/rollups.ts [--rows 10000000]
 *
 * Creates a scratch database on that server (dropped at the end), day partitions for the last
 * 31 days, and seeds N calls over 30 days with one generate_series insert (secondary indexes
 * built after the load), then builds both rollups from them with the writer's own aggregate SQL
 * (gateway/calls/rollup-sql.ts). The data is shaped like a gateway's: 50 API keys, each on one of
 * 10 routes; 10% of a route's traffic on its candidate variant; one model per variant (3% fall
 * back to another); 2% shadow calls; 93% ok, 3.5% upstream errors, 0.5% gateway errors, 2.5%
 * client errors, 0.5% aborted; cache hit/miss/bypass/none 10/70/10/10%; 4% unpriced.
 *
 * Each query is timed through the same function the API calls (median of 5 after a warm-up).
 * Windows end now and start at a ragged time (not on an hour), so the raw edges are included.
 * The writer figure is `insertCallRows` (calls + payloads + both rollups in one statement),
 * 500-row batches of realistic rows (payloads on, ~600-byte bodies) timed back to back. Not
 * part of `npm test`.
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { toCallRow } from '../gateway/calls/call-row.ts';
import { insertCallRows } from '../gateway/calls/insert.ts';
import { PartitionMaintainer } from '../gateway/calls/partitions.ts';
import { compilePayloadPolicy } from '../gateway/calls/payloads.ts';
import { usageSummary, type UsageGroup } from '../gateway/calls/queries.ts';
import { usageSeries } from '../gateway/calls/rollup-series.ts';
import { rollupUpserts } from '../gateway/calls/rollup-sql.ts';
import { openDatabase, type Database } from '../gateway/db/client.ts';
import { silentLogger } from '../gateway/logger.ts';
import { routeStats } from '../gateway/routing/stats.ts';
import { sampleRecord } from '../test/helpers/sample-record.ts';
import { createScratchDatabase } from '../test/helpers/test-db.ts';

export const USAGE_GOAL_MS = 200;
export const VIEW_GOAL_MS = 300;

export interface RollupQueryResult {
  name: string;
  medianMs: number;
  goalMs: number;
  met: boolean;
}

export interface RollupsResult {
  rows: number;
  seedSeconds: { calls: number; indexes: number; rollups: number; total: number };
  rollupRows: { hourly: number; minute: number };
  queries: RollupQueryResult[];
  writer: { rowsPerSecond: number; batches: number; batchSize: number; medianBatchMs: number };
}

const MODELS = `array['gpt-4o-mini','gpt-4o','claude-haiku-4-5','claude-sonnet-4-5','llama3','o3-mini','gpt-4.1','gpt-4.1-mini','mistral-large','gemini-2.0-flash','qwen-72b','deepseek-v3']`;

export const SEED = (rows: number) => `
insert into calls (id, request_id, started_at, endpoint, api_key_id, route, variant, shadow, provider, model,
  prompt_name, prompt_version, stream, status, http_status, error_code, attempts, latency_ms, ttft_ms,
  overhead_ms, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
  cost_micros, cost_status, cost_saved_micros, cache_status, "user")
select
  (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12))::uuid,
  'req_' || g, ts, 'chat.completions',
  ('0190a0f0-0000-7000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
  'route-' || (k % 10), case when cand then 'candidate' else 'control' end, g % 50 = 7,
  case when m like 'claude%' then 'anthropic' else 'openai' end, m,
  'support', 1 + g % 4, g % 3 = 0,
  st, case st when 'ok' then 200 when 'client_error' then 400 when 'client_aborted' then 499 else 502 end,
  case when st <> 'ok' then st end,
  '[]'::jsonb,
  case when st = 'ok' then 80 * exp(random() * 2.5) else 30 + random() * 5000 end, null, 0.3,
  100 + g % 900, 10 + g % 300, g % 7, 0, g % 5,
  case when g % 25 = 0 then null else (g % 5000)::numeric end,
  case when g % 25 = 0 then 'unpriced' else 'exact' end,
  case when cs = 'hit' then (g % 3000)::numeric end, cs, 'user-' || (g % 5000)
from (
  select g, ts, k, cand, st, cs,
    case when g % 33 = 0 then 'gpt-4o-mini' else (${MODELS})[1 + ((k % 10) * 2 + cand::int) % 12] end as m,
    lpad(to_hex((extract(epoch from ts) * 1000)::bigint), 12, '0') || '7' || substr(md5(g::text), 1, 3) || '8' || substr(md5(g::text), 4, 15) as h
  from (
    select g, date_trunc('milliseconds', now() - random() * interval '30 days') as ts, g % 50 as k, (g / 50) % 10 = 0 as cand,
      case when g % 200 < 186 then 'ok' when g % 200 < 193 then 'upstream_error' when g % 200 = 193 then 'gateway_error'
           when g % 200 < 199 then 'client_error' else 'client_aborted' end as st,
      case when g % 10 = 0 then 'hit' when g % 10 < 8 then 'miss' when g % 10 = 8 then 'bypass' end as cs
    from generate_series(1, ${rows}) g
  ) t
) s`;

async function median(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(runs / 2)]!;
}

const secs = (ms: number) => Math.round(ms / 100) / 10;

export async function seed(database: Database, raw: postgres.Sql, rows: number, log: (s: string) => void): Promise<RollupsResult['seedSeconds']> {
  await new PartitionMaintainer({ database, logger: silentLogger, behindDays: 31, aheadDays: 3 }).runOnce();
  const indexes = await raw<{ indexname: string; indexdef: string }[]>`
    select indexname, indexdef from pg_indexes where tablename = 'calls' and indexname <> 'calls_pkey'`;
  for (const i of indexes) await raw.unsafe(`drop index ${i.indexname}`);
  let t = performance.now();
  await raw.unsafe(SEED(rows));
  const calls = performance.now() - t;
  log(`  calls: ${secs(calls)} s`);
  t = performance.now();
  // pg_indexes shows a partitioned index as `ON ONLY` (parent only); built here on every partition.
  for (const i of indexes) await raw.unsafe(i.indexdef.replace(' ON ONLY ', ' ON '));
  const idx = performance.now() - t;
  log(`  indexes: ${secs(idx)} s`);
  t = performance.now();
  const up = rollupUpserts('calls');
  await raw.unsafe(up.hourly);
  await raw.unsafe(up.minute);
  await raw.unsafe('analyze calls; analyze call_rollups; analyze call_rollups_minute');
  const roll = performance.now() - t;
  log(`  rollups + analyze: ${secs(roll)} s`);
  return { calls: secs(calls), indexes: secs(idx), rollups: secs(roll), total: secs(calls + idx + roll) };
}

async function writerThroughput(database: Database, batches: number, batchSize: number): Promise<RollupsResult['writer']> {
  const policy = compilePayloadPolicy({ enabled: true, maxBytes: 16_384, redactFields: ['api_key'], redactPatterns: [] });
  const filler = 'x'.repeat(200);
  const keys = Array.from({ length: 50 }, (_, k) => `0190a0f0-0000-7000-8000-${k.toString(16).padStart(12, '0')}`);
  const times: number[] = [];
  let total = 0;
  for (let b = 0; b <= batches; b++) {
    const now = Date.now();
    const rows = Array.from({ length: batchSize }, (_, i) => {
      const k = (b * batchSize + i) % 50;
      const r = sampleRecord({ apiKeyId: keys[k]!, route: `route-${k % 10}`, variant: i % 10 ? 'control' : 'candidate', latencyMs: 100 + (i % 900) }, new Date(now - (i % 1000)));
      r.requestBody = { ...(r.requestBody as object), note: `${i} ${filler}` };
      return toCallRow(r, policy, now);
    });
    const t = performance.now();
    await insertCallRows(database, rows);
    const ms = performance.now() - t;
    if (b > 0) {
      times.push(ms);
      total += ms;
    }
  }
  times.sort((a, c) => a - c);
  return { rowsPerSecond: Math.round((batches * batchSize) / (total / 1000)), batches, batchSize, medianBatchMs: Math.round(times[Math.floor(times.length / 2)]! * 10) / 10 };
}

/** Seeds `rows` calls into a scratch database on `url` and measures; the database is dropped afterwards. */
export async function runRollups(opts: { rows: number; url?: string; log?: (s: string) => void }): Promise<RollupsResult> {
  const url = opts.url ?? process.env.DATABASE_URL;
  if (!url) throw new Error('bench/rollups needs DATABASE_URL (a Postgres server; a scratch database is created and dropped there)');
  const log = opts.log ?? ((s: string) => console.log(s));
  const scratch = await createScratchDatabase(url);
  const database = await openDatabase({ url: scratch.url, max: 4 });
  const raw = postgres(scratch.url, { max: 1, onnotice: () => {} });
  try {
    await database.migrate();
    log(`seeding ${opts.rows.toLocaleString('en-US')} calls over 30 days …`);
    const seedSeconds = await seed(database, raw, opts.rows, log);
    const [counts] = await raw<{ hourly: number; minute: number }[]>`
      select (select count(*) from call_rollups)::int as hourly, (select count(*) from call_rollups_minute)::int as minute`;
    const usageGoal = opts.rows >= 10_000_000 ? USAGE_GOAL_MS : VIEW_GOAL_MS;
    const queries: RollupQueryResult[] = [];
    const add = (name: string, medianMs: number, goalMs: number) =>
      queries.push({ name, medianMs: Math.round(medianMs * 10) / 10, goalMs, met: medianMs < goalMs });
    // Ragged windows: they end now (as the API's default does), whatever the minute.
    const window = (days: number) => {
      const until = new Date();
      return { since: new Date(until.getTime() - days * 86_400_000 + 777), until };
    };
    for (const days of [30, 1]) {
      for (const group of ['day', 'model', 'key', 'team', 'route'] as UsageGroup[]) {
        add(`GET /api/usage?group_by=${group} (${days} d)`, await median(() => usageSummary(database, group, window(days))), usageGoal);
      }
    }
    for (const days of [30, 7, 1]) {
      const q = { route: 'route-3', variants: ['control', 'candidate'], control: 'control', ...window(days) };
      add(`route stats, route-3 (${days} d)`, await median(() => routeStats(database, q)), usageGoal);
    }
    for (const [range, days, stepMs] of [['30d', 30, 86_400_000], ['7d', 7, 21_600_000], ['24h', 1, 3_600_000], ['1h', 1 / 24, 300_000]] as const) {
      add(
        `overview ${range} (usage by day + series)`,
        await median(() => Promise.all([usageSummary(database, 'day', window(days)), usageSeries(database, { ...window(days), stepMs })])),
        VIEW_GOAL_MS,
      );
    }
    const writer = await writerThroughput(database, 20, 500);
    return { rows: opts.rows, seedSeconds, rollupRows: counts!, queries, writer };
  } finally {
    await raw.end();
    await database.close();
    await scratch.drop();
  }
}

export function rollupsConsole(r: RollupsResult): string {
  const lines = [
    `rollups at ${r.rows.toLocaleString('en-US')} calls: seeded in ${r.seedSeconds.total} s (calls ${r.seedSeconds.calls}, indexes ${r.seedSeconds.indexes}, rollups ${r.seedSeconds.rollups}); rollup rows ${r.rollupRows.hourly.toLocaleString('en-US')} hourly, ${r.rollupRows.minute.toLocaleString('en-US')} per-minute`,
    '| query (median of 5) | ms | goal | |',
    '|---|---|---|---|',
    ...r.queries.map((q) => `| ${q.name} | ${q.medianMs} | < ${q.goalMs} ms | ${q.met ? 'met' : 'not met'} |`),
    `writer insert statement (calls + payloads + rollups), ${r.writer.batches} × ${r.writer.batchSize}-row batches: ${r.writer.rowsPerSecond.toLocaleString('en-US')} rows/s (median batch ${r.writer.medianBatchMs} ms)`,
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000000' } } });
  const result = await runRollups({ rows: Number(values.rows) });
  console.log(rollupsConsole(result));
}
