import { and, desc, eq, type SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Database } from '../../gateway/db/client.ts';
import { GatewayError } from '../../gateway/errors/gateway-error.ts';
import type { AppEnv } from '../../gateway/http/env.ts';
import { readJsonObject } from '../../gateway/http/read-json.ts';
import { validate } from '../../gateway/pipeline/validate.ts';
import { JobError, parseJob } from '../job.ts';
import { driftReport } from '../monitor/drift-query.ts';
import { scoreSeries } from '../monitor/timeseries-query.ts';
import type { EvalQueue } from '../queue/types.ts';
import { itemResults } from '../run/results.ts';
import { getRun, insertRun, itemOrder, runScores } from '../run/store.ts';
import { DATASET_TARGET } from '../run/unit.ts';
import { evalRuns } from '../schema.ts';
import { runView } from './views.ts';

/**
 * `/api/evals` (DESIGN §4.3, admin scope; mounted by the app): submit and read runs, and the
 * monitoring views over scored production traffic.
 */
export interface EvalRoutesDeps {
  database: Database;
  /** Where submitted runs go (evals/queue `openEvalQueue`). */
  queue: Pick<EvalQueue, 'submit'>;
  clock?: () => number;
}

const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;
const time = z
  .string()
  .refine((s) => ISO.test(s) && Number.isFinite(Date.parse(s)), { message: 'expected an ISO 8601 date or date-time, e.g. 2025-01-31T12:00:00Z' })
  .transform((s) => new Date(s));
const sliceQuery = {
  route: z.string().min(1).max(512).optional(),
  variant: z.string().min(1).max(512).optional(),
  prompt: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(@\d+)?$/, "expected 'name' or 'name@<version>'").optional(),
  scorer: z.string().min(1).max(200).optional(),
};
const seriesQuery = z.strictObject({
  ...sliceQuery,
  source: z.enum(['eval', 'feedback', 'online']).optional(),
  since: time.optional(),
  until: time.optional(),
  reference_days: z.coerce.number().int().min(1).max(365).optional(),
});
const driftQuery = z.strictObject({ ...sliceQuery, since: time.optional(), until: time.optional(), reference_since: time.optional(), reference_until: time.optional() });
const listQuery = z.strictObject({ name: z.string().max(200).optional(), status: z.enum(['queued', 'running', 'succeeded', 'failed']).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) });

const DAY = 86_400_000;

function range(since: Date | undefined, until: Date | undefined, now: number, days: number): { since: Date; until: Date } {
  const u = until ?? new Date(now);
  const s = since ?? new Date(u.getTime() - days * DAY);
  if (s.getTime() >= u.getTime()) throw new GatewayError('invalid_request', "'since' must be earlier than 'until'.", { param: 'since' });
  return { since: s, until: u };
}

export function evalRoutes(deps: EvalRoutesDeps): Hono<AppEnv> {
  const { database } = deps;
  const clock = deps.clock ?? Date.now;
  const app = new Hono<AppEnv>();

  app.post('/runs', async (c) => {
    const body = await readJsonObject(c);
    if (body.job === undefined) throw new GatewayError('invalid_request', "Missing 'job': send {\"job\": {…}} (the job file's object).", { param: 'job' });
    let job;
    try {
      job = parseJob(body.job).job;
    } catch (err) {
      if (err instanceof JobError) throw new GatewayError('invalid_request', err.message, { param: 'job' });
      throw err;
    }
    const actor = c.get('key').name;
    const id = await insertRun(database, { name: job.name, job: body.job as Record<string, unknown>, mode: job.mode, trigger: `api:${actor}`, status: 'queued' });
    await deps.queue.submit(id);
    return c.json({ id, object: 'eval.run', status: 'queued' }, 202);
  });

  app.get('/runs', async (c) => {
    const q = validate(listQuery, c.req.query());
    const where: SQL[] = [];
    if (q.name !== undefined) where.push(eq(evalRuns.name, q.name));
    if (q.status !== undefined) where.push(eq(evalRuns.status, q.status));
    const rows = await database.db.select().from(evalRuns).where(and(...where)).orderBy(desc(evalRuns.createdAt), desc(evalRuns.id)).limit(q.limit);
    return c.json({ object: 'list', data: rows.map((r) => ({ ...runView(r), job: undefined })) });
  });

  app.get('/runs/:id', async (c) => {
    const run = await getRun(database, c.req.param('id'));
    if (!run) throw new GatewayError('not_found', `No eval run with id '${c.req.param('id').slice(0, 64)}'.`, { param: 'id' });
    return c.json(runView(run));
  });

  app.get('/runs/:id/results', async (c) => {
    const run = await getRun(database, c.req.param('id'));
    if (!run) throw new GatewayError('not_found', `No eval run with id '${c.req.param('id').slice(0, 64)}'.`, { param: 'id' });
    const rows = await runScores(database, run.id);
    let order = { targets: [DATASET_TARGET], scorers: [...new Set(rows.map((r) => r.scorer))] };
    try {
      const { job, scorers } = parseJob(run.job);
      order = { targets: [DATASET_TARGET, ...job.targets.map((t) => t.name)], scorers: scorers.map((s) => s.key) };
    } catch {
      // A job stored under an older schema: keep the stored order.
    }
    const items = itemResults(rows, { items: await itemOrder(database, run.datasetName, run.datasetVersion), ...order });
    return c.json({ run_id: run.id, status: run.status, summary: run.summary ?? null, items });
  });

  app.get('/timeseries', async (c) => {
    const q = validate(seriesQuery, c.req.query());
    const r = range(q.since, q.until, clock(), 30);
    const series = await scoreSeries(database, { ...q, ...r, ...(q.reference_days ? { chart: { reference_days: q.reference_days } } : {}) });
    return c.json({ object: 'eval.timeseries', since: r.since.toISOString(), until: r.until.toISOString(), series });
  });

  app.get('/drift', async (c) => {
    const q = validate(driftQuery, c.req.query());
    const current = range(q.since, q.until, clock(), 1);
    const span = current.until.getTime() - current.since.getTime();
    const reference = range(q.reference_since, q.reference_until ?? current.since, current.since.getTime(), Math.max(7, span / DAY));
    return c.json(await driftReport(database, { ...q, current, reference }));
  });

  return app;
}
