import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';

export type HealthReport = () => Record<string, unknown>;

/** GET /healthz: liveness plus whatever counters the composition root reports. */
export function healthRoutes(report: HealthReport): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok', ...report() }));
  return app;
}
