import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { isNull } from 'drizzle-orm';
import type { Hono } from 'hono';
import { warmAllocator } from './allocator-warmup.ts';
import { createApp } from './app.ts';
import { apiKeys } from './auth/schema.ts';
import { CallEvents } from './calls/call-events.ts';
import { startCallLog } from './calls/call-log.ts';
import { parseEnv, type RawEnv, type SluiceEnv } from './config/env.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import type { SluiceConfig } from './config/schema.ts';
import type { Database } from './db/client.ts';
import { claimDataDir, DataDirBusyError, type DataDirClaim } from './db/data-dir-owner.ts';
import { openConfiguredDatabase, pgliteDir } from './db/open-configured.ts';
import type { AppEnv } from './http/env.ts';
import { applyHeapMode } from './heap-mode.ts';
import { createJsonLogger, type Logger } from './logger.ts';
import { tracingFromEnv } from './observability/tracing-from-env.ts';
import type { Providers } from './providers/registry.ts';
import { startServices, type Services } from './services.ts';
import { startBanner } from './start-banner.ts';
import { RUNS_COMPILED } from './thread-entry.ts';

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
  /**
   * Called once the server listens (not when the app is only built): `url` is reachable from
   * this machine; `adminKey` is the local admin token in embedded mode (else undefined).
   */
  listening?(server: { url: string; adminKey: string | undefined }): Promise<void>;
  /** More fields for /healthz (e.g. online scoring's counters). */
  health?(): Record<string, unknown>;
  /** Open incidents, for `sluice_incidents_open` on /metrics. */
  incidentsOpen?(): Promise<number>;
  stop(): Promise<void>;
}

export interface ExtendContext {
  database: Database;
  config: SluiceConfig;
  logger: Logger;
  env: SluiceEnv;
  /** Every finished call is announced here: subscribe to act on calls (online scoring). */
  events: CallEvents;
}

export type ExtendFn = (ctx: ExtendContext) => Promise<Extension>;

export interface BuiltGateway {
  app: Hono<AppEnv>;
  config: SluiceConfig;
  database: Database;
  services: Services;
  extension?: Extension | undefined;
  /** Embedded mode: the token the KeyStore accepts as admin, for the CLI on this machine. */
  localAdminKey?: string | undefined;
  /** Embedded mode: records the URL and the token in SLUICE_DATA_DIR for the CLI (no-op on Postgres). */
  announce?(url: string): void;
  /** Stops services, drains the call log (and closes the database it opened). */
  close(): Promise<void>;
}

/**
 * The composition root: the only place that reads env and opens the database. DATABASE_URL
 * selects a Postgres server; without it an embedded PGlite keeps its data in SLUICE_DATA_DIR
 * (default ./.sluice). Builds the app without listening (evals call it in-process).
 */
export async function buildGateway(env: SluiceEnv, logger: Logger = serverLogger(env), extend?: ExtendFn): Promise<BuiltGateway> {
  const config = loadConfig(env.vars);
  const embedded = !env.DATABASE_URL;
  const dataDir = env.SLUICE_DATA_DIR;
  // DESIGN §2: the embedded data directory has one owner. Claimed before PGlite opens it, so a
  // second server or a CLI never works on a copy this server cannot see (DataDirBusyError).
  const claim: DataDirClaim | undefined = embedded ? claimDataDir(dataDir, { kind: 'server' }) : undefined;
  const localAdminKey = embedded ? `sk-sluice-local-${randomBytes(24).toString('base64url')}` : undefined;
  let database: Database | undefined;
  let extension: Extension | undefined;
  try {
    database = await openConfiguredDatabase(env);
    const events = new CallEvents((err) => logger.error('a call-finished listener failed', { err: String(err) }));
    extension = extend ? await extend({ database, config, logger, env, events }) : undefined;
    const composed = await composeGateway({ config, database, env, logger, localAdminKey, events, extraRoutes: extension?.routes, extraHealth: extension?.health, incidentsOpen: extension?.incidentsOpen });
    const db = database;
    const ext = extension;
    // Once only: startGateway stops it before the HTTP server (its eval worker calls the server).
    let extStopped: Promise<void> | undefined;
    const stopExtension = () => (extStopped ??= ext ? ext.stop() : Promise.resolve());
    return {
      ...composed,
      extension: ext && { ...ext, stop: stopExtension },
      localAdminKey,
      announce: (url) => {
        if (claim && localAdminKey) claim.announce(url, localAdminKey, db.socketDir);
      },
      async close() {
        try {
          await stopExtension();
          await composed.close();
          await db.close();
        } finally {
          claim?.release();
        }
      },
    };
  } catch (err) {
    await extension?.stop().catch(() => {});
    await database?.close().catch(() => {});
    claim?.release();
    throw err;
  }
}

