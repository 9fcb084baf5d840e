import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleRecord } from '../../../test/helpers/sample-record.ts';
import { testDatabases } from '../../../test/helpers/test-db.ts';
import { CallLogWriter } from '../../calls/writer.ts';
import type { Database } from '../../db/client.ts';
import type { AppEnv } from '../../http/env.ts';
import { errorHandler } from '../../http/error-handler.ts';
import { callRoutes } from '../../http/routes/calls.ts';
import { silentLogger } from '../../logger.ts';
import { uiRoutes } from '../index.ts';

const ADMIN = 'sk-admin-secret-for-ui-tests-000001';
const NOW = Date.parse('2031-07-01T10:17:30Z');

describe.each(testDatabases())('dashboard overview on $kind', (target) => {
  let database: Database;
  let ui: Hono;

  beforeAll(async () => {
    database = await target.open();
    const spoolDir = await mkdtemp(join(tmpdir(), 'sluice-ui-'));
    const w = new CallLogWriter({ database, spoolDir, logger: silentLogger, payloads: { enabled: false, maxBytes: 0, redactFields: [], redactPatterns: [] } });
    // 1,200 calls over the last day (more than the 500 the charts used to sample), 1 in 6 an error.
    for (let i = 0; i < 1200; i++) {
      const error = i % 6 === 0;
      w.enqueue(sampleRecord({ status: error ? 'upstream_error' : 'ok', httpStatus: error ? 502 : 200, latencyMs: 100 + (i % 400) }, new Date(NOW - 1000 - i * 71_000)));
    }
    await w.close();
    await rm(spoolDir, { recursive: true, force: true });
    const api = new Hono<AppEnv>();
    api.onError(errorHandler(silentLogger));
    api.route('/api', callRoutes(database, () => NOW));
    api.get('/api/routes', (c) => c.json({ object: 'list', data: [] }));
    ui = uiRoutes({
      api: (path, init) =>
        new Headers(init.headers).get('authorization') === `Bearer ${ADMIN}` ? api.request(path, init) : Response.json({ error: { message: 'bad key' } }, { status: 401 }),
      clock: () => NOW,
      sessionTtlMs: 60_000,
    }) as unknown as Hono;
  });
  afterAll(async () => {
    await database.close();
  });

  it('charts every call of the range from the series, and totals them as /api/usage does', async () => {
    const login = await ui.request('/login', {
      method: 'POST',
      headers: { origin: 'http://localhost', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: ADMIN, next: '/ui' }).toString(),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const res = await ui.request('/?range=24h', { headers: { cookie } });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('data-testid="calls-total">1200<');
    expect(page).not.toContain('newest 500');
    const json = /id="chart-calls-data"[^>]*>([^<]*)</.exec(page)![1]!.replaceAll('&quot;', '"');
    const spec = JSON.parse(json) as { x: number[]; series: { label: string; values: number[] }[] };
    expect(spec.x).toHaveLength(25); // hourly buckets from the hour before `since`
    expect(spec.series[0]!.values.reduce((a, b) => a + b, 0)).toBe(1200);
    expect(spec.series[1]!.values.reduce((a, b) => a + b, 0)).toBe(200);
  });
});
