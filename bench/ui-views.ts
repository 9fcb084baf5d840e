/**
 * Issue 19 item 5: how long each dashboard view takes on a large call log.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/ui-views.ts [--rows 1000000] [--runs 5] [--keep]
 *
 * Creates a scratch database on that server (dropped at the end), starts the real gateway on it
 * in-process (`sluice serve`'s eval extension, so every view has its API), creates keys, teams
 * and prompts through the admin API, then loads N calls over the last 30 days in SQL
 * (generate_series; secondary indexes built after the load) with payloads for 10% of them,
 * online scores for 5% and feedback for 0.5%, an eval run (run in-process) and incidents.
 * It signs in like a browser and times every view: a warm-up, then the median of `runs`
 * requests, each until the whole HTML is read, against the goal (300 ms). Not part of `npm test`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { runJob } from '../evals/runner.ts';
import { PartitionMaintainer } from '../gateway/calls/partitions.ts';
import { evalExtension } from '../gateway/cli/serve-command.ts';
import { openDatabase, type Database } from '../gateway/db/client.ts';
import { silentLogger } from '../gateway/logger.ts';
import { startGateway } from '../gateway/server.ts';
import { createScratchDatabase } from '../test/helpers/test-db.ts';

export interface UiViewsOptions {
  /** A Postgres server; a scratch database is created there and dropped at the end. */
  databaseUrl: string;
  rows?: number;
  /** Timed requests per view, after one warm-up. */
  runs?: number;
  goalMs?: number;
  log?: (line: string) => void;
  /** Leave the scratch database (its URL is logged) for EXPLAIN and reruns. */
  keep?: boolean;
}

export interface ViewTiming {
  view: string;
  path: string;
  status: number;
  bytes: number;
  medianMs: number;
  samplesMs: number[];
  met: boolean;
}

export interface UiViewsResult {
  rows: number;
  runs: number;
  goalMs: number;
  seed: { loadSeconds: number; indexSeconds: number; totalSeconds: number };
  views: ViewTiming[];
}

const ADMIN = 'sk-sluice-bench-ui-views-admin-000000001';
const DAY_MS = 86_400_000;
const ROUTES = [
  { name: 'support', variants: [['a', 'gpt-4o-mini'], ['b', 'gpt-4o']] },
  { name: 'search', variants: [['a', 'gpt-4o-mini'], ['b', 'claude-haiku-4-5']] },
  { name: 'summarize', variants: [['a', 'gpt-4.1']] },
  { name: 'triage', variants: [['a', 'o3-mini']] },
] as const;
const PROMPTS = ['support-answer', 'search-rewrite', 'summary'];

function config(): string {
  const routes = ROUTES.map((r) => `  ${r.name}:\n    variants: [${r.variants.map(([v, m]) => `{ name: ${v}, target: up/${m} }`).join(', ')}]\n`).join('');
  // The upstream is never called: every call of the bench is loaded in SQL.
  return `providers:\n  up: { type: openai-compatible, base_url: http://127.0.0.1:9/v1 }\nroutes:\n${routes}`;
}

