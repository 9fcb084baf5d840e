import { Hono } from 'hono';
import { promptRoutes, type PromptResolver, type PromptStore } from '../prompts/index.ts';
import type { KeyStore } from './auth/key-store.ts';
import type { CacheServices } from './cache/index.ts';
import type { ResponsesStore } from './faces/responses/store.ts';
import { CallEvents } from './calls/call-events.ts';
import type { CallSink } from './calls/record.ts';
import type { CallLogStats } from './calls/writer.ts';
import type { Database } from './db/client.ts';
import { callRoutes } from './http/routes/calls.ts';
import { documentRoutes } from './http/routes/documents.ts';
import { routesApi } from './http/routes/routes-api.ts';
import type { RagService } from './rag/index.ts';
import type { Router } from './routing/router.ts';
import type { RouteWeightsStore } from './routing/weights-store.ts';
import type { SluiceConfig } from './config/schema.ts';
import { Governor } from './policy/governor.ts';
import type { LimitStore } from './governance/types.ts';
import type { Pricer } from './cost/pricing.ts';
import { GatewayError } from './errors/gateway-error.ts';
import type { AppEnv } from './http/env.ts';
import { errorHandler, renderError } from './http/error-handler.ts';
import { requireKey } from './http/middleware/auth.ts';
import { requestId } from './http/middleware/request-id.ts';
import { RejectionCounters } from './http/rejections.ts';
import { healthRoutes, type HealthReport } from './http/routes/health.ts';
import { inferenceRoutes } from './http/routes/inference.ts';
import { keyRoutes } from './http/routes/keys.ts';
import { teamRoutes } from './http/routes/teams.ts';
import type { Logger } from './logger.ts';
import { callLogLine } from './observability/call-log-line.ts';
import { Metrics } from './observability/metrics.ts';
import { propagateOnly, type Tracing } from './observability/tracing.ts';
import { providerEmbedder } from './pipeline/embed.ts';
import type { PipelineDeps } from './pipeline/deps.ts';
import { shadowTraffic } from './pipeline/shadow-call.ts';
import { createModelCatalog } from './pipeline/models.ts';
import type { Providers } from './providers/registry.ts';
import { createModelResolver } from './routing/resolve-model.ts';
import { uiRoutes } from './ui/index.ts';
import { DbSessionStore } from './ui/session-db.ts';

