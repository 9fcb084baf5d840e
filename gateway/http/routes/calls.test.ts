import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/helpers/test-db.ts';
import type { CallRecord } from '../../calls/record.ts';
import { sampleRecord } from '../../../test/helpers/sample-record.ts';
import { CallLogWriter } from '../../calls/writer.ts';
import type { Database } from '../../db/client.ts';
import { silentLogger } from '../../logger.ts';
import type { AppEnv } from '../env.ts';
import { errorHandler } from '../error-handler.ts';
import { callRoutes } from './calls.ts';

const KEY_A = '0190a0f0-0000-7000-8000-00000000000a';
const KEY_B = '0190a0f0-0000-7000-8000-00000000000b';
const DAY = 86_400_000;
const T0 = Date.parse('2031-06-15T12:00:00Z');

interface ListBody {
  object: string;
  data: { id: string; started_at: string; model: string; route: string; status: string; api_key_id: string; user: string }[];
  next_cursor: string | null;
}

/** 60 calls over three days; every fourth is an error; two models, two routes, two keys. */
function fixture(): CallRecord[] {
  const out: CallRecord[] = [];
  for (let i = 0; i < 60; i++) {
    // Pairs share a start time so pagination has ties to break on id.
    const at = new Date(T0 - (i % 3) * DAY + Math.floor(i / 2) * 1000);
    const error = i % 4 === 0;
    out.push(
      sampleRecord(
        {
          id: uuidv7({ msecs: at.getTime() }),
          model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini',
          route: i % 5 === 0 ? 'search' : 'support-bot',
          apiKeyId: i % 3 === 0 ? KEY_B : KEY_A,
          user: `user-${i % 4}`,
          status: error ? 'upstream_error' : 'ok',
          httpStatus: error ? 502 : 200,
          usage: { inputTokens: 100 + i, outputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
          costMicros: i % 10 === 9 ? null : 1000,
          costStatus: i % 10 === 9 ? 'unpriced' : 'exact',
        },
        at,
      ),
    );
  }
  return out;
}

describe.each(testDatabases())('call log API on $kind', (target) => {
  let database: Database;
  let app: Hono<AppEnv>;
  const records = fixture();

  const get = async <T = ListBody>(path: string): Promise<{ status: number; body: T }> => {
    const res = await app.request(path);
    return { status: res.status, body: (await res.json()) as T };
  };
  const expectIds = (recs: CallRecord[]) =>
    [...recs]
      .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : -1))
      .map((r) => r.id);

  beforeAll(async () => {
    database = await target.open();
    const spoolDir = await mkdtemp(join(tmpdir(), 'sluice-spool-'));
    const writer = new CallLogWriter({
      database,
      spoolDir,
      logger: silentLogger,
      payloads: { enabled: true, maxBytes: 4096, redactFields: [], redactPatterns: [] },
    });
    for (const r of records) writer.enqueue(r);
    await writer.close();
    await rm(spoolDir, { recursive: true, force: true });
    app = new Hono<AppEnv>();
    app.route('/api', callRoutes(database, () => T0 + DAY));
    app.onError(errorHandler(silentLogger));
  });
  afterAll(async () => {
    await database.close();
  });

  it('lists newest first with the default limit', async () => {
    const { status, body } = await get('/api/calls');
    expect(status).toBe(200);
    expect(body.object).toBe('list');
    expect(body.data).toHaveLength(50);
    expect(body.data.map((c) => c.id)).toEqual(expectIds(records).slice(0, 50));
    expect(body.next_cursor).toEqual(expect.any(String));
    expect(body.data[0]).toMatchObject({ object: 'call', usage: { input_tokens: expect.any(Number) } });
  });

  it('filters by model, route, status, key, user and time, alone and combined', async () => {
    const cases: [string, (r: CallRecord) => boolean][] = [
      ['model=gpt-4o', (r) => r.model === 'gpt-4o'],
      ['route=search', (r) => r.route === 'search'],
      ['status=upstream_error', (r) => r.status === 'upstream_error'],
      [`key=${KEY_B}`, (r) => r.apiKeyId === KEY_B],
      ['user=user-1', (r) => r.user === 'user-1'],
      [
        `since=${new Date(T0 - DAY).toISOString()}&until=${new Date(T0).toISOString()}`,
        (r) => r.startedAt.getTime() >= T0 - DAY && r.startedAt.getTime() < T0,
      ],
      ['model=gpt-4o-mini&status=ok&route=support-bot', (r) => r.model === 'gpt-4o-mini' && r.status === 'ok' && r.route === 'support-bot'],
    ];
    for (const [query, keep] of cases) {
      const { status, body } = await get(`/api/calls?limit=500&${query}`);
      expect(status, query).toBe(200);
      expect(body.data.map((c) => c.id), query).toEqual(expectIds(records.filter(keep)));
      expect(body.next_cursor).toBeNull();
    }
  });

  it('pages through everything with the cursor: no duplicates, no gaps, ties broken by id', async () => {
    for (const query of ['', '&model=gpt-4o']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { body: ListBody } = await get(`/api/calls?limit=7${query}${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.body.data.map((c) => c.id));
        cursor = page.body.next_cursor;
        pages++;
      } while (cursor && pages < 50);
      const expected = expectIds(query ? records.filter((r) => r.model === 'gpt-4o') : records);
      expect(seen).toEqual(expected);
    }
  });

  it('returns one call with its payload, and 404 for an unknown id', async () => {
    const rec = records[7]!;
    const { status, body } = await get<Record<string, unknown>>(`/api/calls/${rec.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: rec.id,
      started_at: rec.startedAt.toISOString(),
      model: rec.model,
      cost_micros: 1000,
      cost_usd: 0.001,
      payload: { request: rec.requestBody, response: rec.responseBody, truncated: false },
    });

    const missing = await get<{ error: { code: string; param: string } }>(`/api/calls/${uuidv7()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'not_found', param: 'id' });
    expect((await get(`/api/calls/not-a-uuid`)).status).toBe(404);
    expect((await get(`/api/calls/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  it('rejects bad parameters with a 400 naming them', async () => {
    const cases: [string, string][] = [
      ['/api/calls?since=yesterday', 'since'],
      ['/api/calls?until=2031-13-45', 'until'],
      ['/api/calls?limit=0', 'limit'],
      ['/api/calls?limit=501', 'limit'],
      ['/api/calls?status=weird', 'status'],
      ['/api/calls?key=abc', 'key'],
      ['/api/calls?cursor=bm9wZQ', 'cursor'],
      ['/api/calls?since=2031-06-15&until=2031-06-14', 'since'],
      ['/api/usage?group_by=week', 'group_by'],
    ];
    for (const [path, param] of cases) {
      const { status, body } = await get<{ error: { code: string; param: string | null; message: string } }>(path);
      expect(status, path).toBe(400);
      expect(body.error.param, path).toBe(param);
      expect(body.error.message, path).toContain(param);
    }
    expect((await get('/api/calls?modle=x')).status).toBe(400);
  });

  it('sums usage grouped by day, model, key and route', async () => {
    type UsageBody = {
      group_by: string;
      data: { key: string | null; calls: number; input_tokens: number; output_tokens: number; cost_usd: number | null; unpriced: number; errors: number }[];
    };
    const total = (recs: CallRecord[]) => ({
      calls: recs.length,
      input_tokens: recs.reduce((s, r) => s + (r.usage?.inputTokens ?? 0), 0),
      output_tokens: recs.length * 10,
      cost_usd: recs.some((r) => r.costMicros !== null) ? recs.reduce((s, r) => s + (r.costMicros ?? 0), 0) / 1e6 : null,
      unpriced: recs.filter((r) => r.costMicros === null).length,
      errors: recs.filter((r) => r.status !== 'ok').length,
      cache_hits: recs.filter((r) => r.cacheStatus === 'hit').length,
      cache_hit_rate: recs.some((r) => r.cacheStatus === 'hit' || r.cacheStatus === 'miss')
        ? recs.filter((r) => r.cacheStatus === 'hit').length / recs.filter((r) => r.cacheStatus === 'hit' || r.cacheStatus === 'miss').length
        : null,
      cost_saved_usd: recs.reduce((s, r) => s + (r.costSavedMicros ?? 0), 0) / 1e6,
    });
    const groups: [string, (r: CallRecord) => string | null][] = [
      ['day', (r) => r.startedAt.toISOString().slice(0, 10)],
      ['model', (r) => r.model],
      ['key', (r) => r.apiKeyId],
      ['route', (r) => r.route],
    ];
    for (const [groupBy, keyOf] of groups) {
      const { status, body } = await get<UsageBody>(`/api/usage?group_by=${groupBy}`);
      expect(status).toBe(200);
      expect(body.group_by).toBe(groupBy);
      const expected = new Map<string | null, CallRecord[]>();
      for (const r of records) expected.set(keyOf(r), [...(expected.get(keyOf(r)) ?? []), r]);
      expect(body.data).toHaveLength(expected.size);
      for (const row of body.data) {
        const want = total(expected.get(row.key)!);
        expect({ ...row, cost_usd: row.cost_usd === null ? null : Number(row.cost_usd.toFixed(6)) }).toEqual({ key: row.key, ...want });
      }
    }
    const days = (await get<UsageBody>('/api/usage?group_by=day')).body.data.map((r) => r.key);
    expect(days).toEqual(['2031-06-13', '2031-06-14', '2031-06-15']);
    const narrow = await get<UsageBody>(`/api/usage?group_by=model&since=2031-06-15&until=2031-06-16`);
    expect(narrow.body.data.reduce((s, r) => s + r.calls, 0)).toBe(20);
  });
});