export interface ComposeOptions {
  config: SluiceConfig;
  database: Database;
  env: SluiceEnv;
  logger: Logger;
  /** Defaults to SLUICE_ADMIN_KEY. */
  adminKey?: string | undefined;
  /** Embedded server: the local admin token the CLI reads from SLUICE_DATA_DIR. */
  localAdminKey?: string | undefined;
  /** Replaces the providers built from config (tests). */
  providers?: Providers | undefined;
  extraRoutes?: Array<{ path: string; app: Hono<AppEnv> }> | undefined;
  /** Where finished calls are announced (created by the app when absent). */
  events?: CallEvents | undefined;
  extraHealth?: (() => Record<string, unknown>) | undefined;
  incidentsOpen?: (() => Promise<number>) | undefined;
}

/** Services, call log and app on an open, migrated database: shared by the server and in-process evals. */
export async function composeGateway(opts: ComposeOptions): Promise<Omit<BuiltGateway, 'close'> & { close(): Promise<void> }> {
  const { config, database, env, logger } = opts;
  // The standard OTEL_* variables (DESIGN §4.5); a bad protocol fails here, before any service starts.
  const tracing = await tracingFromEnv(env.vars);
  const services = await startServices(config, database, {
    adminKey: opts.adminKey ?? env.SLUICE_ADMIN_KEY,
    localAdminKey: opts.localAdminKey,
    redisUrl: env.REDIS_URL,
    providers: opts.providers,
    logger,
  });
  const callLog = await startCallLog(config, database, { dataDir: env.SLUICE_DATA_DIR, logger });
  const app = createApp({
    config,
    ...services,
    calls: callLog.sink,
    database,
    logger,
    tracing,
    now: () => performance.now(),
    clock: Date.now,
    random: Math.random,
    health: () => ({
      database: database.kind,
      providers: [...services.providers.keys()],
      call_log: callLog.stats(),
      cache: services.cache.stats(),
      ...opts.extraHealth?.(),
    }),
    metricsPublic: env.SLUICE_METRICS_PUBLIC,
    metrics: env.SLUICE_METRICS,
    callLogStats: () => callLog.stats(),
    incidentsOpen: opts.incidentsOpen,
    ...(opts.extraRoutes ? { extraRoutes: opts.extraRoutes } : {}),
    ...(opts.events ? { events: opts.events } : {}),
  });
  return {
    app,
    config,
    database,
    services,
    async close() {
      await services.stop();
      await callLog.stop();
      // The last spans go out once every call has finished; an unreachable collector only costs its timeout.
      await tracing.shutdown().catch((err: unknown) => logger.warn('trace export failed at shutdown', { err: String(err) }));
    },
  };
}

/**
 * The server's log: JSON lines at LOG_LEVEL (DESIGN §4.5), on stderr as the server has always
 * written them (supervisors and tests read the `sluice listening` line there).
 */
export function serverLogger(env: Pick<SluiceEnv, 'LOG_LEVEL'>): Logger {
  return createJsonLogger({ level: env.LOG_LEVEL, destination: 'stderr' });
}

