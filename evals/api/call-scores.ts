import { desc, eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { getCall } from '../../gateway/calls/queries.ts';
import type { Database } from '../../gateway/db/client.ts';
import { GatewayError } from '../../gateway/errors/gateway-error.ts';
import type { AppEnv } from '../../gateway/http/env.ts';
import { validate } from '../../gateway/pipeline/validate.ts';
import { callScores } from '../schema.ts';

/**
 * `GET /api/calls/{id}/scores` (admin scope; mounted at `/api/calls` by the CLI entry): every
 * score attached to one logged call in `call_scores`, newest first: online eval scores, eval
 * run scores of logged calls and user feedback. Bounded: at most `limit` rows (default 100,
 * max 500), and a row's `details` only when its JSON is at most DETAILS_MAX_BYTES.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DETAILS_MAX_BYTES = 8_192;
const query = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

export interface CallScoreRoutesDeps {
  database: Database;
}

export function callScoreRoutes(deps: CallScoreRoutesDeps): Hono<AppEnv> {
  const { database } = deps;
  const app = new Hono<AppEnv>();
  app.get('/:id/scores', async (c) => {
    const raw = c.req.param('id');
    if (!UUID.test(raw)) throw new GatewayError('invalid_request', `'${raw.slice(0, 64)}' is not a call id (a UUID).`, { param: 'id' });
    const { limit } = validate(query, c.req.query());
    const id = raw.toLowerCase();
    const rows = await database.db
      .select({
        id: callScores.id,
        scorer: callScores.scorer,
        score: callScores.score,
        label: callScores.label,
        reason: callScores.reason,
        source: callScores.source,
        runId: callScores.runId,
        details: sql<Record<string, unknown> | null>`case when octet_length(${callScores.details}::text) <= ${DETAILS_MAX_BYTES} then ${callScores.details} end`,
        detailsTruncated: sql<boolean>`coalesce(octet_length(${callScores.details}::text) > ${DETAILS_MAX_BYTES}, false)`,
        createdAt: callScores.createdAt,
      })
      .from(callScores)
      .where(eq(callScores.callId, id))
      .orderBy(desc(callScores.createdAt), desc(callScores.id))
      .limit(limit + 1);
    // Only an empty answer looks the call up: an unknown id is a 404, a call without scores an empty list.
    if (rows.length === 0 && !(await getCall(database, id))) throw new GatewayError('not_found', `No call with id '${raw}'.`, { param: 'id' });
    return c.json({
      object: 'list',
      call_id: id,
      data: rows.slice(0, limit).map((r) => ({
        id: r.id,
        object: 'call.score',
        scorer: r.scorer,
        score: r.score,
        label: r.label,
        reason: r.reason,
        source: r.source,
        run_id: r.runId,
        details: r.details,
        ...(r.detailsTruncated ? { details_truncated: true } : {}),
        created_at: new Date(r.createdAt).toISOString(),
      })),
      has_more: rows.length > limit,
    });
  });
  return app;
}