/** Everything the app needs, built by the composition root (gateway/server.ts) or a test. */
export interface AppDeps {
  config: SluiceConfig;
  database: Database;
  keys: KeyStore;
  cache: CacheServices;
  responses: ResponsesStore;
  rag: RagService;
  router: Router;
  weights: RouteWeightsStore;
  prompts: { store: PromptStore; resolver: PromptResolver };
  providers: Providers;
  calls: CallSink;
  /**
   * Where finished calls are announced. The app subscribes the call log (`calls`) and shadow
   * traffic; pass a bus to subscribe more (metrics, traces, budgets, online scoring).
   */
  events?: CallEvents;
  pricer: Pricer;
  /** Budgets and rate limits shared across instances; absent: key and team limits are not enforced (tests). */
  limits?: LimitStore | undefined;
  logger: Logger;
  /** Traces (DESIGN §4.5), per app; absent: no spans, a caller's traceparent is only recorded and passed on. */
  tracing?: Tracing | undefined;
  /** Monotonic milliseconds for durations (performance.now). */
  now: () => number;
  /** Wall clock in epoch milliseconds. */
  clock: () => number;
  random: () => number;
  health?: HealthReport;
  /** Requests turned away without a call row (401s); /healthz and /metrics read it. */
  rejections?: RejectionCounters;
  /** GET /metrics without a key (SLUICE_METRICS_PUBLIC=1); else an admin key is required. */
  metricsPublic?: boolean;
  /** false: no Prometheus metrics (SLUICE_METRICS=0): nothing observed per call, no /metrics. */
  metrics?: boolean;
  /** The call log's counters, for /metrics (read at scrape time). */
  callLogStats?: () => CallLogStats | { enabled: false };
  /** Open incidents, for /metrics (the eval extension owns them: gateway/ never imports evals/). */
  incidentsOpen?: (() => Promise<number>) | undefined;
  /** More admin routes under /api (the eval API, mounted by the CLI entry: gateway/ never imports evals/). */
  extraRoutes?: Array<{ path: string; app: Hono<AppEnv> }>;
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const rejections = deps.rejections ?? new RejectionCounters();
  const events = deps.events ?? new CallEvents((err) => deps.logger.error('a call-finished listener failed', { err: String(err) }));
  const tracker = { events, pricer: deps.pricer, now: deps.now, clock: deps.clock, tracing: deps.tracing ?? propagateOnly, sink: deps.calls };
  const resolveModel = createModelResolver(deps.config, deps.providers);
  // Key and team policies: allow-lists from memory, budgets and rate limits in the shared store.
  const governor = new Governor({
    store: deps.limits,
    pricer: deps.pricer,
    logger: deps.logger,
    events,
    clock: deps.clock,
    onStoreError: deps.config.governance.on_store_error,
    defaultMaxTokens: deps.config.governance.default_max_tokens,
  });
  const pipeline: PipelineDeps = {
    resolveModel,
    prompts: deps.prompts.resolver,
    maxN: deps.config.server.max_n,
    cache: deps.cache,
    cacheDefaults: deps.config.cache,
    routeCache: (route: string) => deps.config.routes[route]?.cache,
    embed: providerEmbedder(resolveModel),
    router: deps.router,
    rag: deps.rag,
    tracker,
    now: deps.now,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    governor,
  };
  // The call log first: a record is queued before anything else reacts to it.
  events.onFinished((e) => deps.calls.enqueue(e.record, e.rowStart), { first: true });
  events.onFinished(shadowTraffic(pipeline));
  // DESIGN §4.5: one JSON line per call.
  events.onFinished(callLogLine(deps.logger));
  const metrics = deps.metrics === false ? undefined : new Metrics({
    config: deps.config,
    providerNames: deps.providers.keys(),
    events,
    rejections,
    callLogStats: deps.callLogStats,
    incidentsOpen: deps.incidentsOpen,
  });

  app.use(requestId());
  const health = deps.health ?? (() => ({}));
  app.route('/', healthRoutes(() => ({ ...health(), governance: governor.stats() }), rejections));
  app.route(
    '/',
    inferenceRoutes({
      keys: deps.keys,
      pipeline,
      tracker,
      models: createModelCatalog(deps.providers, deps.logger, deps.clock, Object.keys(deps.config.routes)),
      responses: deps.responses,
      bodyLimitBytes: deps.config.server.body_limit_bytes,
    }),
  );
  if (metrics) {
    if (!deps.metricsPublic) app.use('/metrics', requireKey({ keys: deps.keys, scope: 'admin' }));
    app.get('/metrics', async (c) => c.body(await metrics.scrape(), 200, { 'content-type': metrics.contentType }));
  }
  // The dashboard (DESIGN §4.7) reads and changes everything through this app's own admin API.
  app.route('/ui', uiRoutes({ api: (path, init) => app.request(path, init), clock: deps.clock, sessions: new DbSessionStore(deps.database, { clock: deps.clock }), logError: (msg, fields) => deps.logger.error(msg, fields) }));
  app.use('/api/*', requireKey({ keys: deps.keys, scope: 'admin' }));
  const governance = { keys: deps.keys, spend: deps.limits?.spend.bind(deps.limits), clock: deps.clock };
  app.route('/api/keys', keyRoutes(governance));
  app.route('/api/teams', teamRoutes(governance));
  app.route('/api', callRoutes(deps.database, deps.clock));
  app.route('/api/documents', documentRoutes(deps.rag));
  for (const extra of deps.extraRoutes ?? []) app.route(`/api${extra.path}`, extra.app);
  app.route('/api/routes', routesApi({ router: deps.router, weights: deps.weights, database: deps.database, clock: deps.clock }));
  app.route('/api/prompts', promptRoutes<AppEnv>({ store: deps.prompts.store, actor: (c) => c.get('key').id ?? c.get('key').name }));

  app.notFound((c) =>
    renderError(new GatewayError('not_found', `Unknown endpoint: ${c.req.method} ${c.req.path.slice(0, 200)}`), c, deps.logger, rejections),
  );
  app.onError(errorHandler(deps.logger, rejections));
  return app;
}
