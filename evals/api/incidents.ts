import { and, desc, eq, inArray } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Database } from '../../gateway/db/client.ts';
import { GatewayError } from '../../gateway/errors/gateway-error.ts';
import type { AppEnv } from '../../gateway/http/env.ts';
import { validate } from '../../gateway/pipeline/validate.ts';
import type { ResolvedMonitor } from '../monitor/monitors.ts';
import { incidents, monitorStates, notificationDeliveries } from '../schema.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const listQuery = z.strictObject({
  status: z.enum(['open', 'resolved']).optional(),
  monitor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export interface IncidentRoutesDeps {
  database: Database;
  clock: () => number;
}

function incidentView(row: typeof incidents.$inferSelect, deliveries: Array<typeof notificationDeliveries.$inferSelect> = []) {
  return {
    id: row.id,
    monitor: row.monitor,
    scope: row.scope,
    metric: row.metric,
    value: row.value,
    baseline: row.baseline,
    detector: row.detector,
    status: row.status,
    evidence: row.evidence,
    opened_at: row.openedAt.toISOString(),
    acknowledged_at: row.acknowledgedAt?.toISOString() ?? null,
    resolved_at: row.resolvedAt?.toISOString() ?? null,
    resolved_by: row.resolvedBy,
    notifications: deliveries.map((d) => ({
      channel: d.channel,
      event: d.event,
      status: d.status,
      attempts: d.attempts,
      last_status: d.lastStatus,
      last_error: d.lastError,
      delivered_at: d.deliveredAt?.toISOString() ?? null,
    })),
  };
}

/**
 * `GET /api/incidents?status=open|resolved`, `GET /api/incidents/{id}` (with its
 * notifications and their tries), `POST /api/incidents/{id}/ack|resolve` (DESIGN §4.6).
 */
export function incidentRoutes(deps: IncidentRoutesDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const one = async (id: string) => {
    if (!UUID.test(id)) throw new GatewayError('invalid_request', 'expected an incident id (UUID)', { param: 'id' });
    const [row] = await deps.database.db.select().from(incidents).where(eq(incidents.id, id));
    if (!row) throw new GatewayError('not_found', `No incident with id '${id}'`, { param: 'id' });
    return row;
  };

  app.get('/', async (c) => {
    const q = validate(listQuery, c.req.query());
    const where = [...(q.status ? [eq(incidents.status, q.status)] : []), ...(q.monitor ? [eq(incidents.monitor, q.monitor)] : [])];
    const rows = await deps.database.db
      .select()
      .from(incidents)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(incidents.openedAt))
      .limit(q.limit);
    return c.json({ data: rows.map((r) => incidentView(r)) });
  });

  app.get('/:id', async (c) => {
    const row = await one(c.req.param('id'));
    const deliveries = await deps.database.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.incidentId, row.id));
    return c.json(incidentView(row, deliveries));
  });

  app.post('/:id/ack', async (c) => {
    const row = await one(c.req.param('id'));
    if (row.status === 'resolved') throw new GatewayError('conflict', 'the incident is already resolved', { param: 'id' });
    const [updated] = await deps.database.db
      .update(incidents)
      .set({ acknowledgedAt: row.acknowledgedAt ?? new Date(deps.clock()) })
      .where(eq(incidents.id, row.id))
      .returning();
    return c.json(incidentView(updated!));
  });

  app.post('/:id/resolve', async (c) => {
    const row = await one(c.req.param('id'));
    if (row.status === 'resolved') return c.json(incidentView(row));
    const who = c.get('key');
    const [updated] = await deps.database.db
      .update(incidents)
      .set({ status: 'resolved', resolvedAt: new Date(deps.clock()), resolvedBy: who?.name ?? who?.id ?? 'admin' })
      .where(and(eq(incidents.id, row.id), eq(incidents.status, 'open')))
      .returning();
    return c.json(incidentView(updated ?? row));
  });
  return app;
}

/** `GET /api/monitors`: every configured monitor with its last evaluation (value, samples, state, open incident). */
export function monitorRoutes(deps: { database: Database; monitors: readonly ResolvedMonitor[] }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/', async (c) => {
    const states = deps.monitors.length
      ? await deps.database.db.select().from(monitorStates).where(inArray(monitorStates.monitor, deps.monitors.map((m) => m.name)))
      : [];
    const byName = new Map(states.map((s) => [s.monitor, s]));
    return c.json({
      data: deps.monitors.map((m) => {
        const s = byName.get(m.name);
        return {
          name: m.name,
          scope: m.scope,
          metric: m.metric,
          detector: m.config.detector,
          window: m.config.window,
          min_samples: m.config.min_samples,
          notify: m.channels.map((ch) => ch.name),
          state: s?.state ?? 'not_evaluated',
          value: s?.value ?? null,
          samples: s?.samples ?? 0,
          evaluated_at: s?.evaluatedAt.toISOString() ?? null,
          open_incident: s?.openIncidentId ?? null,
        };
      }),
    });
  });
  return app;
}
