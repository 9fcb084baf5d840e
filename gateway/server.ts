import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './app.ts';
import { startCallLog } from './calls/call-log.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { openDatabase, type Database } from './db/client.ts';
import { createJsonLogger, type Logger } from './logger.ts';
import { startServices } from './services.ts';

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

/**
 * The composition root: the only place that reads env, opens the database and listens.
 * DATABASE_URL selects a Postgres server; without it an embedded PGlite keeps its data in
 * SLUICE_DATA_DIR (default ./.sluice).
 */
export async function startGateway(env: Env, logger: Logger = createJsonLogger()): Promise<RunningGateway> {
  const config = loadConfig(env);
  const dataDir = env.SLUICE_DATA_DIR || './.sluice';
  const database = await openDatabase({ url: env.DATABASE_URL || undefined, dataDir: join(dataDir, 'pgdata') });
  await database.migrate();
  const services = await startServices(config, database, { adminKey: env.SLUICE_ADMIN_KEY || undefined, redisUrl: env.REDIS_URL || undefined, logger });
  const { providers } = services;
  const callLog = await startCallLog(config, database, { dataDir, logger });
  const app = createApp({
    config,
    ...services,
    calls: callLog.sink,
    database,
    logger,
    now: () => performance.now(),
    clock: Date.now,
    random: Math.random,
    health: () => ({ database: database.kind, providers: [...providers.keys()], call_log: callLog.stats(), cache: services.cache.stats() }),
  });

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
        await services.stop();
        await callLog.stop();
        await database.close();
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
export async function runServer(env: Env): Promise<void> {
  const logger = createJsonLogger();
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(env, logger);
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
