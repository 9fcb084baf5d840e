import { PromptResolver, PromptStore } from '../prompts/index.ts';
import { performance } from 'node:perf_hooks';
import { KeyStore } from './auth/key-store.ts';
import { compilePayloadPolicy } from './calls/payloads.ts';
import { providerSecrets } from './providers/scrub-secrets.ts';
import { DEFAULT_RESPONSES_RETENTION_DAYS, ResponsesRetention } from './faces/responses/retention.ts';
import { ResponsesStore } from './faces/responses/store.ts';
import { providerEmbedder } from './pipeline/embed.ts';
import { createRag, type RagService } from './rag/index.ts';
import { createModelResolver } from './routing/resolve-model.ts';
import { HOW_TO_CREATE_A_PROMPT, routePromptProblems } from './routing/prompt-check.ts';
import { Router } from './routing/router.ts';
import { RouteWeightsStore } from './routing/weights-store.ts';
import { createCache, type CacheServices } from './cache/index.ts';
import type { SluiceConfig } from './config/schema.ts';
import { openLimitStore } from './governance/limits.ts';
import type { LimitStore } from './governance/types.ts';
import { createPricer, type PriceOverride, type Pricer } from './cost/pricing.ts';
import type { Database } from './db/client.ts';
import type { Logger } from './logger.ts';
import { closeProviders, createProviders, type Providers } from './providers/registry.ts';

/** The long-lived stores and clients the app is built from, started and stopped together. */
export interface Services {
  responses: ResponsesStore;
  rag: RagService;
  router: Router;
  weights: RouteWeightsStore;
  keys: KeyStore;
  cache: CacheServices;
  prompts: { store: PromptStore; resolver: PromptResolver };
  providers: Providers;
  pricer: Pricer;
  limits: LimitStore;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  adminKey?: string | undefined;
  /** Also accepted as an admin key: the embedded server's local token for the CLI (gateway/db/data-dir-owner.ts). */
  localAdminKey?: string | undefined;
  redisUrl?: string | undefined;
  /** Replaces the providers built from config (tests). */
  providers?: Providers | undefined;
  logger: Logger;
}

function pricingOverrides(config: SluiceConfig): Record<string, PriceOverride> {
  const out: Record<string, PriceOverride> = {};
  for (const [model, p] of Object.entries(config.pricing.overrides)) {
    out[model] = {
      input: p.input,
      ...(p.output === undefined ? {} : { output: p.output }),
      ...(p.cached_input === undefined ? {} : { cachedInput: p.cached_input }),
      ...(p.cache_write === undefined ? {} : { cacheWrite: p.cache_write }),
      ...(p.reasoning === undefined ? {} : { reasoning: p.reasoning }),
    };
  }
  return out;
}

export async function startServices(config: SluiceConfig, database: Database, opts: ServiceOptions): Promise<Services> {
  const keys = new KeyStore(database, { adminKey: opts.adminKey, localAdminKey: opts.localAdminKey });
  await keys.start({ onError: (err) => opts.logger.warn('key refresh failed', { err: err instanceof Error ? err.message : String(err) }) });
  const store = new PromptStore(database);
  const resolver = new PromptResolver({
    store,
    onError: (err) => opts.logger.warn('prompt refresh failed', { err: err instanceof Error ? err.message : String(err) }),
  });
  await resolver.start();
  const providers = opts.providers ?? createProviders(config, { now: Date.now });
  try {
    for (const problem of await routePromptProblems(config, store)) {
      opts.logger.warn(`${problem}: calls to it answer 404 until it exists; ${HOW_TO_CREATE_A_PROMPT}`);
    }
  } catch (err) {
    resolver.stop();
    await keys.stop();
    await closeProviders(providers);
    throw err;
  }
  const rag = createRag({
    database,
    config: { retrievers: config.retrievers, routes: config.routes },
    embed: providerEmbedder(createModelResolver(config, providers)),
    logger: opts.logger,
  });
  await rag.start();
  const weights = new RouteWeightsStore({
    database,
    routes: config.routes,
    onError: (err) => opts.logger.warn('route weights refresh failed', { err: err instanceof Error ? err.message : String(err) }),
  });
  await weights.start();
  const router = new Router({
    config,
    providers,
    weights,
    now: () => performance.now(),
    onBreakerChange: (c) => opts.logger.warn(`circuit breaker ${c.to}`, { target: c.target, from: c.from, to: c.to, consecutive_failures: c.consecutive_failures }),
  });
  // Embedded PGlite is one backend serving one process: a shared tier there would only add a
  // query per miss, so the cache stays in memory.
  const sharedDb = database.kind === 'pglite' && config.cache.shared === 'auto' ? undefined : database;
  // Stored Responses keep what the call log keeps (same redaction and per-part cap) and expire
  // with it: logging.retention_days, else 30 days (OpenAI's default for stored responses).
  const logging = config.logging;
  const responsesDays = logging.retention_days ?? DEFAULT_RESPONSES_RETENTION_DAYS;
  const responses = new ResponsesStore(database, {
    policy: compilePayloadPolicy({ enabled: true, maxBytes: logging.payload_max_bytes, redactFields: logging.redact_fields, redactPatterns: logging.redact_patterns, secrets: Object.values(config.providers).flatMap((p) => providerSecrets(p)) }),
    maxAgeMs: responsesDays * 86_400_000,
    now: Date.now,
  });
  const responsesRetention = new ResponsesRetention({ database, retentionDays: responsesDays, logger: opts.logger });
  responsesRetention.start();
  const cache = createCache({ config: config.cache, redisUrl: opts.redisUrl, database: sharedDb, logger: opts.logger });
  // Budgets and rate limits: Redis when REDIS_URL is set, else this database. Only keys and
  // teams with a budget or a limit ever reach it (policy/governor.ts).
  const leases = config.governance.leases;
  const limits = openLimitStore({
    database,
    redisUrl: opts.redisUrl,
    leases: leases.enabled ? { ttlMs: leases.ttl_ms, share: leases.share, maxRequests: leases.max_requests } : undefined,
    // Calls on one key queue on its row in Postgres: give them longer than a dead Redis gets.
    timeoutMs: opts.redisUrl ? 1_000 : 3_000,
    onError: (err) => opts.logger.warn('budget/rate-limit store error', { err: err instanceof Error ? err.message : String(err) }),
  });
  return {
    responses,
    rag,
    router,
    weights,
    keys,
    cache,
    prompts: { store, resolver },
    providers,
    pricer: createPricer({ overrides: pricingOverrides(config) }),
    limits,
    async stop() {
      resolver.stop();
      weights.stop();
      await responsesRetention.stop();
      await cache.close();
      await limits.close();
      await keys.stop();
      await closeProviders(providers);
    },
  };
}
