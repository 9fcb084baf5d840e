import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { testDatabases } from '../../test/helpers/test-db.ts';
import { rowsOf, type Database } from '../db/client.ts';
import { silentLogger } from '../logger.ts';
import { usageSummary, type UsageGroup, type UsageRow } from './queries.ts';
import type { CallRecord } from './record.ts';
import { decodeHistogram, LATENCY_REL_ERROR } from './rollup-histogram.ts';
import { usageSeries } from './rollup-series.ts';
import { bucketed, fromCalls, HOUR_BUCKET, HOUR_KEYS, MEASURES, MINUTE_BUCKET } from './rollup-sql.ts';
import { rebuildRollups } from './rollup.ts';
import { CallLogWriter } from './writer.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2031-04-20T12:00:00Z');
const KEYS = ['0190a0f0-0000-7000-8000-0000000000a1', '0190a0f0-0000-7000-8000-0000000000a2', '0190a0f0-0000-7000-8000-0000000000a3'];
const TEAM = '0190a0f0-0000-7000-8000-0000000000f1';
const STATUSES = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'upstream_error', 'gateway_error', 'client_error', 'client_aborted'] as const;

/** A deterministic spread of calls over three days: keys, routes, variants, models, statuses, cache, costs (some unpriced). */
function fixture(n: number): CallRecord[] {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: CallRecord[] = [];
  for (let i = 0; i < n; i++) {
    const at = new Date(T0 - Math.floor(rnd() * 3 * DAY));
    const status = STATUSES[Math.floor(rnd() * STATUSES.length)]!;
    const priced = rnd() > 0.2;
    const cache = rnd();
    out.push(
      sampleRecord(
        {
          apiKeyId: rnd() > 0.1 ? KEYS[i % 3]! : null,
          route: i % 7 === 0 ? null : i % 2 ? 'support-bot' : 'search',
          variant: i % 7 === 0 ? null : rnd() > 0.3 ? 'control' : 'candidate',
          shadow: i % 11 === 0,
          model: ['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5'][i % 3]!,
          status,
          httpStatus: status === 'ok' ? 200 : 502,
          latencyMs: Math.round(20 + 3000 * rnd() ** 3) + 0.25,
          usage: rnd() > 0.1 ? { inputTokens: 50 + i, outputTokens: 10 + (i % 40), cachedInputTokens: i % 5, cacheWriteTokens: 0, reasoningTokens: i % 3 } : null,
          costMicros: priced ? 10 + (i % 97) + 0.5 : null,
          costStatus: priced ? 'exact' : 'unpriced',
          costSavedMicros: cache < 0.2 ? 33 : null,
          cacheStatus: cache < 0.2 ? 'hit' : cache < 0.6 ? 'miss' : cache < 0.8 ? 'bypass' : null,
        },
        at,
      ),
    );
  }
  return out;
}

/** The old /api/usage: the same totals straight from `calls`. */
async function rawUsage(database: Database, groupBy: UsageGroup, range: { since: Date; until: Date }): Promise<UsageRow[]> {
  const key: Record<UsageGroup, string> = {
    day: `to_char((started_at at time zone 'UTC')::date, 'YYYY-MM-DD')`,
    model: 'model',
    key: 'api_key_id::text',
    route: 'route',
    team: '(select k.team_id from api_keys k where k.id = api_key_id)::text',
  };
  const rows = rowsOf<Record<string, unknown>>(
    await database.db.execute(sql`
      select ${sql.raw(key[groupBy])} as key, count(*)::int as calls,
        coalesce(sum(input_tokens), 0)::float8 as input_tokens, coalesce(sum(output_tokens), 0)::float8 as output_tokens,
        sum(cost_micros)::text as cost, (count(*) filter (where cost_micros is null))::int as unpriced,
        (count(*) filter (where status <> 'ok'))::int as errors, (count(*) filter (where cache_status = 'hit'))::int as hits,
        (count(*) filter (where cache_status in ('hit', 'miss')))::int as looked, sum(cost_saved_micros)::text as saved
      from calls where started_at >= ${range.since.toISOString()}::timestamptz and started_at < ${range.until.toISOString()}::timestamptz
      group by 1 order by ${sql.raw(groupBy === 'day' ? '1' : '2 desc, 1')}`),
  );
  return rows.map((r) => ({
    key: (r.key as string | null) ?? null,
    calls: Number(r.calls),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
    cost_usd: r.cost === null ? null : Number(r.cost) / 1e6,
    unpriced: Number(r.unpriced),
    errors: Number(r.errors),
    cache_hits: Number(r.hits),
    cache_hit_rate: Number(r.looked) > 0 ? Number(r.hits) / Number(r.looked) : null,
    cost_saved_usd: r.saved === null ? 0 : Number(r.saved) / 1e6,
  }));
}

