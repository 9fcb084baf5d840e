import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../db/client.ts';
import type { AppEnv } from '../env.ts';
import { errorHandler } from '../error-handler.ts';
import { silentLogger } from '../../logger.ts';
import { usageSeriesRoutes } from './usage-series.ts';

describe('GET /api/usage/series validation', () => {
  // Every case is refused before the database is touched.
  const untouched = { db: new Proxy({}, { get: () => { throw new Error('database touched'); } }) } as unknown as Pick<Database, 'db'>;
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(silentLogger));
  app.route('/api', usageSeriesRoutes(untouched, () => Date.parse('2031-01-01T00:00:00Z')));

  it.each([
    ['step=0m', 'step'],
    ['step=5s', 'step'],
    ['step=99999h', 'step'],
    ['step=1m&since=2030-01-01', 'step'], // a year of minutes: too many buckets
    ['since=2031-01-02', 'since'],
    ['since=yesterday', 'since'],
    ['group_by=day', null], // an unknown parameter
  ] as const)('refuses %s (400 naming %s)', async (query, param) => {
    const res = await app.request(`/api/usage/series?${query}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { param: string | null } };
    expect(body.error.param).toBe(param);
  });
});
