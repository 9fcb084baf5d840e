import {
  createMonitorRunner,
  createRollouts,
  promptRolloutRoutes,
  routeRolloutRoutes,
  callScoreRoutes,
  evalRoutes,
  feedbackRoutes,
  incidentRoutes,
  monitorRoutes,
  resolveMonitors,
  openEvalQueue,
  remoteGateway,
  resolveOnlineScoring,
  startOnlineScoring,
  startWorker,
  type RunningWorker,
} from '../../evals/index.ts';
import { count, eq } from 'drizzle-orm';
import { incidents } from '../../evals/schema.ts';
import { PromptStore } from '../../prompts/index.ts';
import { RouteWeightsStore } from '../routing/weights-store.ts';
import type { ExtendFn } from '../server.ts';
import type { SluiceEnv } from '../config/env.ts';
import { dataAccess } from './data-access.ts';
import type { CliIo } from './io.ts';

/** How long shutdown waits for an eval run in progress. */
const STOP_GRACE_MS = 10_000;

/**
 * The eval API (/api/evals, /api/feedback) is mounted by the CLI entry: gateway/ never imports
 * evals/. On embedded PGlite no `sluice worker` can share the database, so the server runs
 * queued eval jobs itself (one at a time), calling its own endpoints with the local admin
 * token: otherwise `POST /api/evals/runs` (and `sluice eval run` going through the server)
 * would wait for a worker that can never come.
 */
export const evalExtension: ExtendFn = async ({ database, config, logger, env, events }) => {
  // Checked before anything starts: a bad scorer in a route's online_scoring fails the start.
  const onlineRoutes = resolveOnlineScoring(config.routes, { payloadsLogged: config.logging.enabled && config.logging.payloads });
  const monitors = resolveMonitors(config.monitors, config.notifications);
  const queue = await openEvalQueue(database, { databaseUrl: env.DATABASE_URL, logger });
  // Judge scorers go through the queue: run by `sluice worker` on Postgres, by this server's own worker when embedded.
  const online = onlineRoutes.size > 0 ? startOnlineScoring(events, { database, routes: onlineRoutes, logger, queue }) : undefined;
  let worker: RunningWorker | undefined;
  let publicUrl: string | undefined;
  const intervalMs = config.monitoring.interval_seconds * 1000;
  // Rollouts change route weights and prompt label splits through stores of their own (not
  // started): the serving stores reload on the NOTIFY or their poll, within a second.
  const rollouts = createRollouts({
    database,
    routes: config.routes,
    weights: new RouteWeightsStore({ database, routes: config.routes }),
    prompts: new PromptStore(database),
    channels: Object.keys(config.notifications),
    logger,
    clock: Date.now,
    intervalMs,
  });
  const runner = createMonitorRunner({
    database,
    monitors,
    channels: config.notifications,
    rollouts,
    logger,
    clock: Date.now,
    intervalMs,
    baseUrl: () => publicUrl,
  });
  return {
    health: () => (online ? { online_scoring: online.stats() } : {}),
    // Read when /metrics is scraped: one indexed count, at the scraper's pace.
    incidentsOpen: async () => {
      const [row] = await database.db.select({ n: count() }).from(incidents).where(eq(incidents.status, 'open'));
      return row?.n ?? 0;
    },
    routes: [
      { path: '/evals', app: evalRoutes({ database, queue, clock: Date.now }) },
      { path: '/feedback', app: feedbackRoutes({ database }) },
      { path: '/calls', app: callScoreRoutes({ database }) },
      { path: '/incidents', app: incidentRoutes({ database, clock: Date.now }) },
      { path: '/monitors', app: monitorRoutes({ database, monitors }) },
      { path: '/routes', app: routeRolloutRoutes(rollouts) },
      { path: '/prompts', app: promptRolloutRoutes(rollouts) },
    ],
    async listening({ url, adminKey }) {
      // Monitors run in a serving gateway only (not in an in-process eval), every instance
      // ready to lead (evals/monitor/evaluator.ts).
      publicUrl = url;
      runner.start();
      if (database.kind !== 'pglite' || !adminKey) return;
      worker = await startWorker({ database, queue, client: remoteGateway(url, adminKey), prompts: new PromptStore(database), logger, concurrency: 1, schedules: [] });
    },
    async stop() {
      await runner.stop();
      await online?.stop();
      if (!worker) return queue.stop();
      // A run in hand would hold the shutdown for as long as it takes: wait a little, then leave
      // it. Its row stays `running` without heartbeats, and the next start re-claims and resumes
      // it (evals/queue/claim.ts), keeping the scores already stored.
      const stopped = worker.stop().then(
        () => true,
        () => true,
      );
      const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref());
      if (!(await Promise.race([stopped, timer]))) logger.warn('eval run still in progress at shutdown; the next start re-claims and resumes it once its heartbeat is stale (2 min)', { grace_ms: STOP_GRACE_MS });
    },
  };
};

/** `sluice migrate`: applies migrations, or says the server that owns the directory already did. */
export async function migrateCommand(env: SluiceEnv, io: CliIo): Promise<number> {
  const access = await dataAccess(env, 'migrate');
  if (access.kind === 'server') {
    // The server applied its migrations when it opened the database; they cannot change while it runs.
    io.out(`${access.server.describe()} owns ${env.SLUICE_DATA_DIR} and applied the migrations when it started; nothing to do\n`);
    return 0;
  }
  return access.withDatabase(async (database) => {
    io.out(`migrations applied (${database.kind})\n`);
    return 0;
  });
}