/** Parses the environment (a bad value is a ConfigError), builds the gateway and listens on PORT/HOST. */
export async function startGateway(vars: RawEnv, logger?: Logger, extend?: ExtendFn): Promise<RunningGateway> {
  const env = parseEnv(vars);
  return listenGateway(env, logger ?? serverLogger(env), extend);
}

async function listenGateway(env: SluiceEnv, logger: Logger, extend?: ExtendFn): Promise<RunningGateway> {
  const built = await buildGateway(env, logger, extend);
  const { app, database } = built;
  const { PORT: port, HOST: hostname } = env;
  let server: ServerType | undefined;
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port, hostname, serverOptions: SERVER_OPTIONS }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    await built.close();
    throw err;
  }
  const listening = server;
  const address = listening.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${actualPort}`;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Extensions may call this server (the embedded eval worker): stop them while it answers.
      await built.extension?.stop();
      await closeServer(listening, 30_000);
      await built.close();
    })();
    return closing;
  };
  try {
    // A wildcard address is not one to connect to: the CLI and the eval worker use loopback.
    const localUrl = `http://${localHost(hostname)}:${actualPort}`;
    built.announce?.(localUrl);
    await built.extension?.listening?.({ url: localUrl, adminKey: built.localAdminKey });
    await logBanner(built, url, env, logger);
  } catch (err) {
    await close();
    throw err;
  }
  return { url, port: actualPort, database, close };
}

function localHost(hostname: string): string {
  if (hostname === '0.0.0.0') return '127.0.0.1';
  if (hostname === '::') return '[::1]';
  return hostname.includes(':') ? `[${hostname}]` : hostname;
}

/** The start banner (start-banner.ts): logged once, after the server listens. */
async function logBanner(built: BuiltGateway, url: string, env: SluiceEnv, logger: Logger): Promise<void> {
  const [anyKey] = await built.database.db.select({ id: apiKeys.id }).from(apiKeys).where(isNull(apiKeys.revokedAt)).limit(1);
  const lines = startBanner({
    url,
    database: built.database.kind,
    dataDir: pgliteDir(env),
    config: built.config,
    hasKeys: anyKey !== undefined,
    adminKeySet: Boolean(env.SLUICE_ADMIN_KEY),
    compiled: RUNS_COMPILED,
  });
  for (const line of lines) logger[line.level](line.msg, line.fields);
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

/**
 * Runs the gateway until SIGTERM/SIGINT, then drains and exits. The server's entry point:
 * `vars` is the process environment, parsed here once (startGateway).
 */
export async function runServer(vars: RawEnv, extend?: ExtendFn): Promise<void> {
  // Why the server could not start goes to stderr, whatever LOG_LEVEL says (the CLI and
  // supervisors read it there); once it runs, its lines go to stdout.
  const startup = createJsonLogger({ destination: 'stderr' });
  let logger: Logger = startup;
  let gateway: RunningGateway;
  try {
    const env = parseEnv(vars);
    applyHeapMode(env.SLUICE_HEAP);
    // On Postgres only: embedded, the PGlite thread's own buffers would stay mapped too (+10–25
    // MB under load) for no fewer faults (the batches cross a unix socket to a WASM heap).
    if (env.DATABASE_URL) warmAllocator();
    logger = serverLogger(env);
    gateway = await listenGateway(env, logger, extend);
  } catch (err) {
    if (err instanceof ConfigError) {
      startup.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    if (err instanceof DataDirBusyError) {
      startup.error(`${err.message}: one process owns an embedded data directory; stop it first, use another SLUICE_DATA_DIR, or share a Postgres server with DATABASE_URL`, {
        owner_pid: err.owner.pid,
        ...(err.owner.url ? { owner_url: err.owner.url } : {}),
      });
      process.exit(2);
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
  // The embedded database's thread died: nothing can be stored any more, so say why and stop
  // (the call log spools what it cannot write, and the next start replays it).
  gateway.database.onFailure?.((err) => {
    logger.error('the embedded database stopped; shutting down', { err: err.message });
    process.exitCode = 1;
    gateway.close().finally(() => process.exit(1));
  });
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runServer(process.env);
}