const FLOAT = new Set(['ok_latency_sum', 'ok_latency_sumsq', 'ok_cost_sum', 'ok_cost_sumsq']);

/** Every rollup row equals the aggregate of its calls (floats to 1e-9 relative: the summation order differs). */
async function expectRollupsMatchCalls(database: Database): Promise<void> {
  const cols = MEASURES.map((m) => m.col);
  const norm = (rows: Record<string, unknown>[], keys: string[]) =>
    new Map(rows.map((r) => [keys.map((k) => String(r[k])).join('|'), r]));
  for (const [table, bucket, keys] of [
    ['call_rollups', HOUR_BUCKET, ['bucket_ms', 'route', 'variant', 'shadow', 'provider', 'model', 'api_key_id']],
    ['call_rollups_minute', MINUTE_BUCKET, ['bucket_ms']],
  ] as const) {
    const keyList = keys.slice(1).join(', ');
    const exprs = table === 'call_rollups' ? [bucket, ...HOUR_KEYS.slice(1)] : [bucket];
    const aggregated = rowsOf<Record<string, unknown>>(await database.db.execute(sql.raw(fromCalls(exprs, bucketed('calls')))));
    const fromCallsRows = aggregated.map((r) => {
      const o: Record<string, unknown> = { ...r, bucket_ms: new Date(String(r.k0 instanceof Date ? r.k0.toISOString() : r.k0)).getTime() };
      keys.slice(1).forEach((k, i) => (o[k] = r[`k${i + 1}`]));
      return o;
    });
    const stored = rowsOf<Record<string, unknown>>(
      await database.db.execute(
        sql.raw(`select (extract(epoch from bucket) * 1000)::float8 as bucket_ms${keyList ? `, ${keyList}` : ''}, ${cols.join(', ')} from ${table}`),
      ),
    );
    expect(stored.length, table).toBe(fromCallsRows.length);
    const want = norm(fromCallsRows, [...keys]);
    for (const [k, row] of norm(stored, [...keys])) {
      const w = want.get(k);
      expect(w, `${table} ${k}`).toBeDefined();
      for (const c of cols) {
        if (c === 'ok_latency_hist') expect(decodeHistogram(row[c]), `${table} ${k} ${c}`).toEqual(decodeHistogram(w![c]));
        else if (FLOAT.has(c)) expect(Number(row[c])).toBeCloseTo(Number(w![c]), 6);
        else if (row[c] === null || w![c] === null) expect(row[c], `${table} ${k} ${c}`).toBe(w![c]);
        else expect(Number(row[c]), `${table} ${k} ${c}`).toBe(Number(w![c]));
      }
    }
  }
}

