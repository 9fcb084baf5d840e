import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from './app.ts';
import { startCallLog } from './calls/call-log.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import type { SluiceConfig } from './config/schema.ts';
import { openDatabase, type Database } from './db/client.ts';
import type { AppEnv } from './http/env.ts';
import { createJsonLogger, type Logger } from './logger.ts';
import type { Providers } from './providers/registry.ts';
import { startServices, type Services } from './services.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Node's defaults check slow clients only every 30 s and allow 300 s for a request: a
 * slowloris could hold sockets for minutes. requestTimeout bounds receiving the request only,
 * so long streamed responses are unaffected.
 */
export const SERVER_OPTIONS = { headersTimeout: 15_000, requestTimeout: 120_000, connectionsCheckingInterval: 1_000 };

export interface RunningGateway {
  url: string;
  port: number;
  database: Database;
  /** Stops accepting, finishes in-flight calls, drains the call log, closes everything. */
  close(): Promise<void>;
}

/** Routes a caller adds under /api (behind admin auth), e.g. the eval API from the CLI entry. */
export interface Extension {
  routes: Array<{ path: string; app: Hono<AppEnv> }>;
  stop(): Promise<void>;
}

export type ExtendFn = (ctx: { database: Database; config: SluiceConfig; logger: Logger; env: Env }) => Promise<Extension>;

export interface BuiltGateway {
  app: Hono<AppEnv>;
  config: SluiceConfig;
  database: Database;
  services: Services;
  /** Stops services, drains the call log (and closes the database it opened). */
  close(): Promise<void>;
}

/**
 * The composition root: the only place that reads env and opens the database. DATABASE_URL
 * selects a Postgres server; without it an embedded PGlite keeps its data in SLUICE_DATA_DIR
 * (default ./.sluice). Builds the app without listening (evals call it in-process).
 */
export async function buildGateway(env: Env, logger: Logger = createJsonLogger(), extend?: ExtendFn): Promise<BuiltGateway> {
  const config = loadConfig(env);
  const database = await openDatabase({ url: env.DATABASE_URL || undefined, dataDir: join(env.SLUICE_DATA_DIR || './.sluice', 'pgdata') });
  await database.migrate();
  const extension = extend ? await extend({ database, config, logger, env }) : undefined;
  const composed = await composeGateway({ config, database, env, logger, extraRoutes: extension?.routes });
  return {
    ...composed,
    async close() {
      await extension?.stop();
      await composed.close();
      await database.close();
    },
  };
}

export interface ComposeOptions {
  config: SluiceConfig;
  database: Database;
  env: Env;
  logger: Logger;
  /** Defaults to SLUICE_ADMIN_KEY. */
  adminKey?: string | undefined;
  /** Replaces the providers built from config (tests). */
  providers?: Providers | undefined;
  extraRoutes?: Array<{ path: string; app: Hono<AppEnv> }> | undefined;
}

/** Services, call log and app on an open, migrated database: shared by the server and in-process evals. */
export async function composeGateway(opts: ComposeOptions): Promise<Omit<BuiltGateway, 'close'> & { close(): Promise<void> }> {
  const { config, database, env, logger } = opts;
  const services = await startServices(config, database, {
    adminKey: opts.adminKey ?? (env.SLUICE_ADMIN_KEY || undefined),
    redisUrl: env.REDIS_URL || undefined,
    providers: opts.providers,
    logger,
  });
  const callLog = await startCallLog(config, database, { dataDir: env.SLUICE_DATA_DIR || './.sluice', logger });
  const app = createApp({
    config,
    ...services,
    calls: callLog.sink,
    database,
    logger,
    now: () => performance.now(),
    clock: Date.now,
    random: Math.random,
    health: () => ({ database: database.kind, providers: [...services.providers.keys()], call_log: callLog.stats(), cache: services.cache.stats() }),
    ...(opts.extraRoutes ? { extraRoutes: opts.extraRoutes } : {}),
  });
  return {
    app,
    config,
    database,
    services,
    async close() {
      await services.stop();
      await callLog.stop();
    },
  };
}

/** buildGateway, then listen on PORT/HOST. */
export async function startGateway(env: Env, logger: Logger = createJsonLogger(), extend?: ExtendFn): Promise<RunningGateway> {
  const built = await buildGateway(env, logger, extend);
  const { app, database, services } = built;
  const providers = services.providers;
  const port = env.PORT === undefined || env.PORT === '' ? 8400 : Number(env.PORT);
  const hostname = env.HOST || '127.0.0.1';
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname, serverOptions: SERVER_OPTIONS }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${actualPort}`;
  logger.info('sluice listening', { url, database: database.kind, providers: [...providers.keys()] });

  let closing: Promise<void> | undefined;
  return {
    url,
    port: actualPort,
    database,
    close() {
      closing ??= (async () => {
        await closeServer(server, 30_000);
        await built.close();
      })();
      return closing;
    },
  };
}

/**
 * Stops accepting, lets in-flight calls finish (streams included), and closes keep-alive
 * sockets as they go idle; after `graceMs` whatever is left is cut.
 */
async function closeServer(server: ServerType, graceMs: number): Promise<void> {
  const http = server as ServerType & { closeIdleConnections?: () => void; closeAllConnections?: () => void };
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweeper = setInterval(() => http.closeIdleConnections?.(), 100);
  const deadline = setTimeout(() => http.closeAllConnections?.(), graceMs);
  try {
    await closed;
  } finally {
    clearInterval(sweeper);
    clearTimeout(deadline);
  }
}

/** Runs the gateway until SIGTERM/SIGINT, then drains and exits. */
export async function runServer(env: Env, extend?: ExtendFn): Promise<void> {
  const logger = createJsonLogger();
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(env, logger, extend);
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const stop = (signal: string) => {
    logger.info('shutting down', { signal });
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err: String(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runServer(process.env);
}
