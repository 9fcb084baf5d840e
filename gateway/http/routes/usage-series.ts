import { Hono } from 'hono';
import { z } from 'zod';
import { SERIES_MAX_BUCKETS, usageSeries } from '../../calls/rollup-series.ts';
import type { Database } from '../../db/client.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { validate } from '../../pipeline/validate.ts';
import type { AppEnv } from '../env.ts';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const time = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((s) => new Date(s))
  .refine((d) => Number.isFinite(d.getTime()), 'expected an ISO 8601 date or date-time with a zone');

const seriesQuery = z.strictObject({
  since: time.optional(),
  until: time.optional(),
  step: z
    .string()
    .regex(/^[1-9]\d{0,3}[mhd]$/, "expected a whole number of minutes, hours or days, e.g. '5m', '1h', '1d'")
    .default('1h'),
});

const DEFAULT_SPAN_MS = 86_400_000;

/**
 * `GET /usage/series?since=&until=&step=5m|1h|1d`: calls, errors, cost, ok latency p50/p95 and
 * cache hit rate per time bucket, from the per-minute rollup (what the dashboard overview
 * charts). Mounted under /api beside /usage.
 */
export function usageSeriesRoutes(database: Pick<Database, 'db'>, clock: () => number = Date.now): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/usage/series', async (c) => {
    const q = validate(seriesQuery, c.req.query());
    const until = q.until ?? new Date(clock());
    const since = q.since ?? new Date(until.getTime() - DEFAULT_SPAN_MS);
    if (since.getTime() >= until.getTime()) {
      throw new GatewayError('invalid_request', "'since' must be earlier than 'until'.", { param: 'since' });
    }
    const stepMs = Number(q.step.slice(0, -1)) * UNIT_MS[q.step.slice(-1) as keyof typeof UNIT_MS];
    if ((until.getTime() - since.getTime()) / stepMs > SERIES_MAX_BUCKETS - 1) {
      throw new GatewayError('invalid_request', `At most ${SERIES_MAX_BUCKETS} buckets: use a larger 'step' or a shorter window.`, {
        param: 'step',
      });
    }
    return c.json(await usageSeries(database, { since, until, stepMs }));
  });
  return app;
}