describe.each(testDatabases())('call rollups on $kind', (target) => {
  let database: Database;
  const records = fixture(600);

  async function write(recs: CallRecord[]): Promise<CallLogWriter> {
    const spoolDir = await mkdtemp(join(tmpdir(), 'sluice-rollup-'));
    const w = new CallLogWriter({
      database,
      spoolDir,
      logger: silentLogger,
      batchSize: 64,
      payloads: { enabled: false, maxBytes: 0, redactFields: [], redactPatterns: [] },
    });
    for (const r of recs) w.enqueue(r);
    await w.close();
    await rm(spoolDir, { recursive: true, force: true });
    return w;
  }

  beforeAll(async () => {
    database = await target.open();
    await database.db.execute(sql`insert into teams (id, name) values (${TEAM}, 'support')`);
    for (const [i, id] of KEYS.entries()) {
      await database.db.execute(
        sql`insert into api_keys (id, name, key_hash, prefix, scope, team_id) values (${id}, ${`k${i}`}, ${`h${i}`}, 'sk', 'inference', ${i < 2 ? TEAM : null})`,
      );
    }
    await write(records.slice(0, 400));
    // A replay of rows already written (the spool or the write-ahead log sends them again), and a
    // batch holding a row Postgres refuses: it fails whole, then goes in row by row.
    const replay = await write([...records.slice(300, 500), sampleRecord({ apiKeyId: 'not-a-uuid' }, new Date(T0 - HOUR)), ...records.slice(500)]);
    expect(replay.stats()).toMatchObject({ dropped: 1 });
  });
  afterAll(async () => {
    await database.close();
  });

  it('keeps every rollup row equal to the aggregate of its calls, after a replay and a refused row', async () => {
    const [row] = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from calls`));
    expect(row?.n).toBe(records.length);
    await expectRollupsMatchCalls(database);
  });

  it('answers /api/usage as the raw aggregate does, for every group and for ragged bounds', async () => {
    const windows = [
      { since: new Date(T0 - 4 * DAY), until: new Date(T0 + HOUR) },
      { since: new Date(T0 - 2 * DAY + 17 * 60_000 + 13_500), until: new Date(T0 - 5 * HOUR + 42 * 60_000 + 1) },
      { since: new Date(T0 - 30 * HOUR + 5 * 60_000), until: new Date(T0 - 30 * HOUR + 50 * 60_000) },
      { since: new Date(T0 - 31 * HOUR - 1), until: new Date(T0 - 29 * HOUR + 1) },
      { since: new Date(T0 - 2 * DAY), until: new Date(T0 - DAY) },
    ];
    for (const range of windows) {
      for (const group of ['day', 'model', 'key', 'team', 'route'] as const) {
        const got = await usageSummary(database, group, range);
        const want = await rawUsage(database, group, range);
        const round = (rows: UsageRow[]) => rows.map((r) => ({ ...r, cost_usd: r.cost_usd === null ? null : Number(r.cost_usd.toFixed(9)) }));
        expect(round(got), `${group} ${range.since.toISOString()}`).toEqual(round(want));
      }
    }
  });

  it('draws the overview series from the minute rollup: counts exact, percentiles within the bound', async () => {
    const range = { since: new Date(T0 - 3 * DAY), until: new Date(T0 + 60_000), stepMs: 6 * HOUR };
    const s = await usageSeries(database, range);
    expect(s.data).toHaveLength(13);
    expect(s.data.reduce((a, p) => a + p.calls, 0)).toBe(records.length);
    expect(s.data.reduce((a, p) => a + p.errors, 0)).toBe(records.filter((r) => r.status !== 'ok').length);
    const ok = records.filter((r) => r.status === 'ok').map((r) => r.latencyMs).sort((a, b) => a - b);
    const [exact] = rowsOf<{ p50: number; p95: number }>(
      await database.db.execute(sql`select percentile_cont(0.5) within group (order by latency_ms)::float8 as p50,
        percentile_cont(0.95) within group (order by latency_ms)::float8 as p95 from calls where status = 'ok'`),
    );
    expect(ok.length).toBeGreaterThan(100);
    for (const p of ['p50', 'p95'] as const) {
      const est = s.latency_ms[p]!;
      expect(Math.abs(est / exact![p] - 1), p).toBeLessThanOrEqual(LATENCY_REL_ERROR);
    }
    const empty = await usageSeries(database, { since: new Date(T0 + DAY), until: new Date(T0 + DAY + HOUR), stepMs: 300_000 });
    expect(empty.data.map((p) => [p.calls, p.cost_usd, p.latency_p50_ms, p.cache_hit_rate])).toEqual(new Array(12).fill([0, 0, null, null]));
  });

  it('rebuilds rollups from calls for rows that came in some other way', async () => {
    await database.db.execute(sql`delete from call_rollups where bucket >= ${new Date(T0 - DAY).toISOString()}::timestamptz`);
    await database.db.execute(sql`delete from call_rollups_minute`);
    await rebuildRollups(database, { since: new Date(T0 - 4 * DAY), until: new Date(T0 + HOUR) });
    await expectRollupsMatchCalls(database);
  });
});