/** The calls, as gateway/calls/insert.ts would write them: ids are UUIDv7 of their start time. */
function generateCalls(rows: number, keyIds: readonly string[]): string {
  const routes = `array[${ROUTES.map((r) => `'${r.name}'`).join(',')}]`;
  const variantOf = `case when r = 'summarize' or r = 'triage' or g % 10 >= 3 then 'a' else 'b' end`;
  const models = ROUTES.flatMap((r) => r.variants.map(([v, m]) => `when r = '${r.name}' and v = '${v}' then '${m}'`)).join(' ');
  return `
insert into calls (id, request_id, started_at, endpoint, api_key_id, route, variant, shadow, provider, model,
  prompt_name, prompt_version, stream, status, http_status, error_code, error_message, attempts, latency_ms, ttft_ms,
  overhead_ms, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
  cost_micros, cost_status, cache_status, "user", metadata)
select
  (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12))::uuid,
  'req_' || g, ts, 'chat.completions', (array[${keyIds.map((k) => `'${k}'`).join(',')}]::uuid[])[1 + g % ${keyIds.length}],
  r, v, g % 50 = 0, 'up', case ${models} end,
  case when g % 4 = 0 then null else (array[${PROMPTS.map((p) => `'${p}'`).join(',')}])[1 + g % ${PROMPTS.length}] end, case when g % 4 = 0 then null else 1 + g % 2 end,
  g % 3 = 0,
  case when g % 19 = 0 then 'upstream_error' when g % 97 = 0 then 'client_error' else 'ok' end,
  case when g % 19 = 0 then 502 when g % 97 = 0 then 400 else 200 end,
  case when g % 19 = 0 then 'upstream_error' when g % 97 = 0 then 'invalid_request' end,
  case when g % 19 = 0 then 'upstream answered 502' end,
  '[{"provider":"up","model":"gpt-4o-mini","status":200,"error":null,"latency_ms":400}]'::jsonb,
  200 + (g % 800), case when g % 3 = 0 then 80 + g % 50 end, 0.3,
  100 + g % 900, 10 + g % 300, 0, 0, 0,
  case when g % 25 = 0 then null else (g % 5000)::numeric end,
  case when g % 25 = 0 then 'unpriced' else 'exact' end,
  case when g % 7 = 0 then 'hit' else 'miss' end, 'user-' || (g % 5000), '{"team":"bench"}'::jsonb
from (
  select g, ts, r, ${variantOf} as v,
    lpad(to_hex((extract(epoch from ts) * 1000)::bigint), 12, '0') || '7' || substr(md5(g::text), 1, 3) || '8' || substr(md5(g::text), 4, 15) as h
  from (
    select g, date_trunc('milliseconds', now() - random() * interval '30 days') as ts, (${routes})[1 + (g / 7) % ${ROUTES.length}] as r
    from generate_series(1, ${rows}) g
  ) t
) s`;
}

/**
 * HOOK (issue 19 item 5): fill whatever summary tables the views read (the hourly rollups of
 * gateway/calls/rollup.ts), since the calls were loaded in SQL behind the writer's back. When
 * that module has no rebuild function (yet), this does nothing and says so.
 */
