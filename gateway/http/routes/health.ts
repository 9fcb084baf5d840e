import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import type { RejectionCounters } from '../rejections.ts';

export type HealthReport = () => Record<string, unknown>;

/**
 * GET /healthz: liveness plus whatever counters the composition root reports, and the
 * requests turned away without a call row (`rejections.unauthenticated`, …).
 */
export function healthRoutes(report: HealthReport, rejections?: RejectionCounters): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok', ...report(), ...(rejections ? { rejections: rejections.snapshot() } : {}) }));
  return app;
}
