import { Hono } from 'hono';
import { z } from 'zod';
import { decodeCursor, getCall, listCalls, usageSummary } from '../../calls/queries.ts';
import { STORED_CALL_STATUSES } from '../../calls/record.ts';
import type { Database } from '../../db/client.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { validate } from '../../pipeline/validate.ts';
import type { AppEnv } from '../env.ts';
import { usageSeriesRoutes } from './usage-series.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

const time = z
  .string()
  .refine((s) => ISO_TIME.test(s) && Number.isFinite(Date.parse(s)), {
    message: 'expected an ISO 8601 date or date-time with a zone, e.g. 2025-01-31 or 2025-01-31T12:00:00Z',
  })
  .transform((s) => new Date(s));
const name = z.string().min(1).max(512);

const listQuery = z.strictObject({
  since: time.optional(),
  until: time.optional(),
  route: name.optional(),
  model: name.optional(),
  status: z.enum(STORED_CALL_STATUSES).optional(),
  key: z.string().regex(UUID, 'expected an API key id (UUID)').optional(),
  user: name.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(256).optional(),
});

const usageQuery = z.strictObject({
  group_by: z.enum(['day', 'model', 'key', 'team', 'route']).default('day'),
  since: time.optional(),
  until: time.optional(),
});

const USAGE_DEFAULT_DAYS = 30;

function checkRange(since: Date | undefined, until: Date | undefined): void {
  if (since && until && since.getTime() >= until.getTime()) {
    throw new GatewayError('invalid_request', "'since' must be earlier than 'until'.", { param: 'since' });
  }
}

/**
 * The call log's admin API: `/calls` (filtered, keyset-paginated), `/calls/:id` (with the
 * payload) and `/usage` (totals by day, model, key or route). Mounted under /api.
 */
export function callRoutes(database: Pick<Database, 'db'>, clock: () => number = Date.now): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/calls', async (c) => {
    const q = validate(listQuery, c.req.query());
    checkRange(q.since, q.until);
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    if (cursor === null) {
      throw new GatewayError('invalid_request', "Invalid value for 'cursor': pass back a next_cursor this API returned.", {
        param: 'cursor',
      });
    }
    const page = await listCalls(database, q, q.limit, cursor);
    return c.json({ object: 'list', data: page.data, next_cursor: page.nextCursor });
  });

  app.get('/calls/:id', async (c) => {
    const id = c.req.param('id');
    const call = UUID.test(id) ? await getCall(database, id.toLowerCase()) : null;
    if (!call) throw new GatewayError('not_found', `No call with id '${id.slice(0, 64)}'.`, { param: 'id' });
    return c.json(call);
  });

  app.get('/usage', async (c) => {
    const q = validate(usageQuery, c.req.query());
    checkRange(q.since, q.until);
    const until = q.until ?? new Date(clock());
    const since = q.since ?? new Date(until.getTime() - USAGE_DEFAULT_DAYS * 86_400_000);
    checkRange(since, until);
    const data = await usageSummary(database, q.group_by, { since, until });
    return c.json({
      object: 'list',
      group_by: q.group_by,
      since: since.toISOString(),
      until: until.toISOString(),
      data,
    });
  });

  app.route('/', usageSeriesRoutes(database, clock));
  return app;
}