export async function fillRollups(database: Database, range: { since: Date; until: Date }, log: (line: string) => void): Promise<void> {
  const mod = (await import('../gateway/calls/rollup.ts').catch(() => null)) as { rebuildRollups?: (db: Database, r: { since: Date; until: Date }) => Promise<void> } | null;
  if (typeof mod?.rebuildRollups !== 'function') {
    log('rollups: no rebuildRollups in gateway/calls/rollup.ts; views read the calls table only');
    return;
  }
  const t = performance.now();
  try {
    await mod.rebuildRollups(database, range);
    log(`rollups rebuilt in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } catch (err) {
    // The harness measures whatever is there: a rebuild that fails is reported, not fatal.
    log(`ROLLUPS NOT BUILT (rebuildRollups failed: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}); the views read what there is`);
  }
}

async function seed(raw: postgres.Sql, database: Database, rows: number, keyIds: string[], log: (line: string) => void) {
  const indexes = await raw<{ indexname: string; indexdef: string }[]>`
    select indexname, indexdef from pg_indexes where tablename = 'calls' and indexname <> 'calls_pkey'`;
  for (const i of indexes) await raw.unsafe(`drop index ${i.indexname}`);
  let t = performance.now();
  await raw.unsafe(generateCalls(rows, keyIds));
  const loadSeconds = (performance.now() - t) / 1000;
  log(`loaded ${rows} calls in ${loadSeconds.toFixed(1)} s`);
  t = performance.now();
  // pg_indexes shows a partitioned index as `ON ONLY` (parent only); built here on every partition.
  for (const i of indexes) await raw.unsafe(i.indexdef.replace(' ON ONLY ', ' ON '));
  await raw.unsafe(`insert into call_payloads (call_id, started_at, request, response)
    select id, started_at,
      jsonb_build_object('model', route, 'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'question ' || request_id))),
      jsonb_build_object('object', 'chat.completion', 'choices', jsonb_build_array(jsonb_build_object('index', 0, 'finish_reason', 'stop',
        'message', jsonb_build_object('role', 'assistant', 'content', 'answer to ' || request_id))))
    from calls where input_tokens % 10 = 0`);
  // Scores carry their call's time and slice, as the writers copy them (evals/monitor/score-call-fields.ts).
  const callFields = `started_at, route, variant, prompt_name, prompt_version, (shadow = false and (metadata->>'sluice_eval_run') is null)`;
  await raw.unsafe(`insert into call_scores (id, call_id, scorer, score, reason, source, created_at, call_started_at, route, variant, prompt_name, prompt_version, production)
    select gen_random_uuid(), id, 'groundedness', (input_tokens % 11) / 10.0, null, 'online', started_at + interval '2 seconds', ${callFields}
    from calls where input_tokens % 20 = 0 and status = 'ok'`);
  await raw.unsafe(`insert into call_scores (id, call_id, scorer, score, label, reason, source, created_at, call_started_at, route, variant, prompt_name, prompt_version, production)
    select gen_random_uuid(), id, 'helpfulness', (output_tokens % 2)::float8, case when output_tokens % 2 = 0 then 'down' else 'up' end, 'from the widget', 'feedback', started_at + interval '1 minute', ${callFields}
    from calls where input_tokens % 200 = 0`);
  await raw.unsafe(`insert into incidents (id, monitor, scope, metric, value, baseline, detector, status, evidence, opened_at, resolved_at, resolved_by)
    select gen_random_uuid(), 'support-errors', '{"route":"support"}'::jsonb, 'error_rate', 0.12 + g / 1000.0, 0.05,
      '{"type":"threshold","max":0.05}'::jsonb, case when g <= 2 then 'open' else 'resolved' end,
      jsonb_build_object('window', '15m', 'samples', 400 + g), now() - g * interval '1 day',
      case when g <= 2 then null else now() - g * interval '1 day' + interval '1 hour' end, case when g <= 2 then null else 'auto' end
    from generate_series(1, 25) g`);
  await fillRollups(database, { since: new Date(Date.now() - 31 * DAY_MS), until: new Date() }, log);
  await raw.unsafe('analyze');
  const indexSeconds = (performance.now() - t) / 1000;
  log(`indexes, payloads, scores, incidents, rollups and analyze in ${indexSeconds.toFixed(1)} s`);
  return { loadSeconds, indexSeconds };
}

async function timeView(url: string, cookie: string, runs: number): Promise<{ status: number; bytes: number; samples: number[] }> {
  const once = async () => {
    const t = performance.now();
    const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    const body = await res.text();
    return { ms: performance.now() - t, status: res.status, bytes: Buffer.byteLength(body) };
  };
  const warm = await once();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push((await once()).ms);
  return { status: warm.status, bytes: warm.bytes, samples };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function benchUiViews(opts: UiViewsOptions): Promise<UiViewsResult> {
  const rows = opts.rows ?? 1_000_000;
  const runs = opts.runs ?? 5;
  const goalMs = opts.goalMs ?? 300;
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const scratch = await createScratchDatabase(opts.databaseUrl);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-ui-'));
  const raw = postgres(scratch.url, { max: 1, onnotice: () => {} });
  let database: Database | undefined;
  let gw: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    database = await openDatabase({ url: scratch.url, max: 4 });
    await database.migrate();
    await new PartitionMaintainer({ database, logger: silentLogger, behindDays: 31, aheadDays: 3 }).runOnce();
    writeFileSync(join(dir, 'sluice.yaml'), config());
    gw = await startGateway(
      { SLUICE_CONFIG: join(dir, 'sluice.yaml'), SLUICE_DATA_DIR: join(dir, 'data'), DATABASE_URL: scratch.url, SLUICE_ADMIN_KEY: ADMIN, PORT: '0' },
      silentLogger,
      evalExtension,
    );
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${gw!.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const json = (await res.json()) as Record<string, unknown>;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    for (const team of ['platform', 'support-team', 'research']) await api('POST', '/api/teams', { name: team, budget: { usd: 500, period: 'month' } });
    const keyIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const team = ['platform', 'support-team', 'research'][i % 4];
      const key = await api('POST', '/api/keys', { name: `app-${i}`, ...(team ? { team } : {}), ...(i % 2 ? { budget: { usd: 50 + i, period: i % 3 ? 'month' : 'day' } } : {}) });
      keyIds.push(String(key.id));
    }
    for (const name of PROMPTS) {
      await api('POST', '/api/prompts', { name, description: `bench prompt ${name}` });
      await api('POST', `/api/prompts/${name}/versions`, { messages: [{ role: 'system', content: `You are ${name}. Answer {{question}}.` }], message: 'first' });
      await api('POST', `/api/prompts/${name}/versions`, { messages: [{ role: 'system', content: `You are ${name}. Answer {{question}} briefly.` }], message: 'shorter' });
      await api('PUT', `/api/prompts/${name}/labels/production`, { version: 1 });
    }
    const seeded = await seed(raw, database, rows, keyIds, log);
    const evalRun = await runJob(
      {
        name: 'bench-refunds',
        dataset: { name: 'bench-refunds', items: Array.from({ length: 200 }, (_, i) => ({ id: `item-${i}`, input: `question ${i}`, output: i % 3 ? `Your refund ${i} is on its way.` : `Hello ${i}.` })) },
        scorers: [{ name: 'contains', as: 'mentions_refund', value: 'refund' }],
      },
      { database, client: null },
      'bench',
    );

    const login = await fetch(`${gw.url}/ui/login`, {
      method: 'POST',
      headers: { origin: gw.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: ADMIN, next: '/ui' }).toString(),
      redirect: 'manual',
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    if (login.status !== 303 || !cookie) throw new Error(`sign-in failed: HTTP ${login.status}`);

    const [one] = await raw<{ id: string }[]>`select c.id from calls c join call_scores s on s.call_id = c.id join call_payloads p on p.call_id = c.id and p.started_at = c.started_at order by c.started_at desc limit 1 offset 100`;
    const views: Array<[string, string]> = [
      ['overview (24h)', '/ui'],
      ['overview (7d)', '/ui?range=7d'],
      ['overview (30d)', '/ui?range=30d'],
      ['calls', '/ui/calls'],
      ['calls (route + status)', '/ui/calls?route=support&status=upstream_error'],
      ['calls (user)', '/ui/calls?user=user-42'],
      ['call', `/ui/calls/${one!.id}`],
      ['incidents', '/ui/incidents'],
      ['routes', '/ui/routes'],
      ['route (7d)', '/ui/routes/support'],
      ['route (30d)', '/ui/routes/support?since=30d'],
      ['prompts', '/ui/prompts'],
      ['prompt', `/ui/prompts/${PROMPTS[0]}`],
      ['evals', '/ui/evals'],
      ['eval run', `/ui/evals/${evalRun.runId}`],
      ['keys', '/ui/keys'],
    ];
    const out: ViewTiming[] = [];
    for (const [view, path] of views) {
      const t = await timeView(`${gw.url}${path}`, cookie, runs);
      const m = median(t.samples);
      out.push({ view, path, status: t.status, bytes: t.bytes, medianMs: m, samplesMs: t.samples, met: t.status === 200 && m < goalMs });
      log(`${view.padEnd(24)} ${path.slice(0, 60).padEnd(60)} ${String(t.status)} ${m.toFixed(1).padStart(8)} ms  ${t.status === 200 && m < goalMs ? 'met' : 'NOT MET'}`);
    }
    return { rows, runs, goalMs, seed: { ...seeded, totalSeconds: (performance.now() - started) / 1000 }, views: out };
  } finally {
    await gw?.close();
    await raw.end();
    await database?.close();
    if (opts.keep) log(`kept the database: ${scratch.url}`);
    else await scratch.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' }, keep: { type: 'boolean', default: false } } });
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('Set DATABASE_URL to a Postgres server (a scratch database is created and dropped there).');
    process.exit(2);
  }
  const result = await benchUiViews({ databaseUrl, rows: Number(values.rows), runs: Number(values.runs), keep: values.keep, log: (l) => console.log(l) });
  console.log(`\n${result.views.filter((v) => v.met).length}/${result.views.length} views under ${result.goalMs} ms (median of ${result.runs} after a warm-up) at ${result.rows} calls`);
  console.table(result.views.map((v) => ({ view: v.view, status: v.status, 'median ms': Number(v.medianMs.toFixed(1)), KiB: Number((v.bytes / 1024).toFixed(1)), goal: v.met ? 'met' : 'NOT MET' })));
}
