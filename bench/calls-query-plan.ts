/**
 * Query plans and latencies of the call-log admin API on 1M rows.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/calls-query-plan.ts [--rows 1000000]
 *
 * Creates a scratch database on that server (dropped at the end), gives it day partitions for
 * the last 31 days, generates the rows in SQL (generate_series; secondary indexes are built
 * after the load), then EXPLAIN (ANALYZE, BUFFERS)s each /api/calls query exactly as
 * gateway/calls/queries.ts builds it and times it through the same function. Not part of
 * `npm test`.
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { PartitionMaintainer } from '../gateway/calls/partitions.ts';
import { getCall, listCalls, listCallsQuery, usageSummary, type CallFilter } from '../gateway/calls/queries.ts';
import { openDatabase } from '../gateway/db/client.ts';
import { silentLogger } from '../gateway/logger.ts';
import { createScratchDatabase } from '../test/helpers/test-db.ts';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const ROWS = Number(args.rows);
const url = process.env.DATABASE_URL;
if (!url) {
  console.error('Set DATABASE_URL to a Postgres server (a scratch database is created and dropped there).');
  process.exit(2);
}

const MODELS = `array['gpt-4o-mini','gpt-4o-mini','gpt-4o-mini','gpt-4o','gpt-4o','claude-haiku-4-5','claude-sonnet-4-5','llama3','o3-mini','text-embedding-3-small','gpt-4.1','rare-model']`;

const GENERATE = (rows: number) => `
insert into calls (id, request_id, started_at, endpoint, api_key_id, route, variant, shadow, provider, model,
  prompt_name, prompt_version, stream, status, http_status, error_code, attempts, latency_ms, ttft_ms,
  overhead_ms, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
  cost_micros, cost_status, cache_status, "user", metadata)
select
  (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12))::uuid,
  'req_' || g, ts, 'chat.completions',
  ('0190a0f0-0000-7000-8000-' || lpad(to_hex(g % 20), 12, '0'))::uuid,
  'route-' || (g % 10), case when g % 10 = 0 then 'candidate' else 'control' end, g % 50 = 0,
  'openai', (${MODELS})[1 + (g % 12)],
  'support', 1 + g % 4, g % 3 = 0,
  case when g % 19 = 0 then 'upstream_error' when g % 97 = 0 then 'client_error' else 'ok' end,
  case when g % 19 = 0 then 502 when g % 97 = 0 then 400 else 200 end,
  case when g % 19 = 0 then 'upstream_error' end,
  '[{"provider":"openai","model":"gpt-4o-mini","status":200,"error":null,"latency_ms":400}]'::jsonb,
  200 + (g % 800), case when g % 3 = 0 then 80 + g % 50 end, 0.3,
  100 + g % 900, 10 + g % 300, 0, 0, 0,
  case when g % 25 = 0 then null else (g % 5000)::numeric end,
  case when g % 25 = 0 then 'unpriced' else 'exact' end, 'miss', 'user-' || (g % 5000), '{"team":"bench"}'::jsonb
from (
  select g, ts,
    lpad(to_hex((extract(epoch from ts) * 1000)::bigint), 12, '0') || '7' || substr(md5(g::text), 1, 3) || '8' || substr(md5(g::text), 4, 15) as h
  from (
    select g, date_trunc('milliseconds', now() - random() * interval '30 days') as ts
    from generate_series(1, ${rows}) g
  ) t
) s`;

function ms(n: number): string {
  return `${n.toFixed(2)} ms`;
}

async function time(fn: () => Promise<unknown>, runs = 25): Promise<{ p50: number; p95: number }> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(runs / 2)]!, p95: samples[Math.floor(runs * 0.95)]! };
}

const scratch = await createScratchDatabase(url);
const database = await openDatabase({ url: scratch.url, max: 4 });
const raw = postgres(scratch.url, { max: 1, onnotice: () => {} });
try {
  await database.migrate();
  await new PartitionMaintainer({ database, logger: silentLogger, behindDays: 31, aheadDays: 3 }).runOnce();

  // Build the secondary indexes after the load (as a bulk build), from their own definitions.
  const indexes = await raw<{ indexname: string; indexdef: string }[]>`
    select indexname, indexdef from pg_indexes where tablename = 'calls' and indexname <> 'calls_pkey'`;
  for (const i of indexes) await raw.unsafe(`drop index ${i.indexname}`);
  let t = performance.now();
  await raw.unsafe(GENERATE(ROWS));
  const loadMs = performance.now() - t;
  t = performance.now();
  // pg_indexes shows a partitioned index as `ON ONLY` (parent only); built here on every partition.
  for (const i of indexes) await raw.unsafe(i.indexdef.replace(' ON ONLY ', ' ON '));
  await raw.unsafe(`insert into call_payloads (call_id, started_at, request, response)
    select id, started_at, jsonb_build_object('model', model, 'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'hello ' || request_id))),
           '{"object":"chat.completion"}'::jsonb
    from calls where input_tokens % 10 = 0`);
  await raw.unsafe('analyze calls; analyze call_payloads');
  const indexMs = performance.now() - t;
  const [{ n }] = (await raw`select count(*)::int as n from calls`) as unknown as [{ n: number }];
  const parts = await raw`select count(*)::int as n from pg_inherits where inhparent = 'calls'::regclass`;
  console.log(`loaded ${n} rows in ${(loadMs / 1000).toFixed(1)} s, indexes + payloads + analyze ${(indexMs / 1000).toFixed(1)} s, ${parts[0]!.n} partitions of calls`);

  const now = Date.now();
  const [sample] = await raw<{ id: string; api_key_id: string; user: string }[]>`
    select id, api_key_id, "user" from calls where input_tokens % 10 = 0 order by started_at desc limit 1 offset 1000`;
  const page1 = await listCalls(database, {}, 50);
  let cursor = page1.nextCursor;
  for (let i = 0; i < 3 && cursor; i++) cursor = (await listCalls(database, {}, 50, decode(cursor))).nextCursor;

  function decode(c: string) {
    const [startedAt, id] = Buffer.from(c, 'base64url').toString().split('|') as [string, string];
    return { startedAt, id };
  }

  const cases: { name: string; filter: CallFilter; cursor?: string | null }[] = [
    { name: 'newest page, no filter', filter: {} },
    { name: 'page 5 (cursor), no filter', filter: {}, cursor },
    { name: 'model = gpt-4o', filter: { model: 'gpt-4o' } },
    { name: 'model = rare-model, last 24 h', filter: { model: 'rare-model', since: new Date(now - 86_400_000) } },
    { name: 'route = route-3 and status = upstream_error', filter: { route: 'route-3', status: 'upstream_error' } },
    { name: 'key, last 7 days', filter: { key: sample!.api_key_id, since: new Date(now - 7 * 86_400_000) } },
    { name: 'user = (one of 5000)', filter: { user: sample!.user } },
    {
      name: 'one-day window 3 days ago',
      filter: { since: new Date(now - 4 * 86_400_000), until: new Date(now - 3 * 86_400_000) },
    },
    { name: 'status = client_error', filter: { status: 'client_error' } },
  ];

  const summary: { query: string; p50: string; p95: string; rows: number }[] = [];
  for (const c of cases) {
    const cur = c.cursor ? decode(c.cursor) : undefined;
    const q = listCallsQuery(database, c.filter, 50, cur).toSQL();
    const plan = await raw.unsafe(`explain (analyze, buffers) ${q.sql}`, q.params as never[]);
    console.log(`\n=== ${c.name}\n${plan.map((r) => r['QUERY PLAN']).join('\n')}`);
    const rows = (await listCalls(database, c.filter, 50, cur)).data.length;
    const lat = await time(() => listCalls(database, c.filter, 50, cur));
    summary.push({ query: `GET /api/calls: ${c.name}`, p50: ms(lat.p50), p95: ms(lat.p95), rows });
  }

  const one = await time(() => getCall(database, sample!.id));
  const detail = await getCall(database, sample!.id);
  summary.push({ query: 'GET /api/calls/:id (with payload)', p50: ms(one.p50), p95: ms(one.p95), rows: detail?.payload ? 1 : 0 });
  const idPlan = await raw.unsafe(
    `explain (analyze, buffers) select * from calls c left join call_payloads p on p.call_id = c.id and p.started_at = c.started_at
       and p.started_at between $2::timestamptz - interval '1 minute' and $2::timestamptz + interval '1 minute'
     where c.id = $1 and c.started_at between $2::timestamptz - interval '1 minute' and $2::timestamptz + interval '1 minute'`,
    [sample!.id, new Date(Number.parseInt(sample!.id.slice(0, 8) + sample!.id.slice(9, 13), 16)).toISOString()],
  );
  console.log(`\n=== GET /api/calls/:id\n${idPlan.map((r) => r['QUERY PLAN']).join('\n')}`);

  for (const [group, days] of [['model', 30], ['day', 30], ['key', 7], ['route', 1]] as const) {
    const range = { since: new Date(now - days * 86_400_000), until: new Date(now) };
    const lat = await time(() => usageSummary(database, group, range), 5);
    summary.push({ query: `GET /api/usage?group_by=${group} (${days} d)`, p50: ms(lat.p50), p95: ms(lat.p95), rows: (await usageSummary(database, group, range)).length });
  }

  console.log('\n=== latencies (through gateway/calls/queries.ts, postgres.js, warm cache)');
  console.table(summary);
} finally {
  await raw.end();
  await database.close();
  await scratch.drop();
}
